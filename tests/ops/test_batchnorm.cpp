// Batch norm (PyTorch semantics, channels last) against a double reference:
// training forward and statistics, running-statistics updates (unbiased
// variance, momentum 0.1), evaluation forward, both backward passes, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::to_doubles;

// Everything about one channels-last batch, in double.
struct Ref {
  int64_t M = 0, C = 0;
  std::vector<double> mean, var_b, invstd, y;
};

Ref ref_train_forward(const std::vector<double>& x, const std::vector<double>& g, const std::vector<double>& b,
                      int64_t C, double eps) {
  Ref r;
  r.C = C;
  r.M = static_cast<int64_t>(x.size()) / C;
  r.mean.assign(C, 0.0);
  r.var_b.assign(C, 0.0);
  r.invstd.assign(C, 0.0);
  for (int64_t m = 0; m < r.M; ++m)
    for (int64_t c = 0; c < C; ++c) r.mean[c] += x[m * C + c];
  for (int64_t c = 0; c < C; ++c) r.mean[c] /= r.M;
  for (int64_t m = 0; m < r.M; ++m)
    for (int64_t c = 0; c < C; ++c) r.var_b[c] += (x[m * C + c] - r.mean[c]) * (x[m * C + c] - r.mean[c]);
  for (int64_t c = 0; c < C; ++c) {
    r.var_b[c] /= r.M;
    r.invstd[c] = 1.0 / std::sqrt(r.var_b[c] + eps);
  }
  r.y.resize(x.size());
  for (int64_t m = 0; m < r.M; ++m)
    for (int64_t c = 0; c < C; ++c) r.y[m * C + c] = g[c] * (x[m * C + c] - r.mean[c]) * r.invstd[c] + b[c];
  return r;
}

std::vector<double> ref_eval_forward(const std::vector<double>& x, const std::vector<double>& g,
                                     const std::vector<double>& b, const std::vector<double>& rm,
                                     const std::vector<double>& rv, int64_t C, double eps) {
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t c = static_cast<int64_t>(i) % C;
    y[i] = g[c] * (x[i] - rm[c]) / std::sqrt(rv[c] + eps) + b[c];
  }
  return y;
}

struct RefGrads {
  std::vector<double> dx, dgamma, dbeta;
};

// Adjoint of the training forward: with xh = (x - mean) invstd,
// dx = g invstd (dy - mean(dy) - xh mean(dy xh)), dgamma = sum dy xh, dbeta = sum dy.
RefGrads ref_train_backward(const std::vector<double>& dy, const std::vector<double>& x, const std::vector<double>& g,
                            int64_t C, double eps) {
  const Ref f = ref_train_forward(x, g, std::vector<double>(C, 0.0), C, eps);
  RefGrads r;
  r.dgamma.assign(C, 0.0);
  r.dbeta.assign(C, 0.0);
  for (int64_t m = 0; m < f.M; ++m)
    for (int64_t c = 0; c < C; ++c) {
      const double xh = (x[m * C + c] - f.mean[c]) * f.invstd[c];
      r.dgamma[c] += dy[m * C + c] * xh;
      r.dbeta[c] += dy[m * C + c];
    }
  r.dx.resize(x.size());
  for (int64_t m = 0; m < f.M; ++m)
    for (int64_t c = 0; c < C; ++c) {
      const double xh = (x[m * C + c] - f.mean[c]) * f.invstd[c];
      r.dx[m * C + c] = g[c] * f.invstd[c] * (dy[m * C + c] - r.dbeta[c] / f.M - xh * r.dgamma[c] / f.M);
    }
  return r;
}

// Adjoint of the evaluation forward (running statistics are constants).
RefGrads ref_eval_backward(const std::vector<double>& dy, const std::vector<double>& x, const std::vector<double>& g,
                           const std::vector<double>& rm, const std::vector<double>& rv, int64_t C, double eps) {
  RefGrads r;
  r.dgamma.assign(C, 0.0);
  r.dbeta.assign(C, 0.0);
  r.dx.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t c = static_cast<int64_t>(i) % C;
    const double inv = 1.0 / std::sqrt(rv[c] + eps);
    r.dx[i] = dy[i] * g[c] * inv;
    r.dgamma[c] += dy[i] * (x[i] - rm[c]) * inv;
    r.dbeta[c] += dy[i];
  }
  return r;
}

