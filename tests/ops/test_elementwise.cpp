// Element-wise ops against double-precision references: every UnaryOp and
// BinaryOp, broadcasting, NaN propagation, errors and the in-place updates.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::to_doubles;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// Values spread over the interesting ranges of every unary op (both signs,
// zero, both sides of relu6's 6, large magnitudes for sigmoid/tanh/exp).
std::vector<float> probe_values() {
  std::vector<float> v = {-30.0f, -7.5f, -6.0f, -2.25f, -1.0f, -0.3f, -1e-3f, 0.0f, 1e-3f, 0.3f, 0.5f,
                          1.0f,   2.0f,  5.99f, 6.0f,   6.01f, 7.5f, 30.0f,  80.0f};
  const Tensor r = testing::random_tensor(Shape{45}, 11, 3.0f);
  for (float x : r.to_vector<float>()) v.push_back(x);
  return v;
}

std::vector<double> map(const std::vector<float>& x, const std::function<double(double)>& f) {
  std::vector<double> y;
  for (float v : x) y.push_back(f(static_cast<double>(v)));
  return y;
}

// Compares the named op and the generic ops::unary entry point with a reference on x.
void check_unary(UnaryOp op, const std::function<Tensor(const Tensor&)>& named, const std::vector<float>& xs,
                 const std::function<double(double)>& ref, float a = 0.0f, float b = 0.0f, double rtol = 1e-6) {
  SCOPED_TRACE(unary_op_name(op));
  const Tensor x = from_vector<float>(xs, Shape{static_cast<int64_t>(xs.size())});
  const std::vector<double> expected = map(xs, ref);
  EXPECT_CLOSE(named(x), expected, 1e-30, rtol);
  EXPECT_CLOSE(ops::unary(op, x, a, b), expected, 1e-30, rtol);
}

