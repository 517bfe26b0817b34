// retort selftest: the comparison that judges a device, the table on the CPU
// against itself, and the one-line refusal without a GPU; --device on every
// command that computes.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "distill/objective.h"
#include "tensor/device.h"
#include "tensor/ops.h"
#include "tests/testing.h"
#include "tools/selftest.h"

namespace retort {
namespace {

using testing::failed_with;
using testing::run_retort;
using tools::compare;

TEST(SelftestCompare, PassesWithinTheToleranceAndFailsOutsideIt) {
  const Tensor want = from_vector<float>({1.0f, -2.0f, 100.0f}, Shape{3});
  const Tensor near = from_vector<float>({1.0f + 1e-6f, -2.0f, 100.0f + 5e-3f}, Shape{3});
  const tools::Outcome ok = compare({near}, {want}, 1e-5, 1e-4);  // 5e-3 <= 1e-5 + 1e-4*100
  EXPECT_TRUE(ok.pass);
  EXPECT_NEAR(ok.max_abs, 5e-3, 1e-5);
  EXPECT_NEAR(ok.max_rel, 5e-5, 1e-7);
  EXPECT_FALSE(compare({near}, {want}, 1e-5, 1e-5).pass);  // 5e-3 > 1e-5 + 1e-5*100
  EXPECT_TRUE(compare({want}, {want}, 0, 0).pass);
  EXPECT_FALSE(compare({near}, {want}, 0, 0).pass);
}

TEST(SelftestCompare, NamesCountDtypeShapeAndNanMismatches) {
  const Tensor a = from_vector<float>({1.0f, 2.0f}, Shape{2});
  EXPECT_EQ(compare({a, a}, {a}, 1, 1).why, "a different number of outputs");
  const tools::Outcome shape = compare({a.reshape({1, 2})}, {a}, 1, 1);
  EXPECT_FALSE(shape.pass);
  EXPECT_NE(shape.why.find("[1, 2]"), std::string::npos) << shape.why;
  const tools::Outcome dtype = compare({ops::cast(a, DType::I64)}, {a}, 1, 1);
  EXPECT_FALSE(dtype.pass);
  EXPECT_NE(dtype.why.find("i64"), std::string::npos) << dtype.why;
  const Tensor nan = from_vector<float>({1.0f, std::nanf("")}, Shape{2});
  EXPECT_TRUE(compare({nan}, {nan}, 0, 0).pass);  // NaN where the CPU has NaN
  EXPECT_FALSE(compare({nan}, {a}, 1, 1).pass);
  EXPECT_FALSE(compare({a}, {nan}, 1, 1).pass);
}

TEST(SelftestCompare, CoversEveryObjectiveAndTheTrainingRun) {
  std::vector<std::string> names;
  for (const tools::Check& c : tools::selftest_checks()) names.push_back(c.name);
  auto has = [&](const std::string& prefix) {
    for (const std::string& n : names)
      if (n.rfind(prefix, 0) == 0) return true;
    return false;
  };
  for (const distill::MethodInfo& m : distill::methods()) EXPECT_TRUE(has("objective " + m.name + ":")) << m.name;
  for (const char* op : {"conv2d (depthwise", "conv2d_backward_input (groups", "conv2d_backward_weight (7x7",
                         "matmul", "batch_norm_train and backward (fused", "max_pool2d", "adaptive_avg_pool2d",
                         "softmax", "cross_entropy", "sgd and adamw", "random numbers", "train resnet20"})
    EXPECT_TRUE(has(op)) << op;
}

TEST(Selftest, TheCpuAgainstItselfPassesEveryRow) {
  const testing::CliRun r = run_retort("selftest --device cpu");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const size_t rows = tools::selftest_checks().size();
  EXPECT_NE(r.out.find(std::to_string(rows) + " checks, 0 failed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the CPU against itself"), std::string::npos) << r.out;
}

TEST(Selftest, WithoutAGpuEveryDeviceCommandSaysSoInOneLine) {
  if (testing::has_cuda()) GTEST_SKIP() << "a GPU is present";
  const std::string why = cuda_compiled() ? "no GPU is present" : "no CUDA backend";
  EXPECT_TRUE(failed_with(run_retort("selftest"), {"cuda:0", why}));
  EXPECT_TRUE(failed_with(run_retort("selftest --device cuda:1"), {"cuda:1", why}));
  EXPECT_TRUE(failed_with(run_retort("selftest --device tpu"), {"'tpu'"}));
  EXPECT_TRUE(failed_with(run_retort("bench --model resnet8 --device cuda"), {why}));
  EXPECT_TRUE(failed_with(run_retort("eval --model resnet8 --weights x.safetensors --device cuda"), {why}));
  EXPECT_TRUE(failed_with(run_retort("predict --model resnet8 --weights x --input x --out y --device cuda"), {why}));
  EXPECT_TRUE(failed_with(run_retort("loss --method kd --student x --teacher y --device cuda"), {why}));
  EXPECT_TRUE(failed_with(run_retort("train --device cuda --epochs 1 --out /nonexistent-dir/runs"), {why}));
  EXPECT_TRUE(failed_with(run_retort("data synthetic --bench 1 --device cuda"), {why}));
}

// cuBLAS is loaded on first use, not linked: a CPU run of a CUDA build does
// not map it (linking it cost every process 150 MiB of resident memory), and
// `retort info` loads it to print its version.
TEST(CudaBuild, CublasLoadsOnlyWhenUsed) {
  if (!cuda_compiled()) GTEST_SKIP() << "no CUDA backend in this build";
  const testing::CliRun cpu = run_retort("bench --model resnet8 --mode infer --batch 1 --threads 1 --iters 1 "
                                         "--repeats 1 --device cpu --json");
  ASSERT_EQ(cpu.status, 0) << cpu.err;
  const size_t at = cpu.out.find("\"peak_rss_mib\":");
  ASSERT_NE(at, std::string::npos) << cpu.out;
  EXPECT_LT(std::stod(cpu.out.substr(at + 15)), 100.0) << cpu.out;  // 17 MiB here; 167 with cuBLAS linked
  const testing::CliRun info = run_retort("info");
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find(", cuBLAS 1"), std::string::npos) << info.out;
}

}  // namespace
}  // namespace retort