// Per-channel inputs with distinct means and scales.
Tensor batch(const Shape& s, uint64_t seed, double offset = 0.0) {
  Tensor x = testing::random_tensor(s, seed);
  const int64_t C = s[s.ndim() - 1];
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = i % C;
    p[i] = static_cast<float>(p[i] * (0.5 + 0.25 * c) + offset + 0.3 * c - 0.4);
  }
  return x;
}

TEST(BatchNorm, HandComputedTwoSteps) {
  // x [4, 2]: channel 0 = 1, 2, 3, 4; channel 1 constant 3.
  const Tensor x1 = from_vector<float>({1, 3, 2, 3, 3, 3, 4, 3}, Shape{4, 2});
  const Tensor gamma = from_vector<float>({2.0f, 0.5f}, Shape{2});
  const Tensor beta = from_vector<float>({1.0f, -1.0f}, Shape{2});
  Tensor rm = zeros(Shape{2}), rv = ones(Shape{2});
  const uint64_t vm = rm.version(), vv = rv.version();
  const ops::BatchNormOutput o1 = ops::batch_norm_train(x1, gamma, beta, rm, rv, 0.1, 1e-5);
  EXPECT_GT(rm.version(), vm);
  EXPECT_GT(rv.version(), vv);
  // mean 2.5, biased variance 1.25: y = 1 + 2 (x - 2.5)/sqrt(1.25 + 1e-5); constant channel -> beta.
  const double s = 2.0 / std::sqrt(1.25 + 1e-5);
  EXPECT_CLOSE(o1.y, {1 - 1.5 * s, -1, 1 - 0.5 * s, -1, 1 + 0.5 * s, -1, 1 + 1.5 * s, -1}, 1e-6, 1e-6);
  EXPECT_CLOSE(o1.save_mean, {2.5, 3.0}, 0.0, 0.0);
  EXPECT_CLOSE(o1.save_invstd, {1.0 / std::sqrt(1.25 + 1e-5), 1.0 / std::sqrt(1e-5)}, 0.0, 1e-7);
  // running_mean = 0.1 mean = [0.25, 0.3]; running_var = 0.9 + 0.1 * unbiased var (5/3 and 0).
  EXPECT_CLOSE(rm, {0.25, 0.3}, 0.0, 1e-7);
  EXPECT_CLOSE(rv, {0.9 + 0.1 * 5.0 / 3.0, 0.9}, 0.0, 1e-7);

  // Step 2: channel 0 = 2, 4, 6, 8 (mean 5, unbiased var 20/3); channel 1 = 1, 1, 1, 5 (mean 2, unbiased var 4).
  const Tensor x2 = from_vector<float>({2, 1, 4, 1, 6, 1, 8, 5}, Shape{4, 2});
  ops::batch_norm_train(x2, gamma, beta, rm, rv, 0.1, 1e-5);
  EXPECT_CLOSE(rm, {0.9 * 0.25 + 0.5, 0.9 * 0.3 + 0.2}, 0.0, 1e-7);                      // [0.725, 0.47]
  EXPECT_CLOSE(rv, {0.9 * (0.9 + 0.5 / 3.0) + 2.0 / 3.0, 0.9 * 0.9 + 0.4}, 0.0, 1e-7);  // [1.62667, 1.21]

  // Evaluation with chosen statistics, eps 0: ch0 2 (3 - 1)/2 + 1 = 3, ch1 0.5 (0 + 1)/0.5 - 1 = 0.
  const Tensor y = ops::batch_norm_eval(from_vector<float>({3, 0}, Shape{1, 2}), gamma, beta,
                                        from_vector<float>({1, -1}, Shape{2}), from_vector<float>({4, 0.25f}, Shape{2}),
                                        0.0);
  EXPECT_CLOSE(y, {3, 0}, 0.0, 0.0);
}

