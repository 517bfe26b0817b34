// Gradient checks (central differences in double around the float forward) of
// every differentiable function in autograd/functions.h except convolution and
// pooling, plus hand-computed gradients at ties and kinks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

namespace ag = autograd;
using ag::Variable;
using Vars = std::vector<Variable>;
using testing::grad_check;
using testing::random_tensor;

// Values bounded away from 0 (for log, sqrt, div): |x| + 0.5.
Tensor positive(const Shape& s, uint64_t seed) { return ops::add_scalar(ops::abs(random_tensor(s, seed)), 0.5f); }
Tensor away_from_zero(const Shape& s, uint64_t seed) {
  const Tensor r = random_tensor(s, seed);
  return ops::add(r, ops::mul_scalar(ops::sign(r), 0.5f));
}

// ---------------------------------------------------------------- element-wise binary

struct BroadcastPair {
  Shape a, b;
};

const std::vector<BroadcastPair>& broadcast_pairs() {
  static const std::vector<BroadcastPair> pairs = {
      {Shape{3, 4}, Shape{3, 4}},        {Shape{2, 3, 4}, Shape{4}},    {Shape{4}, Shape{2, 3, 4}},
      {Shape{3, 1}, Shape{1, 4}},        {Shape{5, 1}, Shape{5, 6}},    {Shape{}, Shape{2, 3}},
      {Shape{2, 3}, Shape{}},            {Shape{2, 1, 4}, Shape{3, 1}}, {Shape{2, 3, 3, 5}, Shape{5}},
  };
  return pairs;
}

TEST(FunctionGrads, AddSubMulDivWithBroadcasting) {
  for (const BroadcastPair& p : broadcast_pairs()) {
    SCOPED_TRACE(p.a.str() + " with " + p.b.str());
    const Tensor a = random_tensor(p.a, 1), b = away_from_zero(p.b, 2);
    EXPECT_TRUE(grad_check([](const Vars& v) { return ag::add(v[0], v[1]); }, {a, b}));
    EXPECT_TRUE(grad_check([](const Vars& v) { return ag::sub(v[0], v[1]); }, {a, b}));
    EXPECT_TRUE(grad_check([](const Vars& v) { return ag::mul(v[0], v[1]); }, {a, b}));
    EXPECT_TRUE(grad_check([](const Vars& v) { return ag::div(v[0], v[1]); }, {a, b}));
  }
}

TEST(FunctionGrads, MaximumMinimumWithBroadcasting) {
  for (const BroadcastPair& p : broadcast_pairs()) {
    SCOPED_TRACE(p.a.str() + " with " + p.b.str());
    const Tensor a = random_tensor(p.a, 3), b = random_tensor(p.b, 4);
    EXPECT_TRUE(grad_check([](const Vars& v) { return ag::maximum(v[0], v[1]); }, {a, b}));
    EXPECT_TRUE(grad_check([](const Vars& v) { return ag::minimum(v[0], v[1]); }, {a, b}));
  }
}

TEST(FunctionGrads, MaximumMinimumTiesSplitTheGradient) {
  // PyTorch: equal inputs each receive half of the gradient.
  for (bool is_max : {true, false}) {
    Variable a(from_vector<float>({1, 2, 3}, Shape{3}), true), b(from_vector<float>({1, 5, 0}, Shape{3}), true);
    const Variable y = is_max ? ag::maximum(a, b) : ag::minimum(a, b);
    ag::backward({y}, {from_vector<float>({4, 4, 4}, Shape{3})});
    if (is_max) {
      EXPECT_CLOSE(a.grad(), {2, 0, 4}, 0.0, 0.0);
      EXPECT_CLOSE(b.grad(), {2, 4, 0}, 0.0, 0.0);
    } else {
      EXPECT_CLOSE(a.grad(), {2, 4, 0}, 0.0, 0.0);
      EXPECT_CLOSE(b.grad(), {2, 0, 4}, 0.0, 0.0);
    }
  }
  // Broadcast tie: a scalar equal to two of three elements.
  Variable s(scalar(2.0f), true), x(from_vector<float>({2, 1, 2}, Shape{3}), true);
  ag::backward({ag::maximum(x, s)}, {ones(Shape{3})});
  EXPECT_CLOSE(s.grad(), {0.5 + 1 + 0.5}, 0.0, 0.0);
  EXPECT_CLOSE(x.grad(), {0.5, 0, 0.5}, 0.0, 0.0);
}

