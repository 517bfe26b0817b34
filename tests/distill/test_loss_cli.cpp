// `retort loss` end to end: the vectors of kd, cskd and cskd-full through the
// binary (safetensors in, JSON and a gradient file out), --list, and the
// one-line errors with exit status 2.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tests/distill/parta_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

namespace kda = testing::kda;

using testing::CliRun;

class LossCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "retort_loss_cli_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    ASSERT_EQ(std::system(("mkdir -p '" + dir_ + "'").c_str()), 0);
  }
  std::string path(const std::string& name) const { return dir_ + name; }
  void save(const std::string& name, const std::vector<safetensors::NamedTensor>& tensors) const {
    safetensors::save(path(name), tensors);
  }
  // Writes the student, teacher and labels files of a shared input.
  void save_input(const std::string& input, const std::string& labels_of = "") const {
    save("s.safetensors", {{"logits", kda::logits(input, "Zs")}});
    save("t.safetensors", {{"logits", kda::logits(input, "Zt")}});
    if (!labels_of.empty()) save("y.safetensors", {{"labels", kda::labels(labels_of)}});
  }
  CliRun run(const std::string& args) const { return testing::run_retort("loss " + args); }
  std::string files(bool labels = true) const {
    return "--student '" + path("s.safetensors") + "' --teacher '" + path("t.safetensors") + "'" +
           (labels ? " --labels '" + path("y.safetensors") + "'" : "");
  }
  Tensor grad(const std::string& name = "grad") const {
    const safetensors::Contents c = safetensors::load(path("g.safetensors"));
    const Tensor* t = c.find(name);
    return t ? *t : Tensor();
  }
  // A failing run: exit 2 and exactly one line on stderr containing `what`.
  void expect_error(const std::string& args, const std::string& what) const {
    EXPECT_TRUE(testing::failed_with(run(args), {what})) << args;
  }

  std::string dir_;
};

TEST_F(LossCli, CskdCoreVectorsThroughTheBinary) {
  for (const std::string input : {"A", "B"}) {
    SCOPED_TRACE(input);
    const std::string id = "cskd.core." + input;
    save_input(input, input);
    const CliRun r = run("--method cskd " + files() + " --json --grad-out '" + path("g.safetensors") + "'");
    ASSERT_EQ(r.status, 0) << r.err;
    const json::Value out = json::parse(r.out);
    EXPECT_NEAR_REL(out.at("loss").as_double(), kda::expected(id, "L_core"));
    EXPECT_NEAR_REL(out.at("terms").at("cs").as_double(), kda::expected(id, "L_cs"));
    EXPECT_NEAR_REL(out.at("terms").at("cswt").as_double(), kda::expected(id, "L_cs_cswt"));
    EXPECT_EQ(out.at("terms").size(), 3u);
    EXPECT_CLOSE(grad(), kda::expected_vec(id, "dLcore_dZs"), kda::kAtol, kda::kRtol);
  }
  // Text output names the method, the total and every term.
  const CliRun text = run("--method cskd " + files());
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("cskd: loss 1.07679"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("cswt"), std::string::npos) << text.out;
}

