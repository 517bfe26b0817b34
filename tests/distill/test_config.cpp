// The experiment config: the YAML subset, overrides, unknown keys, round trip.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "distill/config.h"
#include "distill/settings.h"
#include "tensor/error.h"

namespace retort {
namespace {

using distill::Config;
using distill::ConfigKey;

std::vector<ConfigKey> schema() {
  return {{"epochs", "240", ""},           {"data.train", "fashion-mnist", ""}, {"data.batch_size", "64", ""},
          {"optim.lr", "0.05", ""},        {"optim.nesterov", "false", ""},     {"schedule.milestones", "150,180,210", ""},
          {"model.student", "resnet20", ""}, {"name", "", ""}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "(no error)";
}

TEST(Yaml, NestedMappingsListsQuotesAndComments) {
  const auto kv = distill::parse_yaml(
      "# experiment\n"
      "epochs: 10   # short\n"
      "data:\n"
      "  train: \"cifar10:/data/x # not a comment\"\n"
      "  batch_size: 128\n"
      "schedule:\n"
      "  milestones: [5, 8]\n"
      "model:\n"
      "  student: 'wrn_16_2'\n"
      "extra:\n"
      "  - a\n"
      "  - 'b c'\n",
      "t.yaml");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"epochs", "10"},       {"data.train", "cifar10:/data/x # not a comment"}, {"data.batch_size", "128"},
      {"schedule.milestones", "5,8"}, {"model.student", "wrn_16_2"},            {"extra", "a,b c"}};
  EXPECT_EQ(kv, expected);
}

TEST(Yaml, RejectsWhatItDoesNotSupportWithTheLine) {
  EXPECT_NE(error_of([] { distill::parse_yaml("a: 1\n\tb: 2\n", "t.yaml"); }).find("t.yaml:2: tabs"),
            std::string::npos);
  EXPECT_NE(error_of([] { distill::parse_yaml("a: &x 1\n", "t.yaml"); }).find("t.yaml:1"), std::string::npos);
  EXPECT_NE(error_of([] { distill::parse_yaml("a: 1\na: 2\n", "t.yaml"); }).find("appears twice"), std::string::npos);
  EXPECT_NE(error_of([] { distill::parse_yaml("a:\n  b: 1\n    c: 2\n", "t.yaml"); }).find("indentation"),
            std::string::npos);
  EXPECT_NE(error_of([] { distill::parse_yaml("just text\n", "t.yaml"); }).find("expected 'key: value'"),
            std::string::npos);
  EXPECT_NE(error_of([] { distill::parse_yaml("a: \"open\n", "t.yaml"); }).find("unterminated"), std::string::npos);
  EXPECT_NE(error_of([] { distill::parse_yaml("a: [1, [2]]\n", "t.yaml"); }).find("nested"), std::string::npos);
}

TEST(Config, DefaultsOverridesAndTypedAccess) {
  Config c(schema());
  EXPECT_EQ(c.get_int("epochs"), 240);
  c.merge_yaml("epochs: 12\noptim:\n  lr: 0.1\n", "exp.yaml");
  c.set_assignment("optim.nesterov=true");
  EXPECT_EQ(c.get_int("epochs"), 12);
  EXPECT_DOUBLE_EQ(c.get_double("optim.lr"), 0.1);
  EXPECT_TRUE(c.get_bool("optim.nesterov"));
  EXPECT_EQ(c.get_list("schedule.milestones"), (std::vector<double>{150, 180, 210}));
  EXPECT_NE(error_of([&] { c.get_int("optim.lr"); }).find("expects an integer"), std::string::npos);
}

TEST(Config, UnknownKeySuggestsTheNearest) {
  Config c(schema());
  const std::string e = error_of([&] { c.set_assignment("optim.lrr=0.1"); });
  EXPECT_NE(e.find("unknown key 'optim.lrr'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'optim.lr'"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { c.merge_yaml("data:\n  batchsize: 3\n", "exp.yaml"); }).find("exp.yaml"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.set_assignment("no-equals-sign"); }).find("key=value"), std::string::npos);
  c.allow_prefix("method.");
  c.set("method.T", "4");  // open prefix: checked by the method later
  EXPECT_EQ(c.get("method.T"), "4");
}

TEST(Config, ResolvedYamlRoundTrips) {
  Config c(schema());
  c.set("name", "run: one");  // needs quoting
  c.set("data.train", "");
  const std::string y = c.to_yaml();
  Config d(schema());
  d.merge_yaml(y, "resolved.yaml");
  EXPECT_EQ(d.items(), c.items()) << y;
}

// Each value the fuzzers (tests/fuzz) found reading back differently from the
// resolved YAML of a run (what --resume loads).
TEST(Config, ResolvedYamlRoundTripsEveryValue) {
  for (const std::string& v : std::vector<std::string>{
           "a,", ",", ",a", "a,,b", "a \"quoted\" ,b", "x,\"y\\\"z", "\tlead", "trail\t", "two\nlines", "\r", "- dash",
           "[not, a list]", "#hash", "it's", std::string("nul\0byte", 8)}) {
    Config c(schema());
    c.set("name", v);
    const std::string y = c.to_yaml();
    Config d(schema());
    d.merge_yaml(y, "resolved.yaml");
    EXPECT_EQ(d.get("name"), v) << y;
  }
  // A flow list whose first item is an empty quoted string keeps it.
  EXPECT_EQ(distill::parse_yaml("a: [\"\", x]\n", "t.yaml")[0].second, ",x");
  // An escaped quote inside a quoted item does not end it.
  EXPECT_EQ(distill::parse_yaml("a: [\"p\\\"q\", r]\n", "t.yaml")[0].second, "p\"q,r");
}

TEST(Config, NumbersMustBeFinite) {
  Config c(schema());
  for (const char* v : {"nan", "inf", "-inf", "1e999"}) {
    c.set("optim.lr", v);
    EXPECT_NE(error_of([&] { c.get_double("optim.lr"); }).find("optim.lr expects a finite number, found '" +
                                                              std::string(v) + "'"),
              std::string::npos);
    c.set("schedule.milestones", std::string("1,") + v);
    EXPECT_NE(error_of([&] { c.get_list("schedule.milestones"); }).find("expects a list of finite numbers"),
              std::string::npos);
  }
}

TEST(Settings, IntegersAndMilestonesMustFitTheirTypes) {
  const auto error_with = [](const std::string& assignment) {
    distill::Config c = distill::default_config();
    c.set_assignment(assignment);
    return error_of([&] { distill::TrainSettings::from_config(c); });
  };
  // 2^32 + 1 once wrapped to 1 epoch.
  EXPECT_NE(error_with("epochs=4294967297").find("config: epochs expects an integer within 32 bits, found 4294967297"),
            std::string::npos);
  EXPECT_NE(error_with("data.workers=-4294967296").find("data.workers expects an integer within 32 bits"),
            std::string::npos);
  for (const char* m : {"30,1e10", "30.5", "-1"})
    EXPECT_NE(error_with(std::string("schedule.milestones=") + m).find("schedule.milestones expects whole epoch numbers"),
              std::string::npos)
        << m;
  distill::Config ok = distill::default_config();
  ok.set_assignment("schedule.milestones=30,60");
  EXPECT_EQ(distill::TrainSettings::from_config(ok).schedule.milestones, (std::vector<int>{30, 60}));
}

}  // namespace
}  // namespace retort