TEST(FunctionGrads, OnlyTheInputsThatNeedIt) {
  // A constant operand gets no gradient; the other still does, reduced to its shape.
  Variable a(random_tensor(Shape{2, 3}, 5), true), b(random_tensor(Shape{3}, 6), false);
  ag::backward({ag::sum(ag::mul(a, b))});
  EXPECT_FALSE(b.grad().defined());
  std::vector<double> expected;
  const std::vector<double> bv = testing::to_doubles(b.value());
  for (int i = 0; i < 6; ++i) expected.push_back(bv[i % 3]);
  EXPECT_CLOSE(a.grad(), expected, 0.0, 0.0);
}

// ---------------------------------------------------------------- element-wise unary

TEST(FunctionGrads, Unary) {
  const Shape s{4, 5};
  const Tensor x = random_tensor(s, 7, 2.0f), p = positive(s, 8);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::neg(v[0]); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::exp(v[0]); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::log(v[0]); }, {p}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::sqrt(v[0]); }, {p}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::abs(v[0]); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::relu(v[0]); }, {x}));
  // relu6 needs values on both sides of 6.
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::relu6(v[0]); }, {ops::mul_scalar(x, 4.0f)}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::sigmoid(v[0]); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::tanh(v[0]); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::square(v[0]); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::add_scalar(v[0], 3.5f); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::mul_scalar(v[0], -1.75f); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::pow_scalar(v[0], 2.5f); }, {p}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::pow_scalar(v[0], -0.5f); }, {p}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::pow_scalar(v[0], 3.0f); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::pow_scalar(v[0], 0.0f); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::clamp(v[0], -1.0f, 1.5f); }, {x}));
}

TEST(FunctionGrads, UnaryAtKinks) {
  // relu and abs pass nothing at exactly 0; clamp passes at its (inclusive) bounds;
  // relu6 passes strictly inside (0, 6).
  const Tensor x = from_vector<float>({-1, 0, 2, 6, 7}, Shape{5});
  const Tensor g = from_vector<float>({1, 1, 1, 1, 1}, Shape{5});
  auto grad_of = [&](Variable (*f)(const Variable&)) {
    Variable v(x.clone(), true);
    ag::backward({f(v)}, {g});
    return v.grad();
  };
  EXPECT_CLOSE(grad_of(&ag::relu), {0, 0, 1, 1, 1}, 0.0, 0.0);
  EXPECT_CLOSE(grad_of(&ag::relu6), {0, 0, 1, 0, 0}, 0.0, 0.0);
  EXPECT_CLOSE(grad_of(&ag::abs), {-1, 0, 1, 1, 1}, 0.0, 0.0);
  Variable c(x.clone(), true);
  ag::backward({ag::clamp(c, 0.0f, 6.0f)}, {g});
  EXPECT_CLOSE(c.grad(), {0, 1, 1, 1, 0}, 0.0, 0.0);
}

// ---------------------------------------------------------------- reductions

TEST(FunctionGrads, Reductions) {
  const Tensor x = random_tensor(Shape{3, 4, 5}, 9);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::sum(v[0]); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::mean(v[0]); }, {x}));
  for (int dim : {0, 1, 2, -1})
    for (bool keep : {false, true}) {
      SCOPED_TRACE(std::to_string(dim) + (keep ? " keepdim" : ""));
      EXPECT_TRUE(grad_check([dim, keep](const Vars& v) { return ag::sum(v[0], dim, keep); }, {x}));
      EXPECT_TRUE(grad_check([dim, keep](const Vars& v) { return ag::mean(v[0], dim, keep); }, {x}));
      EXPECT_TRUE(grad_check([dim, keep](const Vars& v) { return ag::max(v[0], dim, keep); }, {x}));
    }
}

