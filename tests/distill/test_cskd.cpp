// CSKD + CSWT, core objective (METHODS.md §2): the vectors cskd.core.A/B, the
// degenerate CSWT rule, gradient checks, fused against composed, identical and
// extreme logits, option errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "autograd/functions.h"
#include "distill/cskd.h"
#include "tensor/ops.h"
#include "tests/distill/parta_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::CskdOptions;
namespace fused = distill::fused;
namespace kda = testing::kda;

CskdOptions vector_options(const std::string& id) {
  CskdOptions o;
  o.T = kda::param(id, "T");
  o.alpha = kda::param(id, "alpha");
  o.T_low = kda::param(id, "T_low");
  o.T_high = kda::param(id, "T_high");
  o.w_ce = kda::param(id, "w_ce");
  o.w_kd = kda::param(id, "w_kd");
  o.eps = kda::param(id, "eps");
  return o;
}

class CskdVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(CskdVectors, EveryQuantity) {
  const std::string input = GetParam(), id = "cskd.core." + input;
  const Tensor zs = kda::logits(input, "Zs"), zt = kda::logits(input, "Zt"), y = kda::labels(input);
  const CskdOptions o = vector_options(id);
  const int64_t B = zs.size(0);

  // Per-class cosines at T = 4 and L_cs(T = 4) with its gradient.
  std::vector<double> class_cos;
  const std::vector<double> fixed(B, o.T);
  distill::batch_cosine(fused::to_host(zs), fused::to_host(zt), fixed, o.alpha, o.eps, nullptr, 1.0, &class_cos);
  const std::vector<double> want_cos = kda::expected_vec(id, "class_cos_T4");
  ASSERT_EQ(class_cos.size(), want_cos.size());
  for (size_t j = 0; j < want_cos.size(); ++j) EXPECT_NEAR_REL(class_cos[j], want_cos[j]);
  const auto cs = kda::evaluate(
      [&](const Variable& s) {
        distill::LossResult r;
        r.total = distill::batch_cosine_loss(s, zt, fixed, o.alpha, o.eps);
        return r;
      },
      zs);
  EXPECT_NEAR_REL(cs.total(), kda::expected(id, "L_cs"));
  EXPECT_CLOSE(cs.grad, kda::expected_vec(id, "dLcs_dZs"), kda::kAtol, kda::kRtol);

  // CSWT: row cosines at T = 1, temperatures, L_cs^CSWT with constant temperatures.
  const distill::Cswt t = distill::cswt(zs, zt, o);
  EXPECT_FALSE(t.degenerate);
  const std::vector<double> want_s = kda::expected_vec(id, "cswt_row_cos"), want_T = kda::expected_vec(id, "cswt_T");
  for (int64_t i = 0; i < B; ++i) {
    EXPECT_NEAR_REL(t.row_cos[i], want_s[i]);
    EXPECT_NEAR_REL(t.temperatures[i], want_T[i]);
  }
  const auto cswt = kda::evaluate(
      [&](const Variable& s) {
        distill::LossResult r;
        r.total = distill::batch_cosine_loss(s, zt, t.temperatures, o.alpha, o.eps);
        return r;
      },
      zs);
  EXPECT_NEAR_REL(cswt.total(), kda::expected(id, "L_cs_cswt"));
  EXPECT_CLOSE(cswt.grad, kda::expected_vec(id, "dLcswt_dZs"), kda::kAtol, kda::kRtol);

  // The core objective: total, terms and gradient.
  const auto core = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, zt, y, o, 1); }, zs);
  EXPECT_NEAR_REL(core.total(), kda::expected(id, "L_core"));
  EXPECT_NEAR_REL(core.loss.term("cs"), kda::expected(id, "L_cs"));
  EXPECT_NEAR_REL(core.loss.term("cswt"), kda::expected(id, "L_cs_cswt"));
  EXPECT_NEAR_REL(core.loss.term("cs") + core.loss.term("cswt"), kda::expected(id, "distill"));
  EXPECT_NEAR_REL(kda::terms_sum(core.loss), kda::expected(id, "L_core"));
  EXPECT_CLOSE(core.grad, kda::expected_vec(id, "dLcore_dZs"), kda::kAtol, kda::kRtol);
}

