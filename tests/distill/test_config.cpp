// The experiment config: the YAML subset, overrides, unknown keys, round trip.
#include <gtest/gtest.h>

#include "distill/config.h"
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

}  // namespace
}  // namespace retort