TEST(FunctionGrads, MaxSendsTheGradientToTheFirstMaximum) {
  Variable x(from_vector<float>({1, 5, 5, 7, -1, 7}, Shape{2, 3}), true);
  ag::backward({ag::max(x, 1)}, {from_vector<float>({2, 3}, Shape{2})});
  EXPECT_CLOSE(x.grad(), {0, 2, 0, 3, 0, 0}, 0.0, 0.0);
}

// ---------------------------------------------------------------- layout

TEST(FunctionGrads, ReshapePermuteNarrow) {
  const Tensor x = random_tensor(Shape{2, 3, 4}, 10);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::reshape(v[0], {4, -1}); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::reshape(v[0], {24}); }, {x}));
  for (const std::vector<int>& order : {std::vector<int>{2, 0, 1}, std::vector<int>{1, 2, 0},
                                        std::vector<int>{0, 2, 1}, std::vector<int>{-1, 0, 1}}) {
    EXPECT_TRUE(grad_check([order](const Vars& v) { return ag::permute(v[0], order); }, {x}));
  }
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::narrow(v[0], 0, 1, 1); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::narrow(v[0], 1, 1, 2); }, {x}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::narrow(v[0], -1, 0, 3); }, {x}));
  // A chain: the gradient of a permuted view's square goes back through the inverse permutation.
  EXPECT_TRUE(grad_check(
      [](const Vars& v) { return ag::square(ag::reshape(ag::permute(v[0], {2, 0, 1}), {4, 6})); }, {x}));
}

TEST(FunctionGrads, CatSplit) {
  const Tensor a = random_tensor(Shape{2, 3, 4}, 11), b = random_tensor(Shape{2, 1, 4}, 12),
               c = random_tensor(Shape{2, 2, 4}, 13);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::cat(v, 1); }, {a, b, c}));
  const Tensor d = random_tensor(Shape{1, 3, 4}, 14);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::cat(v, 0); }, {a, d}));
  const Tensor e = random_tensor(Shape{2, 3, 2}, 15);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::cat(v, -1); }, {a, e}));
  // Every piece used, in a different order and scaled.
  EXPECT_TRUE(grad_check(
      [](const Vars& v) {
        const std::vector<Variable> p = ag::split(v[0], {1, 2, 1}, 2);
        return ag::cat({ag::mul_scalar(p[2], 2.0f), p[0], ag::square(p[1])}, 2);
      },
      {a}));
  // A piece that is never used gets a zero gradient.
  EXPECT_TRUE(grad_check(
      [](const Vars& v) {
        const std::vector<Variable> p = ag::split(v[0], {2, 3, 3}, -1);
        return ag::cat({p[0], p[2]}, -1);
      },
      {random_tensor(Shape{3, 8}, 16)}));
  Variable x(random_tensor(Shape{3, 8}, 17), true);
  const std::vector<Variable> p = ag::split(x, {2, 3, 3}, -1);
  ag::backward({ag::sum(p[1])});
  std::vector<double> expected;
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 8; ++k) expected.push_back(k >= 2 && k < 5 ? 1.0 : 0.0);
  EXPECT_CLOSE(x.grad(), expected, 0.0, 0.0);
}

TEST(FunctionGrads, ChannelShufflePadCrop) {
  const Tensor x = random_tensor(Shape{2, 3, 3, 12}, 18);
  for (int64_t g : {1, 2, 3, 4, 12}) {
    SCOPED_TRACE(g);
    EXPECT_TRUE(grad_check([g](const Vars& v) { return ag::channel_shuffle(v[0], g); }, {x}));
  }
  const Tensor img = random_tensor(Shape{2, 4, 5, 3}, 19);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::pad2d(v[0], 1, 2, 0, 3); }, {img}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::crop2d(v[0], 1, 2, 2, 3); }, {img}));
  const Tensor hwc = random_tensor(Shape{4, 5, 3}, 20);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::pad2d(v[0], 2, 0, 1, 1); }, {hwc}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::crop2d(v[0], 0, 1, 4, 3); }, {hwc}));
}

