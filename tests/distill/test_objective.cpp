// The objective framework: Options, LossResult::term, MethodInfo::for_pair,
// the method table and find_method.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "distill/objective.h"

namespace retort {
namespace {

using distill::Options;

Options sample() { return Options("demo", {{"T", 4.0, "temperature"}, {"alpha", 2.0, "factor"}, {"w_kd", 1.0, ""}}); }

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "(no error)";
}

TEST(Options, DefaultsGetAndSet) {
  Options o = sample();
  EXPECT_EQ(o.method(), "demo");
  EXPECT_EQ(o.get("T"), 4.0);
  o.set("T", 1.5);
  EXPECT_EQ(o.get("T"), 1.5);
  ASSERT_EQ(o.values().size(), 3u);
  EXPECT_EQ(o.values()[0].first, "T");  // declaration order
  EXPECT_EQ(o.values()[2].first, "w_kd");
}

TEST(Options, UnknownNamesSuggestTheNearest) {
  Options o = sample();
  const std::string m = message_of([&] { o.set("alhpa", 1.0); });
  EXPECT_NE(m.find("unknown option 'alhpa'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'alpha'?"), std::string::npos) << m;
  EXPECT_NE(m.find("demo"), std::string::npos) << m;
  EXPECT_NE(message_of([&] { o.get("w_dk"); }).find("did you mean 'w_kd'?"), std::string::npos);
  // Nothing close: the message lists the options instead.
  EXPECT_NE(message_of([&] { o.set("temperature_schedule", 1.0); }).find("options: T, alpha, w_kd"), std::string::npos);
}

TEST(Options, ParsesKeyValue) {
  Options o = sample();
  o.set_from_string("T=2.5");
  EXPECT_EQ(o.get("T"), 2.5);
  o.set_from_string(" alpha = 1e-3 ");
  EXPECT_EQ(o.get("alpha"), 1e-3);
  o.set_from_string("w_kd=-1");
  EXPECT_EQ(o.get("w_kd"), -1.0);
}

TEST(Options, MalformedAssignmentsAreClearErrors) {
  Options o = sample();
  EXPECT_NE(message_of([&] { o.set_from_string("alpha"); }).find("expected an option as key=value, found 'alpha'"),
            std::string::npos);
  EXPECT_NE(message_of([&] { o.set_from_string("=3"); }).find("expected an option name"), std::string::npos);
  EXPECT_NE(message_of([&] { o.set_from_string("T="); }).find("expected a value"), std::string::npos);
  EXPECT_NE(message_of([&] { o.set_from_string("T=abc"); }).find("option T expects a finite number, found 'abc'"),
            std::string::npos);
  EXPECT_NE(message_of([&] { o.set_from_string("T=2x"); }).find("found '2x'"), std::string::npos);
  EXPECT_THROW(o.set_from_string("T=nan"), Error);
  EXPECT_THROW(o.set_from_string("T=inf"), Error);
  EXPECT_THROW(o.set_from_string("T=1e999"), Error);
  EXPECT_NE(message_of([&] { o.set_from_string("Tt=1"); }).find("did you mean 'T'?"), std::string::npos);
  EXPECT_EQ(o.get("T"), 4.0);  // failed assignments change nothing
}

TEST(LossResult, TermLooksUpByName) {
  distill::LossResult r;
  r.terms = {{"ce", 1.0}, {"kd", 2.0}};
  EXPECT_EQ(r.term("kd"), 2.0);
  const std::string m = message_of([&] { r.term("kdd"); });
  EXPECT_NE(m.find("no term 'kdd'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'kd'?"), std::string::npos) << m;
}

TEST(MethodInfo, ForPairAppliesTheReferenceOverride) {
  distill::MethodInfo m;
  m.name = "demo";
  m.options = {{"T", 4.0, ""}, {"beta", 8.0, ""}};
  m.pair_overrides = {{"resnet56", "resnet20", {{"beta", 2.0}}}};
  EXPECT_EQ(m.for_pair("resnet56", "resnet20").get("beta"), 2.0);
  EXPECT_EQ(m.for_pair("resnet56", "resnet20").get("T"), 4.0);
  EXPECT_EQ(m.for_pair("resnet20", "resnet56").get("beta"), 8.0);  // direction matters
  EXPECT_EQ(m.for_pair("vgg13", "vgg8").get("beta"), 8.0);
}

TEST(Methods, TableFollowsTheOrderOfMethodsMd) {
  const std::vector<std::string> order = {"cskd", "cskd-full", "dtkd", "dkd", "dist",
                                          "cmkd", "stkd",      "bpkd", "kd",  "ctkd"};
  std::vector<std::string> names;
  for (const distill::MethodInfo& m : distill::methods()) names.push_back(m.name);
  for (const char* mine : {"cskd", "cskd-full", "kd"})
    EXPECT_NE(std::find(names.begin(), names.end(), mine), names.end()) << mine;
  // Every row is a known method, each once, in the plan's order.
  size_t last = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto it = std::find(order.begin(), order.end(), names[i]);
    ASSERT_NE(it, order.end()) << "unexpected method " << names[i];
    const size_t pos = static_cast<size_t>(it - order.begin());
    if (i > 0) {
      EXPECT_GT(pos, last) << names[i] << " out of order or repeated";
    }
    last = pos;
  }
}

TEST(Methods, EveryRowIsComplete) {
  for (const distill::MethodInfo& m : distill::methods()) {
    SCOPED_TRACE(m.name);
    EXPECT_FALSE(m.title.empty());
    EXPECT_FALSE(m.provenance.empty());
    EXPECT_FALSE(m.formula.empty());
    EXPECT_FALSE(m.options.empty());
    ASSERT_TRUE(static_cast<bool>(m.make));
    EXPECT_NE(m.make(m.defaults()), nullptr);
    for (const distill::PairOverride& p : m.pair_overrides) {
      for (const auto& v : p.values) EXPECT_NO_THROW(m.defaults().get(v.first)) << p.teacher << " -> " << p.student;
      EXPECT_NE(m.make(m.for_pair(p.teacher, p.student)), nullptr);
    }
  }
}

TEST(Methods, FindMethodSuggestsTheNearest) {
  EXPECT_EQ(distill::find_method("cskd").name, "cskd");
  EXPECT_EQ(distill::find_method("cskd-full").name, "cskd-full");
  EXPECT_EQ(distill::find_method("kd").name, "kd");
  const std::string m = message_of([] { distill::find_method("csdk"); });
  EXPECT_NE(m.find("unknown distillation method 'csdk'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'cskd'?"), std::string::npos) << m;
  EXPECT_NE(m.find("methods: cskd, cskd-full"), std::string::npos) << m;
}

}  // namespace
}  // namespace retort
