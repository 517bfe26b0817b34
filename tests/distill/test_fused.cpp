// The fused building blocks (distill/fused.h): row softmax and its backward,
// KL, cross-entropy, the ε-exact cosine gradient, the single autograd node,
// and (disabled by default) the fused-vs-composed timing at B = 64, C = 100.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "distill/cskd.h"
#include "distill/cskd_full.h"
#include "distill/fused.h"
#include "distill/kd.h"
#include "tensor/ops.h"
#include "tests/distill/parta_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
namespace fused = distill::fused;
namespace kda = testing::kda;

// Double finite differences of a scalar function of a vector.
std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                     std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    const double x0 = x[k];
    x[k] = x0 + h;
    const double lp = f(x);
    x[k] = x0 - h;
    const double lm = f(x);
    x[k] = x0;
    g[k] = (lp - lm) / (2 * h);
  }
  return g;
}

TEST(Fused, SoftmaxRowIsStableAndItsBackwardIsExact) {
  const std::vector<double> z = {1e4, -1e4, 3.0, 1e4 - 1.0};
  std::vector<double> p(4), logp(4), q(4);
  fused::softmax_row(z.data(), 4, 2.0, p.data());
  fused::log_softmax_row(z.data(), 4, 2.0, logp.data(), q.data());
  double s = 0.0;
  for (int k = 0; k < 4; ++k) {
    EXPECT_TRUE(std::isfinite(p[k]) && std::isfinite(logp[k]));
    EXPECT_NEAR(q[k], p[k], 1e-14);  // exp(log_softmax) and softmax round differently
    s += p[k];
  }
  EXPECT_NEAR(s, 1.0, 1e-15);
  EXPECT_NEAR(p[0] / p[3], std::exp(0.5), 1e-12);
  // Backward against finite differences of L = Σ w_k softmax_T(z)_k.
  const std::vector<double> z2 = {0.3, -1.2, 2.0, 0.7, 0.1}, w = {0.5, -1.0, 2.0, 0.25, -0.75};
  for (double T : {1.0, 3.5}) {
    auto L = [&](const std::vector<double>& x) {
      std::vector<double> pp(5);
      fused::softmax_row(x.data(), 5, T, pp.data());
      double v = 0.0;
      for (int k = 0; k < 5; ++k) v += w[k] * pp[k];
      return v;
    };
    std::vector<double> pp(5), dz(5, 0.0);
    fused::softmax_row(z2.data(), 5, T, pp.data());
    fused::softmax_row_backward(pp.data(), w.data(), 5, T, 1.0, dz.data());
    const std::vector<double> num = numeric_gradient(L, z2);
    for (int k = 0; k < 5; ++k) EXPECT_NEAR(dz[k], num[k], 1e-9);
  }
}

TEST(Fused, SoftmaxRowsUseOneTemperaturePerRow) {
  const fused::Matrix z = fused::to_host(testing::random_tensor(Shape{3, 5}, 9, 2.0f));
  const std::vector<double> T = {1.0, 2.5, 6.0};
  fused::Matrix p(3, 5), g(3, 5), dz(3, 5);
  fused::softmax_rows(z, T, p);
  std::vector<double> row(5), d(5);
  for (int64_t i = 0; i < 3; ++i) {
    fused::softmax_row(z.row(i), 5, T[i], row.data());
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ(p(i, k), row[k]);
      g(i, k) = 0.1 * (k + 1) - 0.2 * i;
    }
  }
  fused::softmax_rows_backward(p, g, T, 2.0, dz);
  for (int64_t i = 0; i < 3; ++i) {
    std::fill(d.begin(), d.end(), 0.0);
    fused::softmax_row_backward(p.row(i), g.row(i), 5, T[i], 2.0, d.data());
    for (int k = 0; k < 5; ++k) EXPECT_EQ(dz(i, k), d[k]);
  }
  EXPECT_THROW(fused::softmax_rows(z, {1.0, 2.0}, p), Error);
  EXPECT_THROW(fused::softmax_rows(z, {1.0, 0.0, 2.0}, p), Error);
}