// ---------------------------------------------------------------- layers

TEST(FunctionGrads, MatmulAllTransposes) {
  const int64_t M = 5, K = 7, N = 4;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(std::string(ta ? "T" : "N") + (tb ? "T" : "N"));
      const Tensor a = random_tensor(ta ? Shape{K, M} : Shape{M, K}, 21);
      const Tensor b = random_tensor(tb ? Shape{N, K} : Shape{K, N}, 22);
      EXPECT_TRUE(grad_check([ta, tb](const Vars& v) { return ag::matmul(v[0], v[1], ta, tb); }, {a, b}));
    }
}

TEST(FunctionGrads, LinearWithAndWithoutBias) {
  const Tensor x = random_tensor(Shape{6, 5}, 23), w = random_tensor(Shape{3, 5}, 24), b = random_tensor(Shape{3}, 25);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::linear(v[0], v[1], v[2]); }, {x, w, b}));
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::linear(v[0], v[1], Variable()); }, {x, w}));
}

TEST(FunctionGrads, BatchNormTrainingAndEval) {
  const Shape s{3, 2, 2, 4};
  // Distinct per-channel means and spreads.
  const Tensor x = ops::add(ops::mul(random_tensor(s, 26), from_vector<float>({0.5f, 1, 2, 1.5f}, Shape{4})),
                            from_vector<float>({0.3f, -1, 2, 0}, Shape{4}));
  const Tensor gamma = random_tensor(Shape{4}, 27), beta = random_tensor(Shape{4}, 28);
  EXPECT_TRUE(grad_check(
      [](const Vars& v) {
        Tensor rm = zeros(Shape{4}), rv = ones(Shape{4});
        return ag::batch_norm(v[0], v[1], v[2], rm, rv, /*training=*/true);
      },
      {x, gamma, beta}));
  // A [B, C] input (BatchNorm1d-like) in training mode.
  EXPECT_TRUE(grad_check(
      [](const Vars& v) {
        Tensor rm = zeros(Shape{4}), rv = ones(Shape{4});
        return ag::batch_norm(v[0], v[1], v[2], rm, rv, true);
      },
      {random_tensor(Shape{5, 4}, 29), gamma, beta}));
  Tensor rm = random_tensor(Shape{4}, 30);
  Tensor rv = positive(Shape{4}, 31);
  EXPECT_TRUE(grad_check(
      [&rm, &rv](const Vars& v) { return ag::batch_norm(v[0], v[1], v[2], rm, rv, /*training=*/false); },
      {x, gamma, beta}));
}

// The fused batch norm + ReLU gives the bits of the pair it replaces: outputs,
// running statistics and the gradients of x, gamma and beta, in both modes.
TEST(FunctionGrads, BatchNormReluEqualsBatchNormThenRelu) {
  const Shape s{4, 3, 5, 6};
  const Tensor x0 = random_tensor(s, 40), w = random_tensor(s, 41);
  const Tensor g0 = random_tensor(Shape{6}, 42), b0 = random_tensor(Shape{6}, 43);
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "evaluation");
    struct Run {
      Tensor y, rm, rv, dx, dg, db;
    };
    auto run = [&](bool fused) {
      Run r;
      r.rm = random_tensor(Shape{6}, 44);
      r.rv = ops::add(ops::mul(random_tensor(Shape{6}, 45), random_tensor(Shape{6}, 45)), ones(Shape{6}));
      Variable x(x0.clone(), true), g(g0.clone(), true), b(b0.clone(), true);
      const Variable y = fused ? ag::batch_norm(x, g, b, r.rm, r.rv, training, 0.1, 1e-5, /*relu=*/true)
                               : ag::relu(ag::batch_norm(x, g, b, r.rm, r.rv, training, 0.1, 1e-5));
      ag::sum(ag::mul(y, Variable(w))).backward();
      r.y = y.value();
      r.dx = x.grad();
      r.dg = g.grad();
      r.db = b.grad();
      return r;
    };
    const Run fused = run(true), pair = run(false);
    // Many outputs are clipped and many are not, so the mask matters.
    const std::vector<float> y = fused.y.to_vector<float>();
    const auto zeros_out = std::count(y.begin(), y.end(), 0.0f);
    EXPECT_GT(zeros_out, static_cast<long>(y.size() / 10));
    EXPECT_LT(zeros_out, static_cast<long>(9 * y.size() / 10));
    EXPECT_EQ(y, pair.y.to_vector<float>());
    EXPECT_EQ(fused.rm.to_vector<float>(), pair.rm.to_vector<float>());
    EXPECT_EQ(fused.rv.to_vector<float>(), pair.rv.to_vector<float>());
    EXPECT_EQ(fused.dx.to_vector<float>(), pair.dx.to_vector<float>());
    EXPECT_EQ(fused.dg.to_vector<float>(), pair.dg.to_vector<float>());
    EXPECT_EQ(fused.db.to_vector<float>(), pair.db.to_vector<float>());
  }
}