TEST(BatchNorm, TrainingForwardAndRunningStatsAgainstReference) {
  // C = 24, 64 and 100 run the CPU's groups of 3 and 8 blocks of 8 channels, and 8 + 4 blocks
  // and a scalar tail of 4.
  for (const Shape& s : {Shape{2, 3, 3, 4}, Shape{8, 16, 16, 8}, Shape{5, 3}, Shape{2, 1, 1, 7}, Shape{3, 4, 4, 24},
                         Shape{2, 5, 5, 64}, Shape{2, 3, 4, 100}}) {
    SCOPED_TRACE(s.str());
    const int64_t C = s[s.ndim() - 1];
    const Tensor x = batch(s, 3);
    const Tensor gamma = testing::random_tensor(Shape{C}, 4), beta = testing::random_tensor(Shape{C}, 5);
    Tensor rm = testing::random_tensor(Shape{C}, 6);
    Tensor rv = ops::add_scalar(ops::abs(testing::random_tensor(Shape{C}, 7)), 0.5f);
    const std::vector<double> rm0 = to_doubles(rm), rv0 = to_doubles(rv);
    const double momentum = 0.1, eps = 1e-5;
    const Ref r = ref_train_forward(to_doubles(x), to_doubles(gamma), to_doubles(beta), C, eps);
    const ops::BatchNormOutput o = ops::batch_norm_train(x, gamma, beta, rm, rv, momentum, eps);
    EXPECT_EQ(o.y.shape(), s);
    EXPECT_CLOSE(o.y, r.y, 1e-6, 1e-5);
    EXPECT_CLOSE(o.save_mean, r.mean, 1e-7, 1e-6);
    EXPECT_CLOSE(o.save_invstd, r.invstd, 0.0, 1e-6);
    std::vector<double> erm(C), erv(C);
    for (int64_t c = 0; c < C; ++c) {
      erm[c] = (1 - momentum) * rm0[c] + momentum * r.mean[c];
      erv[c] = (1 - momentum) * rv0[c] + momentum * r.var_b[c] * r.M / (r.M - 1);
    }
    EXPECT_CLOSE(rm, erm, 1e-7, 1e-6);
    EXPECT_CLOSE(rv, erv, 0.0, 1e-6);
  }
}

TEST(BatchNorm, LargeMeanSmallSpread) {
  // |mean| >> std: the variance must not cancel away (sums around a pivot, in double).
  const Tensor x = batch(Shape{4, 8, 8, 3}, 9, 1000.0);
  const int64_t C = 3;
  const Tensor gamma = ones(Shape{C}), beta = zeros(Shape{C});
  Tensor rm = zeros(Shape{C}), rv = ones(Shape{C});
  const std::vector<double> xd = to_doubles(x);
  const Ref r = ref_train_forward(xd, {1, 1, 1}, {0, 0, 0}, C, 1e-5);
  const ops::BatchNormOutput o = ops::batch_norm_train(x, gamma, beta, rm, rv, 0.1, 1e-5);
  EXPECT_CLOSE(o.save_invstd, r.invstd, 0.0, 1e-6);
  EXPECT_CLOSE(rv, {0.9 + 0.1 * r.var_b[0] * r.M / (r.M - 1), 0.9 + 0.1 * r.var_b[1] * r.M / (r.M - 1),
                    0.9 + 0.1 * r.var_b[2] * r.M / (r.M - 1)},
               0.0, 1e-6);
  // y = x*scale + shift in float cancels |x| * scale ~ 1000/std: the bound scales with that conditioning.
  double cond = 0.0;
  for (size_t i = 0; i < xd.size(); ++i) cond = std::max(cond, std::fabs(xd[i]) * r.invstd[i % C]);
  EXPECT_CLOSE(o.y, r.y, 4 * 6e-8 * cond, 1e-5);
}

