// Anomaly mode: the first function whose output (forward) or input gradient
// (backward) holds a NaN or an infinity is named with its shapes; off, the
// same graphs run without a check.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/anomaly.h"
#include "autograd/functions.h"
#include "tensor/ops.h"
#include "tests/data/data_files.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
namespace ag = autograd;

Variable param(std::vector<float> v, const Shape& shape) { return Variable(from_vector<float>(v, shape), true); }

// A linear layer whose output has negative entries, then log: the log is the
// first op to produce NaN; exp and sum after it only carry it on.
Variable log_of_linear() {
  const Variable x = param({1, 2, 3, -1, 0, 2}, Shape{2, 3});
  const Variable w = param({1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, Shape{4, 3});
  const Variable b = param({0, 0, 0, 0}, Shape{4});
  return ag::sum(ag::exp(ag::log(ag::linear(x, w, b))));
}

TEST(Anomaly, OffByDefaultNaNsFlowThrough) {
  ASSERT_FALSE(ag::detect_anomaly());
  const Variable loss = log_of_linear();
  EXPECT_TRUE(std::isnan(loss.value().item<float>()));
}

TEST(Anomaly, ForwardNamesTheFirstOpThatProducedANaNAndItsShapes) {
  ag::DetectAnomalyGuard on;
  EXPECT_ERROR_WITH(log_of_linear(), "detect-anomaly: the forward of Log produced 2 NaN/Inf values",
                    "output 0 [2, 4]", "inputs: [2, 4] finite");
}

TEST(Anomaly, BackwardNamesTheNodeWhoseGradientWentNonFinite) {
  // sqrt is finite at 0, its gradient 1/(2 sqrt x) is not.
  const Variable x = param({4, 0, 1}, Shape{3});
  {
    ag::DetectAnomalyGuard on;
    const Variable loss = ag::sum(ag::mul_scalar(ag::sqrt(x), 3.0f));
    EXPECT_FLOAT_EQ(loss.value().item<float>(), 9.0f);
    EXPECT_ERROR_WITH(loss.backward(), "detect-anomaly: the backward of Sqrt (SqrtBackward) produced 1 NaN/Inf",
                      "gradient of its input 0 [3]", "incoming output gradients: [3] finite");
  }
  // Off, the infinity reaches the leaf.
  const Variable loss = ag::sum(ag::mul_scalar(ag::sqrt(x), 3.0f));
  loss.backward();
  EXPECT_EQ(ops::count_nonfinite(x.grad()), 1);
}

TEST(Anomaly, ANonFiniteConstantIsNamedWhereItEntersTheGraph) {
  ag::DetectAnomalyGuard on;
  const Variable w = param({1, 2}, Shape{2});
  const Variable data(from_vector<float>({std::numeric_limits<float>::infinity(), 1}, Shape{2}));
  EXPECT_ERROR_WITH(ag::mul(w, data), "the forward of Mul", "[2] 1 non-finite", "comes from outside the graph");
}

TEST(Anomaly, FiniteGraphsGiveTheSameGradientsWithTheModeOn) {
  const auto grads = [] {
    const Variable x = param({0.5f, -1.0f, 2.0f}, Shape{3});
    ag::sum(ag::mul(ag::exp(x), ag::tanh(x))).backward();
    return testing::to_doubles(x.grad());
  };
  const std::vector<double> off = grads();
  std::vector<double> on;
  {
    ag::DetectAnomalyGuard guard;
    on = grads();
  }
  EXPECT_EQ(on, off);
  EXPECT_FALSE(ag::detect_anomaly());  // the guard restored the setting
}

}  // namespace
}  // namespace retort
