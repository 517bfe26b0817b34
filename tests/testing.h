// Test helpers: devices, closeness against double references, gradient checks.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "tensor/tensor.h"

namespace retort {
namespace testing {

// True when a CUDA device is usable in this process.
bool has_cuda();

// Device-parameterised fixture: the CUDA instance skips itself without a GPU.
class DeviceTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    if (GetParam().is_cuda() && !has_cuda()) GTEST_SKIP() << "no CUDA device in this process";
  }
  Device device() const { return GetParam(); }
};

std::string device_param_name(const ::testing::TestParamInfo<Device>& info);

#define RETORT_DEVICE_TESTS(Fixture)                                                                   \
  INSTANTIATE_TEST_SUITE_P(Devices, Fixture, ::testing::Values(::retort::Device::cpu(), ::retort::Device::cuda(0)), \
                           ::retort::testing::device_param_name)

// |actual - expected| <= atol + rtol*|expected| elementwise (shapes must hold
// the same number of elements). On failure, reports the first mismatches and
// the largest error.
::testing::AssertionResult close(const Tensor& actual, const std::vector<double>& expected, double atol = 1e-5,
                                 double rtol = 1e-5);
::testing::AssertionResult close(const Tensor& actual, const Tensor& expected, double atol = 1e-5, double rtol = 1e-5);

#define EXPECT_CLOSE(actual, expected, ...) EXPECT_TRUE(::retort::testing::close(actual, expected, ##__VA_ARGS__))

// Values of a CPU tensor as doubles (any dtype).
std::vector<double> to_doubles(const Tensor& t);
// A f32 tensor with normal(0, scale^2) values from a fixed seed.
Tensor random_tensor(const Shape& shape, uint64_t seed, float scale = 1.0f);

struct GradCheckOptions {
  double eps = 5e-3;   // perturbation
  double atol = 2e-3;  // |analytic - numeric| <= atol + rtol*|numeric|
  double rtol = 2e-2;
  int max_positions = 32;  // random positions per input (all when fewer elements)
  uint64_t seed = 7;
};

using GradFunction = std::function<autograd::Variable(const std::vector<autograd::Variable>&)>;

// Compares the autograd gradient of L = sum(f(inputs) * w), w a fixed random
// projection, against central differences of L computed in double around the
// float forward. Positions where the left and right differences disagree (a
// kink, e.g. relu at 0 or a max tie) are skipped; at least one position per
// input must be checked.
::testing::AssertionResult grad_check(const GradFunction& f, const std::vector<Tensor>& inputs,
                                      const GradCheckOptions& options = GradCheckOptions());

// One run of the retort binary: its exit status (-N when signal N killed it;
// a shell in between reports 128 + N instead) and its output.
struct CliRun {
  int status = -1;
  std::string out, err;
};

// Runs `retort ARGS` (ARGS in shell syntax; quote paths) with ENV prefixed
// (e.g. "RETORT_KILL_AFTER_EPOCH=1"), capturing stdout and stderr.
CliRun run_retort(const std::string& args, const std::string& env = "");

// Passes when the run exited 2 with one line on stderr holding every needle:
// the contract for bad input.
::testing::AssertionResult failed_with(const CliRun& run, const std::vector<std::string>& needles);

}  // namespace testing
}  // namespace retort