// The statistics are sums around the first row's value. Here that value is an
// outlier, over a hundred of the other values' standard deviations off their
// mean of 1000 (63 above it in channel 0, 200 below in channel 1): mean and
// variance still match the double reference to float precision.
TEST(BatchNorm, FirstRowFarFromTheMean) {
  Tensor x = batch(Shape{16, 16, 16, 2}, 10, 1000.0);
  x.data<float>()[0] += 63.0f;
  x.data<float>()[1] -= 200.0f;
  const int64_t C = 2;
  Tensor rm = zeros(Shape{C}), rv = ones(Shape{C});
  const Ref r = ref_train_forward(to_doubles(x), {1, 1}, {0, 0}, C, 1e-5);
  const ops::BatchNormOutput o = ops::batch_norm_train(x, ones(Shape{C}), zeros(Shape{C}), rm, rv, 0.1, 1e-5);
  EXPECT_CLOSE(o.save_mean, r.mean, 0.0, 1e-7);
  EXPECT_CLOSE(o.save_invstd, r.invstd, 0.0, 1e-7);
  EXPECT_CLOSE(rv, {0.9 + 0.1 * r.var_b[0] * r.M / (r.M - 1), 0.9 + 0.1 * r.var_b[1] * r.M / (r.M - 1)}, 0.0, 1e-7);
}

TEST(BatchNorm, EvalForwardAgainstReference) {
  const Shape s{3, 4, 5, 6};
  const int64_t C = 6;
  const Tensor x = batch(s, 11);
  const Tensor gamma = testing::random_tensor(Shape{C}, 12), beta = testing::random_tensor(Shape{C}, 13);
  const Tensor rm = testing::random_tensor(Shape{C}, 14);
  const Tensor rv = ops::add_scalar(ops::abs(testing::random_tensor(Shape{C}, 15)), 0.1f);
  const std::vector<double> ref =
      ref_eval_forward(to_doubles(x), to_doubles(gamma), to_doubles(beta), to_doubles(rm), to_doubles(rv), C, 1e-5);
  EXPECT_CLOSE(ops::batch_norm_eval(x, gamma, beta, rm, rv, 1e-5), ref, 1e-6, 1e-5);
  // A strided input is read in logical order; a single row is fine in evaluation.
  const Tensor xt = batch(Shape{6, 10}, 16).transpose(0, 1);  // [10, 6] view
  EXPECT_FALSE(xt.is_contiguous());
  EXPECT_CLOSE(ops::batch_norm_eval(xt, gamma, beta, rm, rv, 1e-5),
               ref_eval_forward(to_doubles(xt), to_doubles(gamma), to_doubles(beta), to_doubles(rm), to_doubles(rv),
                                C, 1e-5),
               1e-6, 1e-5);
  const Tensor one = batch(Shape{1, 6}, 17);
  EXPECT_NO_THROW(ops::batch_norm_eval(one, gamma, beta, rm, rv, 1e-5));
}

TEST(BatchNorm, ReferenceAdjointsMatchFiniteDifferences) {
  // Validates the double reference itself: L = sum(w * y) differentiated numerically in double.
  const int64_t C = 3;
  const std::vector<double> x = to_doubles(batch(Shape{2, 2, 2, C}, 21));
  const std::vector<double> g = {1.5, -0.7, 0.9}, b = {0.1, 0.2, -0.3};
  const std::vector<double> w = to_doubles(testing::random_tensor(Shape{24}, 22));
  const std::vector<double> rm = {0.2, -0.1, 0.4}, rv = {1.3, 0.6, 2.0};
  for (bool train : {true, false}) {
    auto loss = [&](const std::vector<double>& xx, const std::vector<double>& gg, const std::vector<double>& bb) {
      const std::vector<double> y =
          train ? ref_train_forward(xx, gg, bb, C, 1e-5).y : ref_eval_forward(xx, gg, bb, rm, rv, C, 1e-5);
      double s = 0.0;
      for (size_t i = 0; i < y.size(); ++i) s += w[i] * y[i];
      return s;
    };
    const RefGrads r = train ? ref_train_backward(w, x, g, C, 1e-5) : ref_eval_backward(w, x, g, rm, rv, C, 1e-5);
    const double h = 1e-6;
    for (size_t i = 0; i < x.size(); ++i) {
      std::vector<double> xp = x, xm = x;
      xp[i] += h;
      xm[i] -= h;
      EXPECT_NEAR(r.dx[i], (loss(xp, g, b) - loss(xm, g, b)) / (2 * h), 1e-7) << (train ? "train" : "eval") << " x" << i;
    }
    for (int64_t c = 0; c < C; ++c) {
      std::vector<double> gp = g, gm = g, bp = b, bm = b;
      gp[c] += h;
      gm[c] -= h;
      bp[c] += h;
      bm[c] -= h;
      EXPECT_NEAR(r.dgamma[c], (loss(x, gp, b) - loss(x, gm, b)) / (2 * h), 1e-7);
      EXPECT_NEAR(r.dbeta[c], (loss(x, g, bp) - loss(x, g, bm)) / (2 * h), 1e-7);
    }
  }
}

