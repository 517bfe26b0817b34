// Gradient checks (central differences) of the differentiable convolution and
// pooling functions on small NHWC instances, plus the conv node's selective
// saving (only what the wanted gradients need).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
namespace ag = autograd;
using testing::grad_check;
using testing::random_tensor;

using V = std::vector<Variable>;

struct ConvGradCase {
  const char* name;
  Shape x, w;
  ops::Conv2dOptions o;
  bool bias;
};

std::ostream& operator<<(std::ostream& os, const ConvGradCase& c) { return os << c.name; }

const ConvGradCase kConvGradCases[] = {
    {"Bias3x3Pad1", Shape{2, 5, 6, 3}, Shape{4, 3, 3, 3}, ops::Conv2dOptions::make(1, 1), true},
    {"NoBias", Shape{1, 5, 4, 2}, Shape{3, 2, 3, 3}, ops::Conv2dOptions::make(1, 0), false},
    {"Pointwise", Shape{2, 4, 4, 5}, Shape{3, 5, 1, 1}, ops::Conv2dOptions::make(1, 0), true},
    {"Stride2", Shape{2, 7, 6, 3}, Shape{4, 3, 3, 3}, ops::Conv2dOptions::make(2, 1), true},
    {"Groups2Stride2", Shape{2, 7, 6, 4}, Shape{6, 2, 3, 3}, ops::Conv2dOptions::make(2, 1, 1, 2), true},
    {"Dilation2", Shape{1, 7, 7, 3}, Shape{2, 3, 3, 3}, ops::Conv2dOptions::make(1, 2, 2), true},
    {"Depthwise", Shape{2, 6, 5, 4}, Shape{4, 1, 3, 3}, ops::Conv2dOptions::make(1, 1, 1, 4), true},
    {"DepthwiseStride2", Shape{1, 7, 6, 3}, Shape{3, 1, 3, 3}, ops::Conv2dOptions::make(2, 1, 1, 3), false},
    {"DepthwiseMultiplier", Shape{1, 5, 5, 3}, Shape{6, 1, 3, 3}, ops::Conv2dOptions::make(1, 1, 1, 3), true},
    {"NonSquare", Shape{2, 6, 5, 2}, Shape{3, 2, 2, 3}, ops::Conv2dOptions{2, 1, 1, 0, 1, 2, 1}, true},
};

class ConvGrad : public ::testing::TestWithParam<ConvGradCase> {};

TEST_P(ConvGrad, MatchesCentralDifferences) {
  const ConvGradCase& k = GetParam();
  std::vector<Tensor> inputs{random_tensor(k.x, 41), random_tensor(k.w, 42, 0.5f)};
  if (k.bias) inputs.push_back(random_tensor(Shape{k.w[0]}, 43));
  const ops::Conv2dOptions o = k.o;
  const bool bias = k.bias;
  EXPECT_TRUE(grad_check(
      [o, bias](const V& v) { return ag::conv2d(v[0], v[1], bias ? v[2] : Variable(), o); }, inputs));
}

INSTANTIATE_TEST_SUITE_P(Cases, ConvGrad, ::testing::ValuesIn(kConvGradCases),
                         [](const ::testing::TestParamInfo<ConvGradCase>& info) { return std::string(info.param.name); });

// Only the input needs a gradient (a frozen layer), or only the weight (the
// first layer): each backward uses what the node saved for it.
TEST(ConvGrad, OneSidedGradients) {
  const ops::Conv2dOptions o = ops::Conv2dOptions::make(1, 1, 1, 2);
  const Tensor xt = random_tensor(Shape{2, 5, 4, 4}, 44), wt = random_tensor(Shape{6, 2, 3, 3}, 45);
  const Tensor dy = random_tensor(Shape{2, 5, 4, 6}, 46);
  {
    Variable x(xt, true), w(wt, false);
    ag::conv2d(x, w, Variable(), o).backward(dy);
    EXPECT_CLOSE(x.grad(), ops::conv2d_backward_input(dy, wt, xt.shape(), o), 0, 0);
    EXPECT_FALSE(w.grad().defined());
  }
  {
    Variable x(xt, false), w(wt, true);
    ag::conv2d(x, w, Variable(), o).backward(dy);
    EXPECT_CLOSE(w.grad(), ops::conv2d_backward_weight(dy, xt, wt.shape(), o), 0, 0);
    EXPECT_FALSE(x.grad().defined());
  }
}