TEST(Fused, CrossEntropyAndKlRows) {
  const std::vector<double> u = {2.0, 1.0, 0.0}, v = {1.0, 2.0, 0.5};
  std::vector<double> work(9), dv(3, 0.0);
  // KL(softmax(u) ‖ softmax(v)) at T = 1 against a direct sum.
  const double kl = fused::kl_row(u.data(), v.data(), 3, 1.0, 1.0, dv.data(), work.data());
  std::vector<double> p(3), q(3);
  fused::softmax_row(u.data(), 3, 1.0, p.data());
  fused::softmax_row(v.data(), 3, 1.0, q.data());
  double direct = 0.0;
  for (int k = 0; k < 3; ++k) direct += p[k] * std::log(p[k] / q[k]);
  EXPECT_NEAR(kl, direct, 1e-15);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(dv[k], q[k] - p[k], 1e-15);
  // A teacher probability that underflows to 0 contributes exactly 0 (0·log 0 = 0).
  const std::vector<double> hard = {0.0, 1e5, -1e5};
  const double kl_hard = fused::kl_row(hard.data(), v.data(), 3, 1.0, 1.0, nullptr, work.data());
  EXPECT_TRUE(std::isfinite(kl_hard));
  // Cross-entropy: -log softmax(v)_y and its gradient.
  std::vector<double> dce(3, 0.0);
  const double ce = fused::cross_entropy_row(v.data(), 3, 2, 0.5, dce.data(), work.data());
  EXPECT_NEAR(ce, -std::log(q[2]), 1e-15);
  EXPECT_NEAR(dce[2], 0.5 * (q[2] - 1.0), 1e-15);
  EXPECT_NEAR(dce[0], 0.5 * q[0], 1e-15);
}

TEST(Fused, CosineGradientIsEpsilonExact) {
  const std::vector<double> b = {0.3, 0.1, 0.8, 0.2};
  for (const bool absolute : {true, false}) {
    for (const std::vector<double>& a0 : {std::vector<double>{0.5, 0.2, 0.1, 0.9}, std::vector<double>{-0.5, 0.2, -0.9, 0.1}}) {
      for (double eps : {1e-8, 0.05}) {
        auto c = [&](const std::vector<double>& a) { return fused::cosine(a.data(), b.data(), 4, 1, eps, absolute).value; };
        const fused::Cosine cs = fused::cosine(a0.data(), b.data(), 4, 1, eps, absolute);
        std::vector<double> ga(4, 0.0);
        fused::cosine_backward(cs, a0.data(), b.data(), 4, 1, 1.0, ga.data());
        const std::vector<double> num = numeric_gradient(c, a0);
        for (int k = 0; k < 4; ++k) EXPECT_NEAR(ga[k], num[k], 1e-8) << "absolute " << absolute << " eps " << eps;
      }
    }
  }
  // ε sits on the product of the norms.
  const std::vector<double> a = {1.0, 0.0}, bb = {1.0, 0.0};
  EXPECT_DOUBLE_EQ(fused::cosine(a.data(), bb.data(), 2, 1, 0.5).value, 1.0 / 1.5);
  // A zero vector: value 0, finite gradient b/ε.
  const std::vector<double> zero = {0.0, 0.0};
  const fused::Cosine cz = fused::cosine(zero.data(), bb.data(), 2, 1, 1e-8, false);
  std::vector<double> gz(2, 0.0);
  fused::cosine_backward(cz, zero.data(), bb.data(), 2, 1, 1.0, gz.data());
  EXPECT_EQ(cz.value, 0.0);
  EXPECT_TRUE(std::isfinite(gz[0]) && std::isfinite(gz[1]));
}

TEST(Fused, ColumnAndRowCosinesAgreeWithTheStridedCosine) {
  const fused::Matrix a = fused::to_host(ops::softmax(testing::random_tensor(Shape{5, 7}, 1)));
  const fused::Matrix b = fused::to_host(ops::softmax(testing::random_tensor(Shape{5, 7}, 2)));
  fused::Matrix ga(5, 7), ga_ref(5, 7);
  const std::vector<double> cols = fused::column_cosine(a, b, 1e-8, &ga, 0.7);
  for (int64_t j = 0; j < 7; ++j) {
    const fused::Cosine c = fused::cosine(a.row(0) + j, b.row(0) + j, 5, 7, 1e-8);
    EXPECT_NEAR(cols[j], c.value, 1e-15);
    fused::cosine_backward(c, a.row(0) + j, b.row(0) + j, 5, 7, 0.7, ga_ref.row(0) + j);
  }
  for (size_t k = 0; k < ga.data.size(); ++k) EXPECT_NEAR(ga.data[k], ga_ref.data[k], 1e-14);
  fused::Matrix gr(5, 7);
  const std::vector<double> rows = fused::row_cosine(a, b, 1e-8, &gr, 1.0);
  for (int64_t i = 0; i < 5; ++i) EXPECT_NEAR(rows[i], fused::cosine(a.row(i), b.row(i), 7, 1, 1e-8).value, 1e-15);
}