TEST(BatchNorm, TrainingBackwardAgainstReference) {
  for (const Shape& s : {Shape{2, 3, 3, 4}, Shape{8, 16, 16, 8}, Shape{2, 3}, Shape{3, 4, 4, 24}, Shape{2, 5, 5, 64},
                         Shape{2, 3, 4, 100}}) {
    SCOPED_TRACE(s.str());
    const int64_t C = s[s.ndim() - 1];
    const Tensor x = batch(s, 31);
    const Tensor dy = testing::random_tensor(s, 32);
    const Tensor gamma = testing::random_tensor(Shape{C}, 33), beta = testing::random_tensor(Shape{C}, 34);
    Tensor rm = zeros(Shape{C}), rv = ones(Shape{C});
    const ops::BatchNormOutput o = ops::batch_norm_train(x, gamma, beta, rm, rv, 0.1, 1e-5);
    const ops::BatchNormGrads gr = ops::batch_norm_backward(dy, x, gamma, o.save_mean, o.save_invstd);
    const std::vector<double> dyv = to_doubles(dy), gv = to_doubles(gamma);
    const RefGrads r = ref_train_backward(dyv, to_doubles(x), gv, C, 1e-5);
    // dx is a difference of terms of size |gamma invstd dy| that cancel almost fully
    // when M is small (M = 2: xhat = +-1 and dx ~ eps): the float error scales with the terms.
    const Ref f = ref_train_forward(to_doubles(x), gv, std::vector<double>(C, 0.0), C, 1e-5);
    double terms = 0.0;
    for (size_t i = 0; i < dyv.size(); ++i) terms = std::max(terms, std::fabs(gv[i % C] * f.invstd[i % C] * dyv[i]));
    EXPECT_CLOSE(gr.dx, r.dx, 1e-6 * terms, 1e-5);
    EXPECT_CLOSE(gr.dgamma, r.dgamma, 1e-5, 1e-5);
    EXPECT_CLOSE(gr.dbeta, r.dbeta, 1e-5, 1e-6);
    EXPECT_EQ(gr.dx.shape(), s);
    EXPECT_EQ(gr.dgamma.shape(), Shape{C});
    EXPECT_EQ(gr.dbeta.shape(), Shape{C});
  }
  // Hand case: x = 1, 2, 3, 4 (one channel), gamma 1, dy = (1, 0, 0, 0). With inv = 1/sqrt(1.25 + eps),
  // mean(dy) = 1/4 and mean(dy xhat) = -1.5 inv/4, dx_i = inv (dy_i - 1/4 + 1.5 (x_i - 2.5) inv^2/4):
  // at eps = 0 that is inv (0.3, -0.4, -0.1, 0.2); dgamma = xhat_0 = -1.5 inv, dbeta = 1.
  const Tensor x = from_vector<float>({1, 2, 3, 4}, Shape{4, 1});
  Tensor rm = zeros(Shape{1}), rv = ones(Shape{1});
  const ops::BatchNormOutput o = ops::batch_norm_train(x, ones(Shape{1}), zeros(Shape{1}), rm, rv, 0.1, 1e-5);
  const ops::BatchNormGrads gr =
      ops::batch_norm_backward(from_vector<float>({1, 0, 0, 0}, Shape{4, 1}), x, ones(Shape{1}), o.save_mean,
                               o.save_invstd);
  const double inv = 1.0 / std::sqrt(1.25 + 1e-5), inv2 = inv * inv;
  EXPECT_CLOSE(gr.dgamma, {-1.5 * inv}, 0.0, 1e-6);
  EXPECT_CLOSE(gr.dbeta, {1.0}, 0.0, 0.0);
  std::vector<double> edx;
  for (double xi : {1.0, 2.0, 3.0, 4.0}) edx.push_back(inv * ((xi == 1.0) - 0.25 + 1.5 * (xi - 2.5) * inv2 / 4));
  EXPECT_CLOSE(gr.dx, edx, 1e-7, 1e-6);
  EXPECT_CLOSE(gr.dx, {0.3 * inv, -0.4 * inv, -0.1 * inv, 0.2 * inv}, 1e-5, 0.0);  // the eps = 0 values
}