INSTANTIATE_TEST_SUITE_P(Examples, CskdVectors, ::testing::Values("A", "B"));

// The chosen rule: s_max − s_min <= δ gives every sample (T_low + T_high)/2.
TEST(Cswt, DegenerateBatchesUseTheMidTemperature) {
  CskdOptions o;
  // B = 1: the reference divides 0 by 0.
  const Tensor one_s = testing::random_tensor(Shape{1, 10}, 1), one_t = testing::random_tensor(Shape{1, 10}, 2);
  distill::Cswt t = distill::cswt(one_s, one_t, o);
  EXPECT_TRUE(t.degenerate);
  EXPECT_EQ(t.temperatures, std::vector<double>{4.0});
  // Identical rows: every s_i is the same number.
  const Tensor rows_s = ops::cat({one_s, one_s, one_s}, 0), rows_t = ops::cat({one_t, one_t, one_t}, 0);
  t = distill::cswt(rows_s, rows_t, o);
  EXPECT_TRUE(t.degenerate);
  EXPECT_EQ(t.temperatures, std::vector<double>(3, 4.0));
  o.T_low = 1.0;
  o.T_high = 3.0;
  EXPECT_EQ(distill::cswt(rows_s, rows_t, o).temperatures, std::vector<double>(3, 2.0));
  // B = 2 without the rule: always {T_low, T_high}; δ above the spread triggers it.
  o = CskdOptions();
  const Tensor zs = kda::logits("A", "Zs"), zt = kda::logits("A", "Zt");
  t = distill::cswt(zs, zt, o);
  EXPECT_FALSE(t.degenerate);
  EXPECT_EQ(t.temperatures, (std::vector<double>{6.0, 2.0}));
  o.delta = 0.4;  // s = [0.655, 0.991]: spread 0.336
  t = distill::cswt(zs, zt, o);
  EXPECT_TRUE(t.degenerate);
  EXPECT_EQ(t.temperatures, (std::vector<double>{4.0, 4.0}));
  o.delta = 0.3;
  EXPECT_FALSE(distill::cswt(zs, zt, o).degenerate);
}

TEST(Cswt, SingleSampleBatchGivesCrossEntropyPlusEpsilonTerms) {
  const Tensor zs = testing::random_tensor(Shape{1, 10}, 3, 2.0f), zt = testing::random_tensor(Shape{1, 10}, 4, 2.0f);
  const Tensor y = from_vector<int64_t>({7}, Shape{1});
  const auto e = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, zt, y, CskdOptions(), 1); }, zs);
  EXPECT_TRUE(std::isfinite(e.total()));
  EXPECT_EQ(ops::count_nonfinite(e.grad), 0);
  // Every column has one entry, so each cosine is pq/(pq + ε): the cosine terms are O(ε/pq) and
  // vanish exactly with ε = 0.
  EXPECT_LT(std::fabs(e.loss.term("cs")), 1e-2);
  EXPECT_LT(std::fabs(e.loss.term("cswt")), 1e-2);
  CskdOptions exact;
  exact.eps = 0.0;
  const auto e0 = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, zt, y, exact, 1); }, zs);
  EXPECT_LT(std::fabs(e0.loss.term("cs")), 1e-12);
  EXPECT_LT(std::fabs(e0.loss.term("cswt")), 1e-12);
}