// The input saved for the weight gradient is version-checked: changing it in
// place before backward is an error naming the node, never a wrong gradient.
TEST(ConvGrad, InPlaceChangeOfSavedInputIsAnError) {
  const ops::Conv2dOptions o = ops::Conv2dOptions::make(1, 1);
  Tensor xt = random_tensor(Shape{1, 4, 4, 2}, 54);
  Variable x(xt, false), w(random_tensor(Shape{3, 2, 3, 3}, 55), true);
  Variable y = ag::conv2d(x, w, Variable(), o);
  ops::mul_(xt, 2.0f);
  try {
    y.backward(ones(y.shape()));
    ADD_FAILURE() << "expected retort::Error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("Conv2dBackward"), std::string::npos) << e.message();
  }
}

TEST(PoolGrad, MaxPool) {
  for (const ops::Pool2dOptions& o : {ops::Pool2dOptions::make(3, 2, 1), ops::Pool2dOptions::make(2, 2, 0, true),
                                      ops::Pool2dOptions{3, 2, 1, 2, 1, 0, true, true}}) {
    SCOPED_TRACE(::testing::Message() << "kernel " << o.kernel_h << "x" << o.kernel_w << " ceil " << o.ceil_mode);
    EXPECT_TRUE(grad_check([o](const V& v) { return ag::max_pool2d(v[0], o); }, {random_tensor(Shape{2, 5, 6, 3}, 47)}));
  }
}

TEST(PoolGrad, AvgPool) {
  const ops::Pool2dOptions cases[] = {
      ops::Pool2dOptions::make(3, 2, 1, true, true),   // ceil mode, divisor counts padding
      ops::Pool2dOptions::make(3, 2, 1, true, false),  // ceil mode, divisor counts the input only
      ops::Pool2dOptions::make(2, 2, 0, true),         // ceil mode, partial last windows
      ops::Pool2dOptions::make(3, 2, 1),               // ShuffleNetV1 shortcut
      ops::Pool2dOptions{2, 3, 1, 2, 1, 1, false, false},
  };
  for (const ops::Pool2dOptions& o : cases) {
    SCOPED_TRACE(::testing::Message() << "kernel " << o.kernel_h << "x" << o.kernel_w << " ceil " << o.ceil_mode
                                      << " include pad " << o.count_include_pad);
    EXPECT_TRUE(grad_check([o](const V& v) { return ag::avg_pool2d(v[0], o); }, {random_tensor(Shape{2, 5, 7, 3}, 48)}));
  }
}

TEST(PoolGrad, AdaptiveAvgPool) {
  struct S {
    Shape x;
    int64_t oh, ow;
  };
  for (const S& s : {S{Shape{2, 5, 7, 3}, 3, 2}, S{Shape{2, 4, 4, 5}, 1, 1}, S{Shape{1, 3, 2, 2}, 5, 4},
                     S{Shape{1, 13, 11, 2}, 7, 7}}) {
    SCOPED_TRACE(::testing::Message() << s.x << " -> " << s.oh << "x" << s.ow);
    const int64_t oh = s.oh, ow = s.ow;
    EXPECT_TRUE(
        grad_check([oh, ow](const V& v) { return ag::adaptive_avg_pool2d(v[0], oh, ow); }, {random_tensor(s.x, 49)}));
  }
}

// A small conv -> max pool -> conv -> global pool chain, all parameters at once.
TEST(PoolGrad, ConvPoolChain) {
  const ops::Conv2dOptions c1 = ops::Conv2dOptions::make(1, 1), c2 = ops::Conv2dOptions::make(2, 1, 1, 2);
  const ops::Pool2dOptions p = ops::Pool2dOptions::make(2, 2, 0, true);
  EXPECT_TRUE(grad_check(
      [=](const V& v) {
        Variable h = ag::max_pool2d(ag::conv2d(v[0], v[1], v[2], c1), p);
        return ag::adaptive_avg_pool2d(ag::conv2d(h, v[3], Variable(), c2), 1, 1);
      },
      {random_tensor(Shape{2, 7, 5, 2}, 50), random_tensor(Shape{4, 2, 3, 3}, 51, 0.5f), random_tensor(Shape{4}, 52),
       random_tensor(Shape{4, 2, 3, 3}, 53, 0.5f)}));
}

}  // namespace
}  // namespace retort