TEST(BatchNorm, EvalBackwardAgainstReference) {
  const Shape s{3, 4, 4, 5};
  const int64_t C = 5;
  const Tensor x = batch(s, 41), dy = testing::random_tensor(s, 42);
  const Tensor gamma = testing::random_tensor(Shape{C}, 43);
  const Tensor rm = testing::random_tensor(Shape{C}, 44);
  const Tensor rv = ops::add_scalar(ops::abs(testing::random_tensor(Shape{C}, 45)), 0.2f);
  const ops::BatchNormGrads gr = ops::batch_norm_eval_backward(dy, x, gamma, rm, rv, 1e-5);
  const RefGrads r =
      ref_eval_backward(to_doubles(dy), to_doubles(x), to_doubles(gamma), to_doubles(rm), to_doubles(rv), C, 1e-5);
  EXPECT_CLOSE(gr.dx, r.dx, 1e-7, 1e-6);
  EXPECT_CLOSE(gr.dgamma, r.dgamma, 1e-5, 1e-5);
  EXPECT_CLOSE(gr.dbeta, r.dbeta, 1e-5, 1e-6);
  // Hand case: dy = 1 everywhere on x [2,1] = (1, 3), gamma 2, rm 1, rv 4, eps 0:
  // dx = 2/2 = 1, dgamma = sum (x - 1)/2 = 0 + 1 = 1, dbeta = 2.
  const ops::BatchNormGrads h =
      ops::batch_norm_eval_backward(ones(Shape{2, 1}), from_vector<float>({1, 3}, Shape{2, 1}),
                                    from_vector<float>({2}, Shape{1}), from_vector<float>({1}, Shape{1}),
                                    from_vector<float>({4}, Shape{1}), 0.0);
  EXPECT_CLOSE(h.dx, {1, 1}, 0.0, 0.0);
  EXPECT_CLOSE(h.dgamma, {1}, 0.0, 0.0);
  EXPECT_CLOSE(h.dbeta, {2}, 0.0, 0.0);
}

TEST(BatchNorm, ResultsDoNotDependOnTheThreadCount) {
  const Shape s{8, 16, 16, 8};
  const Tensor x = batch(s, 51), dy = testing::random_tensor(s, 52);
  const Tensor gamma = testing::random_tensor(Shape{8}, 53), beta = testing::random_tensor(Shape{8}, 54);
  const int before = num_threads();
  std::vector<std::vector<float>> results[2];
  for (int t = 1; t <= 2; ++t) {
    set_num_threads(t);
    Tensor rm = zeros(Shape{8}), rv = ones(Shape{8});
    const ops::BatchNormOutput o = ops::batch_norm_train(x, gamma, beta, rm, rv, 0.1, 1e-5);
    const ops::BatchNormGrads g = ops::batch_norm_backward(dy, x, gamma, o.save_mean, o.save_invstd);
    results[t - 1] = {o.y.to_vector<float>(), o.save_invstd.to_vector<float>(), rv.to_vector<float>(),
                      g.dx.to_vector<float>(), g.dgamma.to_vector<float>()};
  }
  set_num_threads(before);
  // Partial sums are combined in double: the float results agree to rounding.
  for (size_t k = 0; k < results[0].size(); ++k) {
    std::vector<double> other(results[1][k].begin(), results[1][k].end());
    EXPECT_CLOSE(from_vector<float>(results[0][k], Shape{static_cast<int64_t>(results[0][k].size())}), other, 1e-6,
                 1e-6)
        << "result " << k;
  }
}