class CskdSizes : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(CskdSizes, GradCheckAndFusedMatchesComposed) {
  const auto [B, C] = GetParam();
  const uint64_t seed = static_cast<uint64_t>(300 * B + C);
  const Tensor zs = testing::random_tensor(Shape{B, C}, seed, 2.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, seed + 1, 2.0f);
  Generator gen(seed + 2);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  const CskdOptions o;
  const auto fused = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, zt, y, o, 1); }, zs);
  const auto composed =
      kda::evaluate([&](const Variable& s) { return distill::cskd_loss_composed(s, zt, y, o, 1); }, zs);
  // The composed version runs in f32: its cosines near 1 lose digits to cancellation.
  EXPECT_NEAR_REL(fused.total(), composed.total(), 1e-4, 1e-6);
  for (const char* term : {"ce", "cs", "cswt"}) EXPECT_NEAR_REL(fused.loss.term(term), composed.loss.term(term), 1e-3, 1e-5);
  EXPECT_NEAR_REL(kda::terms_sum(fused.loss), fused.total(), 1e-6, 1e-7);
  double gmax = 0.0;
  for (double g : testing::to_doubles(fused.grad)) gmax = std::max(gmax, std::fabs(g));
  EXPECT_CLOSE(composed.grad, fused.grad, 1e-3 * gmax, 1e-3);
  // The CSWT temperatures are constants for autograd: finite differences would move them (for
  // B >= 3), so the check holds them at their value at zs, where the objective is unchanged.
  CskdOptions frozen = o;
  frozen.temperatures = distill::cswt(zs, zt, o).temperatures;
  const auto at_frozen = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, zt, y, frozen, 1); }, zs);
  EXPECT_EQ(at_frozen.total(), fused.total());
  EXPECT_CLOSE(at_frozen.grad, fused.grad, 0.0, 0.0);
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::cskd_loss(v[0], zt, y, frozen, 1).total; }, {zs},
      kda::scaled_options(fused.grad)));
}

INSTANTIATE_TEST_SUITE_P(Sizes, CskdSizes,
                         ::testing::Combine(::testing::Values<int64_t>(1, 2, 7, 64),
                                            ::testing::Values<int64_t>(3, 10, 100)));

// The ε-exact gradient of the batch cosine in double, with distinct row temperatures.
TEST(Cskd, BatchCosineGradientMatchesDoubleFiniteDifferences) {
  for (const auto& [B, C] : {std::make_pair<int64_t, int64_t>(2, 3), std::make_pair<int64_t, int64_t>(7, 10),
                             std::make_pair<int64_t, int64_t>(5, 40)}) {
    SCOPED_TRACE(std::to_string(B) + "x" + std::to_string(C));
    const fused::Matrix zt = fused::to_host(testing::random_tensor(Shape{B, C}, 40 + B, 2.0f));
    const fused::Matrix z0 = fused::to_host(testing::random_tensor(Shape{B, C}, 50 + B, 2.0f));
    std::vector<double> tau(B);
    for (int64_t i = 0; i < B; ++i) tau[i] = 2.0 + 4.0 * static_cast<double>(i) / std::max<int64_t>(B - 1, 1);
    for (double eps : {1e-8, 1e-2}) {
      EXPECT_TRUE(kda::host_grad_check(
          [&](const fused::Matrix& z, fused::Matrix* dz) { return distill::batch_cosine(z, zt, tau, 2.0, eps, dz, 1.0); },
          z0));
    }
  }
}

TEST(Cskd, IdenticalLogitsGiveZeroDistillationUpToEpsilon) {
  const int64_t B = 16, C = 10;
  const Tensor z = testing::random_tensor(Shape{B, C}, 61, 2.0f);
  Generator gen(62);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  CskdOptions o;
  o.w_ce = 0.0;
  // ε = 0: every cosine is exactly 1 (to rounding), so both terms and the gradient vanish.
  o.eps = 0.0;
  auto e = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, z, y, o, 1); }, z);
  EXPECT_LT(std::fabs(e.loss.term("cs")), 1e-12);
  EXPECT_LT(std::fabs(e.loss.term("cswt")), 1e-12);
  EXPECT_CLOSE(e.grad, std::vector<double>(B * C, 0.0), 1e-10, 0.0);
  // With ε the cosine of a column with itself is ‖a‖²/(‖a‖² + ε): the loss is the ε term exactly.
  o.eps = 1e-8;
  e = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, z, y, o, 1); }, z);
  const fused::Matrix zh = fused::to_host(z);
  fused::Matrix p(B, C);
  for (int64_t i = 0; i < B; ++i) fused::softmax_row(zh.row(i), C, o.T, p.row(i));
  double mean_c = 0.0;
  for (int64_t j = 0; j < C; ++j) {
    double aa = 0.0;
    for (int64_t i = 0; i < B; ++i) aa += p(i, j) * p(i, j);
    mean_c += aa / (aa + o.eps) / C;
  }
  EXPECT_NEAR_REL(e.loss.term("cs"), o.alpha * o.T * o.T * (1.0 - mean_c), 1e-6, 1e-14);
  EXPECT_LT(e.loss.term("cs"), 1e-5);
  EXPECT_LT(e.loss.term("cswt"), 1e-5);
}