TEST(Unary, EveryOpAgainstDoubleReference) {
  const std::vector<float> all = probe_values();
  std::vector<float> positive;
  for (float v : all)
    if (v > 0.0f) positive.push_back(v);
  std::vector<float> nonzero;
  for (float v : all)
    if (v != 0.0f) nonzero.push_back(v);
  std::vector<float> moderate;  // exp stays finite
  for (float v : all)
    if (std::fabs(v) < 40.0f) moderate.push_back(v);

  check_unary(UnaryOp::Neg, [](const Tensor& x) { return ops::neg(x); }, all, [](double x) { return -x; });
  check_unary(UnaryOp::Exp, [](const Tensor& x) { return ops::exp(x); }, moderate, [](double x) { return std::exp(x); });
  check_unary(UnaryOp::Log, [](const Tensor& x) { return ops::log(x); }, positive, [](double x) { return std::log(x); });
  check_unary(UnaryOp::Sqrt, [](const Tensor& x) { return ops::sqrt(x); }, positive,
              [](double x) { return std::sqrt(x); });
  check_unary(UnaryOp::Rsqrt, [](const Tensor& x) { return ops::rsqrt(x); }, positive,
              [](double x) { return 1.0 / std::sqrt(x); });
  check_unary(UnaryOp::Abs, [](const Tensor& x) { return ops::abs(x); }, all, [](double x) { return std::fabs(x); });
  check_unary(UnaryOp::Sign, [](const Tensor& x) { return ops::sign(x); }, all,
              [](double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); });
  check_unary(UnaryOp::Relu, [](const Tensor& x) { return ops::relu(x); }, all,
              [](double x) { return x > 0 ? x : 0.0; });
  check_unary(UnaryOp::Relu6, [](const Tensor& x) { return ops::relu6(x); }, all,
              [](double x) { return std::min(std::max(x, 0.0), 6.0); });
  // sigmoid(-30) ~ 1e-13: a relative tolerance still applies there.
  check_unary(UnaryOp::Sigmoid, [](const Tensor& x) { return ops::sigmoid(x); }, all,
              [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  check_unary(UnaryOp::Tanh, [](const Tensor& x) { return ops::tanh(x); }, all, [](double x) { return std::tanh(x); });
  check_unary(UnaryOp::Square, [](const Tensor& x) { return ops::square(x); }, all, [](double x) { return x * x; });
  check_unary(UnaryOp::Reciprocal, [](const Tensor& x) { return ops::reciprocal(x); }, nonzero,
              [](double x) { return 1.0 / x; });
  check_unary(UnaryOp::AddScalar, [](const Tensor& x) { return ops::add_scalar(x, 1.25f); }, all,
              [](double x) { return x + 1.25; }, 1.25f, 0.0f, 2e-7);
  check_unary(UnaryOp::MulScalar, [](const Tensor& x) { return ops::mul_scalar(x, -0.375f); }, all,
              [](double x) { return x * -0.375; }, -0.375f);
  check_unary(UnaryOp::PowScalar, [](const Tensor& x) { return ops::pow_scalar(x, 2.5f); }, positive,
              [](double x) { return std::pow(x, 2.5); }, 2.5f);
  check_unary(UnaryOp::PowScalar, [](const Tensor& x) { return ops::pow_scalar(x, -1.5f); }, positive,
              [](double x) { return std::pow(x, -1.5); }, -1.5f);
  check_unary(UnaryOp::PowScalar, [](const Tensor& x) { return ops::pow_scalar(x, 3.0f); }, all,
              [](double x) { return x * x * x; }, 3.0f);
  check_unary(UnaryOp::Clamp, [](const Tensor& x) { return ops::clamp(x, -1.5f, 2.0f); }, all,
              [](double x) { return std::min(std::max(x, -1.5), 2.0); }, -1.5f, 2.0f);
}

// Add-scalar rounds once in float: the sum of two floats; the exact comparison is
// against float addition itself.
TEST(Unary, AddScalarIsOneFloatAddition) {
  const std::vector<float> xs = probe_values();
  const std::vector<float> y = ops::add_scalar(from_vector<float>(xs, Shape{static_cast<int64_t>(xs.size())}), 0.1f)
                                   .to_vector<float>();
  for (size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(y[i], xs[i] + 0.1f) << i;
}

TEST(Unary, HandComputedValues) {
  const Tensor x = from_vector<float>({-1.0f, 0.0f, 2.5f, 7.0f}, Shape{4});
  EXPECT_CLOSE(ops::relu(x), {0.0, 0.0, 2.5, 7.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::relu6(x), {0.0, 0.0, 2.5, 6.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sign(x), {-1.0, 0.0, 1.0, 1.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::abs(x), {1.0, 0.0, 2.5, 7.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::neg(x), {1.0, 0.0, -2.5, -7.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::square(x), {1.0, 0.0, 6.25, 49.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::clamp(x, -0.5f, 3.0f), {-0.5, 0.0, 2.5, 3.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::mul_scalar(x, 2.0f), {-2.0, 0.0, 5.0, 14.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::add_scalar(x, 1.0f), {0.0, 1.0, 3.5, 8.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sigmoid(from_vector<float>({0.0f}, Shape{1})), {0.5}, 0.0, 0.0);
  EXPECT_CLOSE(ops::tanh(from_vector<float>({0.0f}, Shape{1})), {0.0}, 0.0, 0.0);
  const Tensor p = from_vector<float>({4.0f, 0.25f, 1.0f}, Shape{3});
  EXPECT_CLOSE(ops::sqrt(p), {2.0, 0.5, 1.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::rsqrt(p), {0.5, 2.0, 1.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::reciprocal(p), {0.25, 4.0, 1.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::pow_scalar(p, 2.0f), {16.0, 0.0625, 1.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::pow_scalar(p, 0.5f), {2.0, 0.5, 1.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::log(from_vector<float>({1.0f, 0.0f, -1.0f}, Shape{3})), {0.0, -INFINITY, kNaN}, 0.0, 0.0);
  EXPECT_CLOSE(ops::exp(from_vector<float>({0.0f, -INFINITY, 1.0f}, Shape{3})), {1.0, 0.0, std::exp(1.0)}, 0.0, 1e-7);
}

TEST(Unary, NaNPropagatesLikePyTorch) {
  const Tensor x = from_vector<float>({kNaNf, -kNaNf}, Shape{2});
  for (UnaryOp op : {UnaryOp::Relu, UnaryOp::Relu6, UnaryOp::Sign, UnaryOp::Abs, UnaryOp::Sigmoid, UnaryOp::Tanh,
                     UnaryOp::Clamp, UnaryOp::Exp, UnaryOp::Neg}) {
    SCOPED_TRACE(unary_op_name(op));
    const std::vector<float> y = ops::unary(op, x, 0.0f, 1.0f).to_vector<float>();
    EXPECT_TRUE(std::isnan(y[0]));
    EXPECT_TRUE(std::isnan(y[1]));
  }
}

TEST(Unary, StridedInputAndParallelLength) {
  // A transposed (non-contiguous) input is read in logical order.
  const Tensor x = from_vector<float>({-1, 2, -3, 4, -5, 6}, Shape{2, 3}).transpose(0, 1);
  const Tensor y = ops::relu(x);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_CLOSE(y, {0, 4, 2, 0, 0, 6}, 0.0, 0.0);
  // Longer than the parallel grain: every chunk is computed.
  const Tensor big = testing::random_tensor(Shape{70001}, 3);
  const std::vector<float> xs = big.to_vector<float>();
  EXPECT_CLOSE(ops::tanh(big), map(xs, [](double v) { return std::tanh(v); }), 1e-30, 1e-6);
  EXPECT_CLOSE(ops::abs(big), map(xs, [](double v) { return std::fabs(v); }), 0.0, 0.0);
}

TEST(Unary, RejectsWrongDtypeAndBadClamp) {
  const Tensor i = arange(4, DType::I64);
  EXPECT_THROW(ops::relu(i), Error);
  EXPECT_THROW(ops::exp(arange(4, DType::U8)), Error);
  EXPECT_THROW(ops::unary(UnaryOp::Neg, Tensor()), Error);
  EXPECT_THROW(ops::clamp(zeros(Shape{2}), 1.0f, -1.0f), Error);
  try {
    ops::sigmoid(i);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("sigmoid"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("i64"), std::string::npos) << e.message();
  }
}

// ---------------------------------------------------------------- binary

struct BinaryCase {
  BinaryOp op;
  std::function<Tensor(const Tensor&, const Tensor&)> named;
  std::function<double(double, double)> ref;
};

std::vector<BinaryCase> binary_cases() {
  return {
      {BinaryOp::Add, [](const Tensor& a, const Tensor& b) { return ops::add(a, b); },
       [](double a, double b) { return a + b; }},
      {BinaryOp::Sub, [](const Tensor& a, const Tensor& b) { return ops::sub(a, b); },
       [](double a, double b) { return a - b; }},
      {BinaryOp::Mul, [](const Tensor& a, const Tensor& b) { return ops::mul(a, b); },
       [](double a, double b) { return a * b; }},
      {BinaryOp::Div, [](const Tensor& a, const Tensor& b) { return ops::div(a, b); },
       [](double a, double b) { return a / b; }},
      {BinaryOp::Maximum, [](const Tensor& a, const Tensor& b) { return ops::maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }},
      {BinaryOp::Minimum, [](const Tensor& a, const Tensor& b) { return ops::minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }},
  };
}

// Reference broadcast: element i of out combines the NumPy-aligned elements of a and b.
std::vector<double> broadcast_ref(const Tensor& a, const Tensor& b, const Shape& out,
                                  const std::function<double(double, double)>& f) {
  const std::vector<double> av = to_doubles(a), bv = to_doubles(b);
  std::vector<double> y(out.numel());
  const int n = out.ndim();
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> idx(n);
    int64_t r = i;
    for (int d = n - 1; d >= 0; --d) {
      idx[d] = r % out[d];
      r /= out[d];
    }
    auto offset = [&](const Shape& s) {
      int64_t off = 0;
      const int lead = n - s.ndim();
      for (int d = 0; d < s.ndim(); ++d) off = off * s[d] + (s[d] == 1 ? 0 : idx[lead + d]);
      return off;
    };
    y[i] = f(av[offset(a.shape())], bv[offset(b.shape())]);
  }
  return y;
}

// Operands for division stay away from 0.
Tensor operand(const Shape& s, uint64_t seed) {
  Tensor t = testing::random_tensor(s, seed);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] >= 0 ? p[i] + 0.5f : p[i] - 0.5f;
  return t;
}

TEST(Binary, SameShapeEveryOp) {
  const Tensor a = operand(Shape{3, 5, 7}, 1), b = operand(Shape{3, 5, 7}, 2);
  for (const BinaryCase& c : binary_cases()) {
    SCOPED_TRACE(binary_op_name(c.op));
    const std::vector<double> expected = broadcast_ref(a, b, a.shape(), c.ref);
    EXPECT_CLOSE(c.named(a, b), expected, 1e-30, 1e-6);
    EXPECT_CLOSE(ops::binary(c.op, a, b), expected, 1e-30, 1e-6);
  }
}

TEST(Binary, HandComputedValues) {
  const Tensor a = from_vector<float>({1, -2, 3, 8}, Shape{4});
  const Tensor b = from_vector<float>({4, 5, -6, 2}, Shape{4});
  EXPECT_CLOSE(ops::add(a, b), {5, 3, -3, 10}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sub(a, b), {-3, -7, 9, 6}, 0.0, 0.0);
  EXPECT_CLOSE(ops::mul(a, b), {4, -10, -18, 16}, 0.0, 0.0);
  EXPECT_CLOSE(ops::div(a, b), {0.25, -0.4, -0.5, 4}, 0.0, 1e-7);
  EXPECT_CLOSE(ops::maximum(a, b), {4, 5, 3, 8}, 0.0, 0.0);
  EXPECT_CLOSE(ops::minimum(a, b), {1, -2, -6, 2}, 0.0, 0.0);
  // Broadcast hand case: [2,1] + [1,3] -> [[10,11,12],[20,21,22]].
  const Tensor col = from_vector<float>({10, 20}, Shape{2, 1});
  const Tensor row = from_vector<float>({0, 1, 2}, Shape{1, 3});
  const Tensor s = ops::add(col, row);
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_CLOSE(s, {10, 11, 12, 20, 21, 22}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sub(row, col), {-10, -9, -8, -20, -19, -18}, 0.0, 0.0);
}

struct BroadcastShapes {
  Shape a, b, out;
};

TEST(Binary, BroadcastingEveryOp) {
  const std::vector<BroadcastShapes> cases = {
      {Shape{}, Shape{2, 3}, Shape{2, 3}},                 // scalar [] tensor, left
      {Shape{2, 3}, Shape{}, Shape{2, 3}},                 // scalar [] tensor, right
      {Shape{2, 4, 3, 5}, Shape{5}, Shape{2, 4, 3, 5}},    // per-channel [C] against [N,H,W,C]
      {Shape{5}, Shape{2, 4, 3, 5}, Shape{2, 4, 3, 5}},    // and reversed
      {Shape{6, 1}, Shape{6, 9}, Shape{6, 9}},             // per-row [B,1] against [B,C]
      {Shape{6, 9}, Shape{6, 1}, Shape{6, 9}},             //
      {Shape{3, 1}, Shape{1, 4}, Shape{3, 4}},             // both sides broadcast
      {Shape{1, 4}, Shape{3, 1}, Shape{3, 4}},             //
      {Shape{2, 3, 4}, Shape{3, 1}, Shape{2, 3, 4}},       // rank-extending, inner repeat
      {Shape{4}, Shape{2, 3, 1}, Shape{2, 3, 4}},          // rank-extending both ways
      {Shape{3, 1, 5}, Shape{1, 4, 1}, Shape{3, 4, 5}},    // alternating
      {Shape{2, 1}, Shape{1, 1}, Shape{2, 1}},             // inner extent 1 on both
      {Shape{1}, Shape{7}, Shape{7}},                      // [1] against [n]
      {Shape{}, Shape{1}, Shape{1}},                       // [] against [1]
      {Shape{0, 3}, Shape{3}, Shape{0, 3}},                // empty output
      {Shape{64, 1, 300}, Shape{1, 8, 300}, Shape{64, 8, 300}},  // longer than the parallel grain
  };
  uint64_t seed = 100;
  for (const BroadcastShapes& s : cases) {
    const Tensor a = operand(s.a, ++seed), b = operand(s.b, ++seed);
    for (const BinaryCase& c : binary_cases()) {
      SCOPED_TRACE(std::string(binary_op_name(c.op)) + " " + s.a.str() + " with " + s.b.str());
      const Tensor y = c.named(a, b);
      EXPECT_EQ(y.shape(), s.out);
      EXPECT_CLOSE(y, broadcast_ref(a, b, s.out, c.ref), 1e-30, 1e-6);
    }
  }
}

TEST(Binary, StridedOperandsAreReadInLogicalOrder) {
  const Tensor a = operand(Shape{4, 6}, 5).transpose(0, 1);  // [6, 4] view
  const Tensor b = operand(Shape{6, 8}, 6).narrow(1, 2, 4);  // [6, 4] view
  EXPECT_CLOSE(ops::mul(a, b), broadcast_ref(a, b, Shape{6, 4}, [](double x, double y) { return x * y; }), 1e-30, 1e-6);
  const Tensor c = operand(Shape{4}, 7);
  EXPECT_CLOSE(ops::sub(a, c), broadcast_ref(a, c, Shape{6, 4}, [](double x, double y) { return x - y; }), 1e-30, 1e-6);
}

TEST(Binary, NaNPropagatesThroughMaximumAndMinimum) {
  const Tensor a = from_vector<float>({kNaNf, 1.0f, kNaNf, -2.0f}, Shape{4});
  const Tensor b = from_vector<float>({1.0f, kNaNf, kNaNf, 3.0f}, Shape{4});
  for (const Tensor& y : {ops::maximum(a, b), ops::minimum(a, b), ops::maximum(b, a), ops::minimum(b, a)}) {
    const std::vector<float> v = y.to_vector<float>();
    EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]) && std::isnan(v[2])) << y;
  }
  EXPECT_EQ(ops::maximum(a, b).to_vector<float>()[3], 3.0f);
  EXPECT_EQ(ops::minimum(a, b).to_vector<float>()[3], -2.0f);
  // Broadcast path too: a NaN scalar poisons every element, on either side.
  const Tensor nan_scalar = full(Shape{}, kNaN);
  const Tensor x = from_vector<float>({-1, 0, 5}, Shape{3});
  for (const Tensor& y : {ops::maximum(x, nan_scalar), ops::maximum(nan_scalar, x), ops::minimum(x, nan_scalar),
                          ops::minimum(nan_scalar, x)})
    for (float v : y.to_vector<float>()) EXPECT_TRUE(std::isnan(v)) << y;
}

TEST(Binary, BackwardHelpersAgainstReference) {
  const std::vector<float> xs = probe_values();
  const int64_t n = static_cast<int64_t>(xs.size());
  const Tensor x = from_vector<float>(xs, Shape{n});
  const Tensor dy = testing::random_tensor(Shape{n}, 9);
  const std::vector<double> d = to_doubles(dy);
  const Tensor y_relu = ops::relu(x), y_sig = ops::sigmoid(x), y_tanh = ops::tanh(x);
  const std::vector<double> yr = to_doubles(y_relu), ys = to_doubles(y_sig), yt = to_doubles(y_tanh);
  std::vector<double> e_relu, e_relu6, e_sig, e_tanh;
  for (int64_t i = 0; i < n; ++i) {
    e_relu.push_back(yr[i] > 0 ? d[i] : 0.0);
    e_relu6.push_back(xs[i] > 0 && xs[i] < 6 ? d[i] : 0.0);
    e_sig.push_back(d[i] * ys[i] * (1.0 - ys[i]));
    e_tanh.push_back(d[i] * (1.0 - yt[i] * yt[i]));
  }
  EXPECT_CLOSE(ops::relu_backward(dy, y_relu), e_relu, 0.0, 0.0);
  EXPECT_CLOSE(ops::relu6_backward(dy, x), e_relu6, 0.0, 0.0);
  EXPECT_CLOSE(ops::sigmoid_backward(dy, y_sig), e_sig, 1e-12, 1e-6);
  EXPECT_CLOSE(ops::tanh_backward(dy, y_tanh), e_tanh, 1e-7, 1e-6);
  // Hand case: relu6 passes strictly inside (0, 6).
  const Tensor g = from_vector<float>({1, 1, 1, 1, 1}, Shape{5});
  EXPECT_CLOSE(ops::relu6_backward(g, from_vector<float>({-1, 0, 3, 6, 7}, Shape{5})), {0, 0, 1, 0, 0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sigmoid_backward(g, from_vector<float>({0.5f, 0.25f, 1, 1, 1}, Shape{5})),
               {0.25, 0.1875, 0, 0, 0}, 0.0, 0.0);
  // The helpers never broadcast.
  EXPECT_THROW(ops::relu_backward(zeros(Shape{2, 3}), zeros(Shape{3})), Error);
  EXPECT_THROW(ops::tanh_backward(zeros(Shape{1}), zeros(Shape{3})), Error);
}

// relu(a + b) in one pass: hand values (a sum of exactly 0 stays 0, NaN passes
// as in relu), the bits of relu(add(a, b)) at a parallel length, and one shape only.
TEST(Binary, AddReluIsReluOfTheSum) {
  const float nan = std::nanf("");
  const Tensor a = from_vector<float>({1, -2, 3, -8, 2.5f, nan}, Shape{6});
  const Tensor b = from_vector<float>({4, 1, -6, 8, -0.5f, 1}, Shape{6});
  const std::vector<float> y = ops::add_relu(a, b).to_vector<float>();
  const std::vector<float> expected{5, 0, 0, 0, 2, 0};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(y[i], expected[i]) << i;
  EXPECT_TRUE(std::isnan(y[5]));

  const Tensor p = testing::random_tensor(Shape{64, 33, 17}, 5), q = testing::random_tensor(Shape{64, 33, 17}, 6);
  EXPECT_EQ(ops::add_relu(p, q).to_vector<float>(), ops::relu(ops::add(p, q)).to_vector<float>());
  try {
    ops::add_relu(zeros(Shape{2, 3}), zeros(Shape{3}));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("add_relu"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("[2, 3]"), std::string::npos) << e.message();
  }
}

TEST(Binary, ErrorsForBadShapesAndDtypes) {
  EXPECT_THROW(ops::add(zeros(Shape{2, 3}), zeros(Shape{4})), Error);
  EXPECT_THROW(ops::mul(zeros(Shape{2, 3}), zeros(Shape{3, 2})), Error);
  EXPECT_THROW(ops::sub(zeros(Shape{2, 3, 4}), zeros(Shape{2, 1, 3})), Error);
  EXPECT_THROW(ops::add(zeros(Shape{3}), zeros(Shape{3}, DType::I64)), Error);
  EXPECT_THROW(ops::maximum(zeros(Shape{3}, DType::U8), zeros(Shape{3})), Error);
  EXPECT_THROW(ops::div(zeros(Shape{3}), Tensor()), Error);
  try {
    ops::add(zeros(Shape{2, 3}), zeros(Shape{4}));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("add"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("[2, 3]"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("[4]"), std::string::npos) << e.message();
  }
}

// ---------------------------------------------------------------- in place

TEST(InPlace, AddBumpsVersionAndBroadcasts) {
  Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const uint64_t v0 = a.version();
  ops::add_(a, from_vector<float>({10, 20, 30, 40, 50, 60}, Shape{2, 3}));
  EXPECT_GT(a.version(), v0);
  EXPECT_CLOSE(a, {11, 22, 33, 44, 55, 66}, 0.0, 0.0);
  const uint64_t v1 = a.version();
  ops::add_(a, from_vector<float>({1, 2, 3}, Shape{3}), -2.0f);  // per-column
  EXPECT_GT(a.version(), v1);
  EXPECT_CLOSE(a, {9, 18, 27, 42, 51, 60}, 0.0, 0.0);
  ops::add_(a, from_vector<float>({100, 200}, Shape{2, 1}), 0.5f);  // per-row
  EXPECT_CLOSE(a, {59, 68, 77, 142, 151, 160}, 0.0, 0.0);
  ops::add_(a, scalar(1.0f));
  EXPECT_CLOSE(a, {60, 69, 78, 143, 152, 161}, 0.0, 0.0);
  // A view shares the version counter of its storage.
  const Tensor view = a.reshape({6});
  const uint64_t v2 = view.version();
  ops::add_(a, scalar(0.0f));
  EXPECT_GT(view.version(), v2);
}

TEST(InPlace, AddAgainstReferenceAtParallelLength) {
  Tensor a = testing::random_tensor(Shape{300, 128}, 21);
  const Tensor b = testing::random_tensor(Shape{128}, 22);
  const std::vector<double> expected =
      broadcast_ref(a, b, a.shape(), [](double x, double y) { return x + static_cast<double>(0.75f * static_cast<float>(y)); });
  ops::add_(a, b, 0.75f);
  EXPECT_CLOSE(a, expected, 1e-7, 1e-6);
  Tensor c = testing::random_tensor(Shape{40000}, 23);
  const Tensor d = testing::random_tensor(Shape{40000}, 24);
  const std::vector<double> e2 = broadcast_ref(c, d, c.shape(), [](double x, double y) { return x - 3.0 * y; });
  ops::add_(c, d, -3.0f);
  EXPECT_CLOSE(c, e2, 1e-6, 1e-6);
}

TEST(InPlace, MulBumpsVersion) {
  Tensor a = from_vector<float>({1, -2, 3.5f}, Shape{3});
  const uint64_t v0 = a.version();
  ops::mul_(a, -2.0f);
  EXPECT_GT(a.version(), v0);
  EXPECT_CLOSE(a, {-2, 4, -7}, 0.0, 0.0);
  Tensor big = testing::random_tensor(Shape{50000}, 31);
  const std::vector<double> src = to_doubles(big);
  ops::mul_(big, 0.1f);
  std::vector<double> expected;
  for (double v : src) expected.push_back(v * static_cast<double>(0.1f));
  EXPECT_CLOSE(big, expected, 1e-30, 1e-7);
}

TEST(InPlace, Errors) {
  Tensor a = zeros(Shape{3});
  EXPECT_THROW(ops::add_(a, zeros(Shape{2, 3})), Error);  // would grow the destination
  EXPECT_THROW(ops::add_(a, zeros(Shape{4})), Error);
  EXPECT_THROW(ops::add_(a, zeros(Shape{3}, DType::I64)), Error);
  Tensor i = zeros(Shape{3}, DType::I64);
  EXPECT_THROW(ops::mul_(i, 2.0f), Error);
  Tensor strided = zeros(Shape{3, 4}).transpose(0, 1);
  EXPECT_THROW(ops::add_(strided, zeros(Shape{4, 3})), Error);
  EXPECT_THROW(ops::mul_(strided, 2.0f), Error);
  // A failed check leaves the destination and its version untouched.
  const uint64_t v = a.version();
  EXPECT_THROW(ops::add_(a, zeros(Shape{4})), Error);
  EXPECT_EQ(a.version(), v);
}

}  // namespace
}  // namespace retort