// relu(a + b) fused: its gradients by central differences, and the bits of the
// add-then-relu pair it replaces (values and both gradients).
TEST(FunctionGrads, AddReluEqualsAddThenRelu) {
  const Shape s{3, 4, 5};
  const Tensor a0 = random_tensor(s, 50, 2.0f), b0 = random_tensor(s, 51, 2.0f), w = random_tensor(s, 52);
  EXPECT_TRUE(grad_check([](const Vars& v) { return ag::add_relu(v[0], v[1]); }, {a0, b0}));
  Tensor y[2], da[2], db[2];
  for (int fused = 0; fused < 2; ++fused) {
    Variable a(a0.clone(), true), b(b0.clone(), true);
    const Variable out = fused ? ag::add_relu(a, b) : ag::relu(ag::add(a, b));
    ag::sum(ag::mul(out, Variable(w))).backward();
    y[fused] = out.value();
    da[fused] = a.grad();
    db[fused] = b.grad();
  }
  const std::vector<float> yv = y[1].to_vector<float>();
  const auto clipped = std::count(yv.begin(), yv.end(), 0.0f);
  EXPECT_GT(clipped, static_cast<long>(yv.size() / 10));
  EXPECT_LT(clipped, static_cast<long>(9 * yv.size() / 10));
  EXPECT_EQ(yv, y[0].to_vector<float>());
  EXPECT_EQ(da[1].to_vector<float>(), da[0].to_vector<float>());
  EXPECT_EQ(db[1].to_vector<float>(), db[0].to_vector<float>());
  // Only the operand that needs a gradient gets one.
  Variable a(a0.clone(), true), c(b0.clone(), false);
  ag::sum(ag::add_relu(a, c)).backward();
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(c.grad().defined());
}

TEST(FunctionGrads, BatchNormTrainingUpdatesRunningStatsOnce) {
  Tensor rm = zeros(Shape{2}), rv = ones(Shape{2});
  Variable x(from_vector<float>({1, 0, 3, 0}, Shape{2, 2}), true);
  Variable g(ones(Shape{2}), true), b(zeros(Shape{2}), true);
  const Variable y = ag::batch_norm(x, g, b, rm, rv, true);
  EXPECT_CLOSE(rm, {0.2, 0.0}, 0.0, 1e-7);
  EXPECT_CLOSE(rv, {0.9 + 0.1 * 2.0, 0.9}, 0.0, 1e-7);  // unbiased variance of (1, 3) is 2
  ag::backward({ag::sum(y)});
  EXPECT_CLOSE(rm, {0.2, 0.0}, 0.0, 1e-7);  // backward does not touch them
  // dbeta = sum dy = 2 per channel; dgamma = sum xhat = 0.
  EXPECT_CLOSE(b.grad(), {2, 2}, 0.0, 0.0);
  EXPECT_CLOSE(g.grad(), {0, 0}, 1e-6, 0.0);
}