TEST(Cskd, ExtremeLogitsStayFinite) {
  const Tensor zs = testing::random_tensor(Shape{8, 10}, 71, 1e4f);
  const Tensor zt = testing::random_tensor(Shape{8, 10}, 72, 1e4f);
  Generator gen(73);
  const Tensor y = ops::randint(Shape{8}, 10, gen);
  const auto e = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, zt, y, CskdOptions(), 1); }, zs);
  EXPECT_TRUE(std::isfinite(e.total()));
  for (const auto& t : e.loss.terms) EXPECT_TRUE(std::isfinite(t.second)) << t.first;
  EXPECT_EQ(ops::count_nonfinite(e.grad), 0);
  // A row of equal huge logits and a row far from the teacher.
  const Tensor flat = full(Shape{8, 10}, 1e4);
  const auto f = kda::evaluate([&](const Variable& s) { return distill::cskd_loss(s, zt, y, CskdOptions(), 1); }, flat);
  EXPECT_TRUE(std::isfinite(f.total()));
  EXPECT_EQ(ops::count_nonfinite(f.grad), 0);
}

TEST(Cskd, RejectsBadOptionsAndInputs) {
  const Tensor zs = testing::random_tensor(Shape{4, 5}, 1), zt = testing::random_tensor(Shape{4, 5}, 2);
  const Variable s(zs, true);
  const Tensor y = from_vector<int64_t>({0, 1, 2, 3}, Shape{4});
  CskdOptions o;
  o.T_high = 1.0;  // below T_low
  EXPECT_THROW(distill::cskd_loss(s, zt, y, o, 1), Error);
  o = CskdOptions();
  o.eps = -1.0;
  EXPECT_THROW(distill::cskd_loss(s, zt, y, o, 1), Error);
  EXPECT_THROW(distill::cskd_loss(s, zt, Tensor(), CskdOptions(), 1), Error);
  EXPECT_THROW(distill::cskd_loss(s, testing::random_tensor(Shape{5, 5}, 3), y, CskdOptions(), 1), Error);
  EXPECT_THROW(distill::batch_cosine_loss(s, zt, {4.0, 4.0}, 2.0, 1e-8), Error);  // 2 temperatures for 4 rows
  EXPECT_THROW(distill::batch_cosine_loss(s, zt, {4.0, 0.0, 4.0, 4.0}, 2.0, 1e-8), Error);
  distill::Options opts = distill::cskd_method().defaults();
  opts.set("T_low", 7.0);
  EXPECT_THROW(CskdOptions::from(opts), Error);
}

TEST(Cskd, MethodRowMatchesTheOptionsStruct) {
  const distill::MethodInfo m = distill::cskd_method();
  const CskdOptions d, from = CskdOptions::from(m.defaults());
  EXPECT_EQ(from.T, d.T);
  EXPECT_EQ(from.alpha, d.alpha);
  EXPECT_EQ(from.T_low, d.T_low);
  EXPECT_EQ(from.T_high, d.T_high);
  EXPECT_EQ(from.w_ce, d.w_ce);
  EXPECT_EQ(from.w_kd, d.w_kd);
  EXPECT_EQ(from.eps, d.eps);
  EXPECT_EQ(from.delta, d.delta);
  // METHODS §2.4 defaults.
  EXPECT_EQ(d.T, 4.0);
  EXPECT_EQ(d.alpha, 2.0);
  EXPECT_EQ(d.T_low, 2.0);
  EXPECT_EQ(d.T_high, 6.0);
  EXPECT_EQ(d.eps, 1e-8);
  EXPECT_TRUE(m.pair_overrides.empty());
  distill::StepInputs in;
  in.student = Variable(kda::logits("B", "Zs"), true);
  in.teacher = kda::logits("B", "Zt");
  in.labels = kda::labels("B");
  auto objective = m.make(m.defaults());
  EXPECT_FALSE(objective->needs().strong_view);
  EXPECT_NEAR_REL(kda::value(objective->compute(in).total), kda::expected("cskd.core.B", "L_core"));
}

}  // namespace
}  // namespace retort