TEST(Fused, MakeLossScalesTheGradientByTheIncomingOne) {
  const Tensor zs = kda::logits("A", "Zs"), zt = kda::logits("A", "Zt"), y = kda::labels("A");
  const distill::KdOptions o;
  Variable a(zs.clone(), true), b(zs.clone(), true);
  distill::kd_loss(a, zt, y, o, 1).total.backward();
  // 3·L + L downstream of the node: the node's gradient is scaled by the incoming 4.
  const Variable l = distill::kd_loss(b, zt, y, o, 1).total;
  autograd::add(autograd::mul_scalar(l, 3.0f), l).backward();
  EXPECT_CLOSE(b.grad(), ops::mul_scalar(a.grad(), 4.0f), 1e-7, 1e-6);
  // The node's gradient through the engine's grad() as well.
  Variable c(zs.clone(), true);
  const std::vector<Tensor> g = autograd::grad({distill::kd_loss(c, zt, y, o, 1).total}, {c});
  EXPECT_CLOSE(g[0], a.grad(), 0.0, 0.0);
  // No graph under NoGradGuard, and none for a student that needs no gradient.
  {
    autograd::NoGradGuard guard;
    EXPECT_FALSE(distill::kd_loss(Variable(zs, true), zt, y, o, 1).total.requires_grad());
  }
  const Variable constant = distill::kd_loss(Variable(zs), zt, y, o, 1).total;
  EXPECT_FALSE(constant.requires_grad());
  EXPECT_NEAR_REL(kda::value(constant), kda::expected("kd.A", "L_cifar"));
}

TEST(Fused, TwoInputNodeRoutesEachGradient) {
  // cskd-full's node has two inputs; only the one that requires a gradient gets it.
  const Tensor zw = kda::logits("B", "Zs"), tw = kda::logits("B", "Zt");
  const Tensor zs = kda::logits("B2", "Zs"), ts = kda::logits("B2", "Zt"), y = kda::labels("B");
  distill::CskdFullOptions o;
  o.r = 2.0 / 3.0;
  o.rc = 0.5;
  Variable w(zw.clone(), true), s(zs.clone());
  distill::cskd_full_loss(w, tw, s, ts, y, o, 1).total.backward();
  EXPECT_CLOSE(w.grad(), kda::expected_vec("cskd.full.B_B2", "dTotal_dZs_weak"), kda::kAtol, kda::kRtol);
  EXPECT_FALSE(s.grad().defined());
}

// Median process CPU time of fn over `runs` runs, in microseconds. CPU time rather
// than wall time, so other processes on the machine do not inflate it; run with
// OMP_NUM_THREADS=1 so that it is also the time one core spends.
template <class F>
double median_us(F&& fn, int runs) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    timespec a{}, b{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    fn();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    t.push_back((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) * 1e-3);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Run with --gtest_also_run_disabled_tests (and OMP_NUM_THREADS=1): forward + backward
// at B = 64, C = 100, in CPU microseconds.
TEST(Fused, DISABLED_TimingFusedVersusComposed) {
  const int64_t B = 64, C = 100;
  const Tensor zs = testing::random_tensor(Shape{B, C}, 1, 2.0f), zt = testing::random_tensor(Shape{B, C}, 2, 2.0f);
  const Tensor zs2 = testing::random_tensor(Shape{B, C}, 3, 2.0f), zt2 = testing::random_tensor(Shape{B, C}, 4, 2.0f);
  Generator gen(3);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  auto step = [&](auto&& loss) {
    return [&, loss] {
      Variable s(zs, true);
      loss(s).total.backward();
    };
  };
  const int runs = 201;
  const distill::KdOptions kd;
  const distill::CskdOptions cs;
  const double kd_f = median_us(step([&](const Variable& s) { return distill::kd_loss(s, zt, y, kd, 1); }), runs);
  const double kd_c = median_us(step([&](const Variable& s) { return distill::kd_loss_composed(s, zt, y, kd, 1); }), runs);
  const double cs_f = median_us(step([&](const Variable& s) { return distill::cskd_loss(s, zt, y, cs, 1); }), runs);
  const double cs_c =
      median_us(step([&](const Variable& s) { return distill::cskd_loss_composed(s, zt, y, cs, 1); }), runs);
  const distill::CskdFullOptions full;
  auto full_step = [&](bool composed) {
    return [&, composed] {
      Variable w(zs, true), s(zs2, true);
      (composed ? distill::cskd_full_loss_composed(w, zt, s, zt2, y, full, 1)
                : distill::cskd_full_loss(w, zt, s, zt2, y, full, 1))
          .total.backward();
    };
  };
  const double full_f = median_us(full_step(false), 51), full_c = median_us(full_step(true), 51);
  std::printf("B=64 C=100, forward+backward, median CPU time of %d runs (us):\n", runs);
  std::printf("  kd         fused %8.1f  composed %8.1f  (x%.1f)\n", kd_f, kd_c, kd_c / kd_f);
  std::printf("  cskd       fused %8.1f  composed %8.1f  (x%.1f)\n", cs_f, cs_c, cs_c / cs_f);
  std::printf("  cskd-full  fused %8.1f  composed %8.1f  (x%.1f, 51 runs)\n", full_f, full_c, full_c / full_f);
}

}  // namespace
}  // namespace retort