TEST_F(LossCli, KdVectorsWithOptionsAndWithoutLabels) {
  save_input("A", "A");
  CliRun r = run("--method kd " + files() + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NEAR_REL(json::parse(r.out).at("loss").as_double(), kda::expected("kd.A", "L_cifar"));
  r = run("--method kd " + files() + " --set T=1 --set w_ce=0.5 --set w_kd=0.5 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NEAR_REL(json::parse(r.out).at("loss").as_double(), kda::expected("kd.A", "L_imagenet"));
  r = run("--method kd " + files() + " --set T=1 --set w_ce=0 --set w_kd=1 --json --grad-out '" +
          path("g.safetensors") + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NEAR_REL(json::parse(r.out).at("terms").at("kd").as_double(), kda::expected("kd.A", "KD_T1"));
  EXPECT_CLOSE(grad(), kda::expected_vec("kd.A", "dKD_dZs_T1"), kda::kAtol, kda::kRtol);
  // kd.B has no labels: pure distillation needs none.
  save_input("B");
  r = run("--method kd " + files(false) + " --set w_ce=0 --set w_kd=1 --json --grad-out '" + path("g.safetensors") +
          "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NEAR_REL(json::parse(r.out).at("loss").as_double(), kda::expected("kd.B", "KD_T4"));
  EXPECT_CLOSE(grad(), kda::expected_vec("kd.B", "dKD_dZs_T4"), kda::kAtol, kda::kRtol);
  const Tensor g = grad();
  EXPECT_EQ(g.dtype(), DType::F32);
  EXPECT_EQ(g.shape(), (Shape{3, 4}));
}

TEST_F(LossCli, CskdFullVectorWithTwoViews) {
  const std::string id = "cskd.full.B_B2";
  save("s.safetensors", {{"logits", kda::logits("B", "Zs")}, {"logits_strong", kda::logits("B2", "Zs")}});
  save("t.safetensors", {{"logits", kda::logits("B", "Zt")}, {"logits_strong", kda::logits("B2", "Zt")}});
  save("y.safetensors", {{"labels", kda::labels("B")}});
  const CliRun r = run("--method cskd-full " + files() + " --set r=0.66666666666666667 --set rc=0.5 --json --grad-out '" +
                    path("g.safetensors") + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const json::Value out = json::parse(r.out);
  EXPECT_NEAR_REL(out.at("loss").as_double(), kda::expected(id, "total"));
  for (const auto& [term, key] : std::vector<std::pair<std::string, std::string>>{{"ce", "term_ce"},
                                                                                   {"cs_weak", "term_cs_weak"},
                                                                                   {"cs_strong", "term_cs_strong"},
                                                                                   {"cc", "term_cc"},
                                                                                   {"bc", "term_bc"}})
    EXPECT_NEAR_REL(out.at("terms").at(term).as_double(), kda::expected(id, key)) << term;
  EXPECT_CLOSE(grad("grad"), kda::expected_vec(id, "dTotal_dZs_weak"), kda::kAtol, kda::kRtol);
  EXPECT_CLOSE(grad("grad_strong"), kda::expected_vec(id, "dTotal_dZs_strong"), kda::kAtol, kda::kRtol);
  // Without the strong view in the files: a clear error.
  save_input("B", "B");
  expect_error("--method cskd-full " + files(), "no tensor 'logits_strong'");
}

TEST_F(LossCli, ListShowsEveryMethodWithOptionsAndProvenance) {
  const CliRun r = run("--list");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const distill::MethodInfo& m : distill::methods()) {
    EXPECT_NE(r.out.find(m.name + ": " + m.title), std::string::npos) << m.name;
    EXPECT_NE(r.out.find(m.provenance), std::string::npos) << m.name;
    for (const distill::OptionSpec& o : m.options) EXPECT_NE(r.out.find("    " + o.name + " = "), std::string::npos);
  }
  EXPECT_NE(r.out.find("T_high = 6"), std::string::npos);
  EXPECT_NE(r.out.find("w_ce = 0.1"), std::string::npos);
}

TEST_F(LossCli, BadInputsExitTwoWithOneLine) {
  save_input("A", "A");
  expect_error("--method csdk " + files(), "did you mean 'cskd'?");
  expect_error("--method cskd " + files() + " --set alhpa=1", "unknown option 'alhpa' (did you mean 'alpha'?)");
  expect_error("--method cskd " + files() + " --set alpha", "expected an option as key=value");
  expect_error("--method cskd " + files() + " --set alpha=two", "expects a finite number, found 'two'");
  expect_error("--method cskd " + files() + " --epoch 0", "--epoch counts from 1");
  expect_error("--method cskd " + files(false), "labels are required");
  expect_error("--method cskd --teacher '" + path("t.safetensors") + "'", "missing --student");
  expect_error("--method kd " + files() + " --bogus", "unknown option --bogus");
  // Missing tensors, wrong dtypes, shape mismatches, labels out of range, missing files.
  save("other.safetensors", {{"scores", kda::logits("A", "Zs")}});
  expect_error("--method kd --student '" + path("other.safetensors") + "' --teacher '" + path("t.safetensors") + "'",
               "no tensor 'logits' (found: scores)");
  save("t.safetensors", {{"logits", kda::logits("B", "Zt")}});
  expect_error("--method kd " + files(), "do not match student logits");
  save("t.safetensors", {{"logits", kda::logits("A", "Zt")}});
  save("y.safetensors", {{"labels", from_vector<int64_t>({0, 3}, Shape{2})}});
  expect_error("--method kd " + files(), "label 3 at position 1 is outside [0, 3)");
  save("y.safetensors", {{"labels", from_vector<int64_t>({0, 1, 2}, Shape{3})}});
  expect_error("--method kd " + files(), "expected labels [2]");
  save("y.safetensors", {{"labels", from_vector<float>({0, 1}, Shape{2})}});
  expect_error("--method kd " + files(), "tensor 'labels' must be i64, found f32");
  expect_error("--method kd --student '" + path("missing.safetensors") + "' --teacher '" + path("t.safetensors") + "'",
               "missing.safetensors");
}

}  // namespace
}  // namespace retort