// A NaN in a channel makes its statistics NaN, as in PyTorch (the variance is
// not clamped to 0), and leaves the other channels alone.
TEST(BatchNorm, NaNInOneChannelStaysInIt) {
  Tensor x = batch(Shape{4, 3, 2}, 11);
  x.data<float>()[6] = std::nanf("");  // row 3, channel 0
  Tensor rm = zeros(Shape{2}), rv = ones(Shape{2});
  const ops::BatchNormOutput o = ops::batch_norm_train(x, ones(Shape{2}), zeros(Shape{2}), rm, rv, 0.1, 1e-5);
  EXPECT_TRUE(std::isnan(o.save_mean.to_vector<float>()[0]));
  EXPECT_TRUE(std::isnan(o.save_invstd.to_vector<float>()[0]));
  EXPECT_TRUE(std::isnan(rv.to_vector<float>()[0]));
  const Ref r = ref_train_forward(to_doubles(x), {1, 1}, {0, 0}, 2, 1e-5);
  EXPECT_NEAR(o.save_invstd.to_vector<float>()[1], r.invstd[1], 1e-6 * r.invstd[1]);
  EXPECT_NEAR(rv.to_vector<float>()[1], 0.9 + 0.1 * r.var_b[1] * r.M / (r.M - 1), 1e-6);
}

TEST(BatchNorm, Errors) {
  const Tensor gamma = ones(Shape{4}), beta = zeros(Shape{4});
  Tensor rm = zeros(Shape{4}), rv = ones(Shape{4});
  for (const Shape& s : {Shape{1, 4}, Shape{1, 1, 1, 4}, Shape{4}}) {
    try {
      ops::batch_norm_train(zeros(s), gamma, beta, rm, rv, 0.1, 1e-5);
      ADD_FAILURE() << "expected an Error for " << s;
    } catch (const Error& e) {
      EXPECT_NE(e.message().find("more than 1 value per channel"), std::string::npos) << e.message();
      EXPECT_NE(e.message().find(s.str()), std::string::npos) << e.message();
    }
  }
  EXPECT_EQ(rm.to_vector<float>(), std::vector<float>(4, 0.0f));  // untouched by the failed calls
  EXPECT_EQ(rv.to_vector<float>(), std::vector<float>(4, 1.0f));
  EXPECT_NO_THROW(ops::batch_norm_train(zeros(Shape{2, 1, 1, 4}), gamma, beta, rm, rv, 0.1, 1e-5));
  // No channels: empty results, no division by C = 0.
  {
    const Tensor e = zeros(Shape{2, 0}), p0 = zeros(Shape{0});
    Tensor rm0 = zeros(Shape{0}), rv0 = ones(Shape{0});
    EXPECT_EQ(ops::batch_norm_eval(e, p0, p0, rm0, rv0, 1e-5).shape(), (Shape{2, 0}));
    EXPECT_EQ(ops::batch_norm_eval_backward(e, e, p0, rm0, rv0, 1e-5).dx.shape(), (Shape{2, 0}));
    EXPECT_EQ(ops::batch_norm_backward(e, e, p0, p0, p0).dgamma.shape(), (Shape{0}));
  }
  Tensor rm3 = zeros(Shape{3});
  EXPECT_THROW(ops::batch_norm_train(zeros(Shape{2, 4}), ones(Shape{3}), beta, rm, rv, 0.1, 1e-5), Error);
  EXPECT_THROW(ops::batch_norm_train(zeros(Shape{2, 4}), gamma, beta, rm3, rv, 0.1, 1e-5), Error);
  EXPECT_THROW(ops::batch_norm_eval(zeros(Shape{2, 4}), gamma, zeros(Shape{5}), rm, rv, 1e-5), Error);
  EXPECT_THROW(ops::batch_norm_eval(zeros(Shape{2, 4}, DType::I64), gamma, beta, rm, rv, 1e-5), Error);
  EXPECT_THROW(ops::batch_norm_backward(zeros(Shape{2, 3}), zeros(Shape{2, 4}), gamma, zeros(Shape{4}), ones(Shape{4})),
               Error);
  EXPECT_THROW(ops::batch_norm_eval_backward(zeros(Shape{2, 4}), zeros(Shape{2, 4}), gamma, rm3, rv, 1e-5), Error);
}

}  // namespace
}  // namespace retort