TEST(FunctionGrads, Dropout) {
  const Tensor x = random_tensor(Shape{6, 7}, 32);
  // The generator is re-created inside, so every evaluation draws the same mask.
  EXPECT_TRUE(grad_check(
      [](const Vars& v) {
        Generator gen(1234);
        return ag::dropout(v[0], 0.4f, gen, true);
      },
      {x}));
  // The gradient is the mask itself.
  Generator g1(99), g2(99);
  Variable v(x.clone(), true);
  ag::backward({ag::dropout(v, 0.4f, g1, true)}, {ones(Shape{6, 7})});
  EXPECT_CLOSE(v.grad(), ops::dropout(x, 0.4f, g2).mask, 0.0, 0.0);
  // Evaluation mode and p = 0 are the identity (the same variable).
  Generator g3(1);
  Variable w(x.clone(), true);
  EXPECT_EQ(ag::dropout(w, 0.4f, g3, false).impl(), w.impl());
  EXPECT_EQ(ag::dropout(w, 0.0f, g3, true).impl(), w.impl());
  EXPECT_EQ(g3.offset(), 0u);
}

// ---------------------------------------------------------------- softmax and losses

TEST(FunctionGrads, SoftmaxLogSoftmaxAtTemperatures) {
  const Tensor x = random_tensor(Shape{4, 6}, 33, 2.0f);
  const Tensor x3 = random_tensor(Shape{2, 3, 5}, 34, 2.0f);
  for (float T : {1.0f, 4.0f}) {
    SCOPED_TRACE(T);
    EXPECT_TRUE(grad_check([T](const Vars& v) { return ag::softmax(v[0], T); }, {x}));
    EXPECT_TRUE(grad_check([T](const Vars& v) { return ag::log_softmax(v[0], T); }, {x}));
    EXPECT_TRUE(grad_check([T](const Vars& v) { return ag::softmax(v[0], T); }, {x3}));
    EXPECT_TRUE(grad_check([T](const Vars& v) { return ag::log_softmax(v[0], T); }, {x3}));
  }
}

TEST(FunctionGrads, CrossEntropyWithAndWithoutLabelSmoothing) {
  const Tensor z = random_tensor(Shape{5, 7}, 35, 2.0f);
  const Tensor labels = from_vector<int64_t>({0, 6, 3, 3, 1}, Shape{5});
  for (float s : {0.0f, 0.1f, 0.5f}) {
    SCOPED_TRACE(s);
    EXPECT_TRUE(grad_check([&labels, s](const Vars& v) { return ag::cross_entropy(v[0], labels, s); }, {z}));
  }
  // Scaled loss: the upstream gradient multiplies through.
  EXPECT_TRUE(grad_check(
      [&labels](const Vars& v) { return ag::mul_scalar(ag::cross_entropy(v[0], labels, 0.2f), -3.0f); }, {z}));
  // Composite: CE of a linear layer, gradients w.r.t. input, weight and bias.
  const Tensor x = random_tensor(Shape{5, 4}, 36), w = random_tensor(Shape{7, 4}, 37), b = random_tensor(Shape{7}, 38);
  EXPECT_TRUE(grad_check(
      [&labels](const Vars& v) { return ag::cross_entropy(ag::linear(v[0], v[1], v[2]), labels, 0.1f); }, {x, w, b}));
}

TEST(FunctionGrads, CrossEntropyHandComputedGradient) {
  // z = [[0, ln 3]], label 1: dCE/dz = softmax - onehot = [1/4, -1/4].
  Variable z(from_vector<float>({0.0f, static_cast<float>(std::log(3.0))}, Shape{1, 2}), true);
  const Variable loss = ag::cross_entropy(z, from_vector<int64_t>({1}, Shape{1}));
  EXPECT_CLOSE(loss.value(), {-std::log(0.75)}, 0.0, 1e-6);
  loss.backward();
  EXPECT_CLOSE(z.grad(), {0.25, -0.25}, 1e-7, 1e-6);
}

}  // namespace
}  // namespace retort
