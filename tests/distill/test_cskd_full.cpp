// CSKD full recipe (METHODS.md §3): the vectors cskd.gram.B and cskd.full.B_B2
// (with r and rc supplied, as the vector's tie requires), the mask-fraction
// rule on inputs without ties, gradient checks, fused against composed,
// identical and extreme logits, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "autograd/functions.h"
#include "distill/cskd_full.h"
#include "tensor/ops.h"
#include "tests/distill/parta_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::CskdFullOptions;
using distill::CskdOptions;
namespace fused = distill::fused;
namespace kda = testing::kda;

// Evaluates a loss of the two student views and returns both gradients.
struct TwoViews {
  distill::LossResult loss;
  Tensor grad_weak, grad_strong;
  double total() const { return kda::value(loss.total); }
};
template <class F>
TwoViews evaluate2(F&& f, const Tensor& weak, const Tensor& strong) {
  Variable w(weak.clone(), true), s(strong.clone(), true);
  TwoViews r{f(w, s), Tensor(), Tensor()};
  r.loss.total.backward();
  r.grad_weak = w.grad();
  r.grad_strong = s.grad();
  return r;
}

distill::LossResult wrap(const Variable& v) {
  distill::LossResult r;
  r.total = v;
  return r;
}

TEST(CskdGramVectors, ExampleB) {
  const std::string id = "cskd.gram.B";
  const Tensor zs = kda::logits("B", "Zs"), zt = kda::logits("B", "Zt");
  const double eps = kda::param(id, "eps"), T = kda::param(id, "T");
  const std::vector<double> fixed(3, T);
  CskdOptions core;  // T_i "from cskd.core.B": the defaults of that vector
  const std::vector<double> tau = distill::cswt(zs, zt, core).temperatures;
  const auto cc = kda::evaluate([&](const Variable& s) { return wrap(distill::gram_class_loss(s, zt, fixed, eps)); }, zs);
  EXPECT_NEAR_REL(cc.total(), kda::expected(id, "L_cc_T4"));
  EXPECT_CLOSE(cc.grad, kda::expected_vec(id, "dLcc_T4_dZs"), kda::kAtol, kda::kRtol);
  const auto bc = kda::evaluate([&](const Variable& s) { return wrap(distill::gram_batch_loss(s, zt, fixed, eps)); }, zs);
  EXPECT_NEAR_REL(bc.total(), kda::expected(id, "L_bc_T4"));
  EXPECT_CLOSE(bc.grad, kda::expected_vec(id, "dLbc_T4_dZs"), kda::kAtol, kda::kRtol);
  const fused::Matrix hs = fused::to_host(zs), ht = fused::to_host(zt);
  EXPECT_NEAR_REL(distill::gram_class(hs, ht, tau, eps, nullptr, 1.0), kda::expected(id, "L_cc_cswt"));
  EXPECT_NEAR_REL(distill::gram_batch(hs, ht, tau, eps, nullptr, 1.0), kda::expected(id, "L_bc_cswt"));
}

CskdFullOptions vector_options(const std::string& id) {
  CskdFullOptions o;
  o.core.T = kda::param(id, "T");
  o.core.alpha = kda::param(id, "alpha");
  o.core.T_low = kda::param(id, "T_low");
  o.core.T_high = kda::param(id, "T_high");
  o.core.w_ce = kda::param(id, "w_ce");
  o.core.w_kd = kda::param(id, "w_kd");
  o.core.eps = kda::param(id, "eps");
  return o;
}

TEST(CskdFullVectors, WeakBStrongB2WithSuppliedFractions) {
  const std::string id = "cskd.full.B_B2";
  const Tensor zw = kda::logits("B", "Zs"), tw = kda::logits("B", "Zt");
  const Tensor zs = kda::logits("B2", "Zs"), ts = kda::logits("B2", "Zt"), y = kda::labels("B");
  CskdFullOptions o = vector_options(id);
  // The vector's r = 2/3 comes from a one-ulp tie (METHODS §3.5): supply r and rc.
  o.r = 2.0 / 3.0;
  o.rc = 0.5;
  EXPECT_NEAR_REL(o.r, kda::expected(id, "r"));
  EXPECT_NEAR_REL(o.rc, kda::expected(id, "rc"));

  // The statistics behind the fractions (the values, not the tied count).
  const distill::MaskFractions m = distill::mask_fractions(tw);
  const std::vector<double> conf = kda::expected_vec(id, "conf"), cconf = kda::expected_vec(id, "class_conf");
  for (size_t i = 0; i < conf.size(); ++i) EXPECT_NEAR_REL(m.conf[i], conf[i]);
  for (size_t j = 0; j < cconf.size(); ++j) EXPECT_NEAR_REL(m.class_conf[j], cconf[j]);
  EXPECT_EQ(m.rc, 0.5);  // no tie among the class sums
  const std::vector<double> T = kda::expected_vec(id, "cswt_T");
  const std::vector<double> tau = distill::cswt(zw, tw, o.core).temperatures;
  for (size_t i = 0; i < T.size(); ++i) EXPECT_NEAR_REL(tau[i], T[i]);

  // The individual losses.
  const fused::Matrix hw = fused::to_host(zw), htw = fused::to_host(tw);
  const fused::Matrix hs = fused::to_host(zs), hts = fused::to_host(ts);
  const std::vector<double> fixed(3, 4.0);
  const double a = o.core.alpha, eps = o.core.eps;
  EXPECT_NEAR_REL(distill::batch_cosine(hw, htw, fixed, a, eps, nullptr, 1), kda::expected(id, "L_cs_weak_T4"));
  EXPECT_NEAR_REL(distill::batch_cosine(hw, htw, tau, a, eps, nullptr, 1), kda::expected(id, "L_cs_weak_cswt"));
  EXPECT_NEAR_REL(distill::batch_cosine(hs, hts, fixed, a, eps, nullptr, 1), kda::expected(id, "L_cs_strong_T4"));
  EXPECT_NEAR_REL(distill::batch_cosine(hs, hts, tau, a, eps, nullptr, 1), kda::expected(id, "L_cs_strong_cswt"));
  EXPECT_NEAR_REL(distill::gram_class(hw, htw, fixed, eps, nullptr, 1), kda::expected(id, "L_cc_T4"));
  EXPECT_NEAR_REL(distill::gram_class(hw, htw, tau, eps, nullptr, 1), kda::expected(id, "L_cc_cswt"));
  EXPECT_NEAR_REL(distill::gram_batch(hw, htw, fixed, eps, nullptr, 1), kda::expected(id, "L_bc_T4"));
  EXPECT_NEAR_REL(distill::gram_batch(hw, htw, tau, eps, nullptr, 1), kda::expected(id, "L_bc_cswt"));

  // The total, its terms and both gradients.
  const auto e = evaluate2(
      [&](const Variable& w, const Variable& s) { return distill::cskd_full_loss(w, tw, s, ts, y, o, 1); }, zw, zs);
  EXPECT_NEAR_REL(e.total(), kda::expected(id, "total"));
  EXPECT_NEAR_REL(e.loss.term("ce"), kda::expected(id, "term_ce"));
  EXPECT_NEAR_REL(e.loss.term("cs_weak"), kda::expected(id, "term_cs_weak"));
  EXPECT_NEAR_REL(e.loss.term("cs_strong"), kda::expected(id, "term_cs_strong"));
  EXPECT_NEAR_REL(e.loss.term("cc"), kda::expected(id, "term_cc"));
  EXPECT_NEAR_REL(e.loss.term("bc"), kda::expected(id, "term_bc"));
  EXPECT_NEAR_REL(kda::terms_sum(e.loss), kda::expected(id, "total"));
  EXPECT_CLOSE(e.grad_weak, kda::expected_vec(id, "dTotal_dZs_weak"), kda::kAtol, kda::kRtol);
  EXPECT_CLOSE(e.grad_strong, kda::expected_vec(id, "dTotal_dZs_strong"), kda::kAtol, kda::kRtol);
}

TEST(CskdFull, MedianFractionRule) {
  // Even count without ties: exactly half; odd count: (n + 1)/(2n).
  EXPECT_EQ(distill::median_fraction({3, 1, 2, 4}), 0.5);
  EXPECT_EQ(distill::median_fraction({5, 1, 3}), 2.0 / 3.0);
  EXPECT_EQ(distill::median_fraction({0.2, 0.9, 0.4, 0.7, 0.1, 0.3, 0.8}), 4.0 / 7.0);
  EXPECT_EQ(distill::median_fraction({7}), 1.0);
  // Ties raise the fraction; the exact tie of the full-recipe vector gives r = 1.
  EXPECT_EQ(distill::median_fraction({1, 2, 2, 3}), 0.75);
  EXPECT_EQ(distill::median_fraction({0.767898, 0.830953, 0.830953}), 1.0);
  EXPECT_THROW(distill::median_fraction({}), Error);
}

TEST(CskdFull, MaskFractionsWithoutTies) {
  // Random teachers: no ties, so r = 0.5 for even B, (B + 1)/(2B) for odd B, rc = 0.5 for even C.
  for (const auto& [B, C] : {std::make_pair<int64_t, int64_t>(64, 100), std::make_pair<int64_t, int64_t>(7, 10),
                             std::make_pair<int64_t, int64_t>(16, 11)}) {
    const distill::MaskFractions m = distill::mask_fractions(testing::random_tensor(Shape{B, C}, 80 + B, 3.0f));
    EXPECT_EQ(m.r, B % 2 == 0 ? 0.5 : (B + 1.0) / (2.0 * B));
    EXPECT_EQ(m.rc, C % 2 == 0 ? 0.5 : (C + 1.0) / (2.0 * C));
  }
  // The computed fractions enter the loss when r and rc are left negative.
  const int64_t B = 6, C = 5;
  const Tensor zw = testing::random_tensor(Shape{B, C}, 91), tw = testing::random_tensor(Shape{B, C}, 92, 3.0f);
  const Tensor zs = testing::random_tensor(Shape{B, C}, 93), ts = testing::random_tensor(Shape{B, C}, 94, 3.0f);
  const Tensor y = from_vector<int64_t>({0, 1, 2, 3, 4, 0}, Shape{B});
  CskdFullOptions automatic, explicit_fractions;
  explicit_fractions.r = 0.5;
  explicit_fractions.rc = 3.0 / 5.0;
  const Variable w(zw), s(zs);
  const distill::LossResult a = distill::cskd_full_loss(w, tw, s, ts, y, automatic, 1);
  const distill::LossResult b = distill::cskd_full_loss(w, tw, s, ts, y, explicit_fractions, 1);
  for (const auto& t : a.terms) EXPECT_DOUBLE_EQ(t.second, b.term(t.first)) << t.first;
}

class CskdFullSizes : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(CskdFullSizes, GradCheckAndFusedMatchesComposed) {
  const auto [B, C] = GetParam();
  const uint64_t seed = static_cast<uint64_t>(500 * B + C);
  const Tensor zw = testing::random_tensor(Shape{B, C}, seed, 2.0f);
  const Tensor tw = testing::random_tensor(Shape{B, C}, seed + 1, 2.0f);
  const Tensor zs = testing::random_tensor(Shape{B, C}, seed + 2, 2.0f);
  const Tensor ts = testing::random_tensor(Shape{B, C}, seed + 3, 2.0f);
  Generator gen(seed + 4);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  const CskdFullOptions o;
  auto f = [&](const Variable& w, const Variable& s) { return distill::cskd_full_loss(w, tw, s, ts, y, o, 1); };
  const auto fused = evaluate2(f, zw, zs);
  const auto composed = evaluate2(
      [&](const Variable& w, const Variable& s) { return distill::cskd_full_loss_composed(w, tw, s, ts, y, o, 1); }, zw,
      zs);
  // f32 composition: cosines near 1 (and Gram cosines nearer still) lose digits to cancellation.
  EXPECT_NEAR_REL(fused.total(), composed.total(), 1e-4, 1e-6);
  for (const char* term : {"ce", "cs_weak", "cs_strong"})
    EXPECT_NEAR_REL(fused.loss.term(term), composed.loss.term(term), 1e-3, 1e-5);
  for (const char* term : {"cc", "bc"}) EXPECT_NEAR_REL(fused.loss.term(term), composed.loss.term(term), 2e-2, 2e-5);
  EXPECT_NEAR_REL(kda::terms_sum(fused.loss), fused.total(), 1e-6, 1e-7);
  for (const auto& [a, b] : {std::make_pair(&fused.grad_weak, &composed.grad_weak),
                             std::make_pair(&fused.grad_strong, &composed.grad_strong)}) {
    double gmax = 0.0;
    for (double g : testing::to_doubles(*a)) gmax = std::max(gmax, std::fabs(g));
    EXPECT_CLOSE(*b, *a, 2e-3 * gmax, 1e-3);
  }
  // T⃗ (from the weak view) is a constant for autograd: the check holds it at its value at zw.
  CskdFullOptions frozen = o;
  frozen.core.temperatures = distill::cswt(zw, tw, o.core).temperatures;
  auto g = [&](const Variable& w, const Variable& s) { return distill::cskd_full_loss(w, tw, s, ts, y, frozen, 1); };
  const auto at_frozen = evaluate2(g, zw, zs);
  EXPECT_EQ(at_frozen.total(), fused.total());
  EXPECT_CLOSE(at_frozen.grad_weak, fused.grad_weak, 0.0, 0.0);
  EXPECT_CLOSE(at_frozen.grad_strong, fused.grad_strong, 0.0, 0.0);
  testing::GradCheckOptions go = kda::scaled_options(fused.grad_weak);
  go.atol = std::min(go.atol, kda::scaled_options(fused.grad_strong).atol);
  EXPECT_TRUE(testing::grad_check([&](const std::vector<Variable>& v) { return g(v[0], v[1]).total; }, {zw, zs}, go));
}

INSTANTIATE_TEST_SUITE_P(Sizes, CskdFullSizes,
                         ::testing::Combine(::testing::Values<int64_t>(1, 2, 7, 64),
                                            ::testing::Values<int64_t>(3, 10, 100)));

// The hand-written Gram gradients (P·(dG + dGᵀ), (dH + dHᵀ)·P, then the softmax) in double.
TEST(CskdFull, GramGradientsMatchDoubleFiniteDifferences) {
  for (const auto& [B, C] : {std::make_pair<int64_t, int64_t>(3, 4), std::make_pair<int64_t, int64_t>(7, 10)}) {
    const fused::Matrix zt = fused::to_host(testing::random_tensor(Shape{B, C}, 100 + B, 2.0f));
    const fused::Matrix z0 = fused::to_host(testing::random_tensor(Shape{B, C}, 110 + B, 2.0f));
    std::vector<double> tau(B);
    for (int64_t i = 0; i < B; ++i) tau[i] = 2.0 + 4.0 * static_cast<double>(i) / (B - 1);
    EXPECT_TRUE(kda::host_grad_check(
        [&](const fused::Matrix& z, fused::Matrix* dz) { return distill::gram_class(z, zt, tau, 1e-8, dz, 1.0); }, z0));
    EXPECT_TRUE(kda::host_grad_check(
        [&](const fused::Matrix& z, fused::Matrix* dz) { return distill::gram_batch(z, zt, tau, 1e-8, dz, 1.0); }, z0));
  }
}

TEST(CskdFull, IdenticalLogitsGiveZeroDistillation) {
  const int64_t B = 8, C = 6;
  const Tensor w = testing::random_tensor(Shape{B, C}, 121, 2.0f), s = testing::random_tensor(Shape{B, C}, 122, 2.0f);
  Generator gen(123);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  CskdFullOptions o;
  o.core.eps = 0.0;  // with ε the terms are O(ε), see the core test
  o.core.w_ce = 0.0;
  const auto e = evaluate2(
      [&](const Variable& a, const Variable& b) { return distill::cskd_full_loss(a, w, b, s, y, o, 1); }, w, s);
  for (const auto& t : e.loss.terms) EXPECT_LT(std::fabs(t.second), 1e-12) << t.first;
  EXPECT_CLOSE(e.grad_weak, std::vector<double>(B * C, 0.0), 1e-9, 0.0);
  EXPECT_CLOSE(e.grad_strong, std::vector<double>(B * C, 0.0), 1e-9, 0.0);
}

TEST(CskdFull, ExtremeLogitsStayFinite) {
  const int64_t B = 8, C = 10;
  const Tensor zw = testing::random_tensor(Shape{B, C}, 131, 1e4f), tw = testing::random_tensor(Shape{B, C}, 132, 1e4f);
  const Tensor zs = testing::random_tensor(Shape{B, C}, 133, 1e4f), ts = testing::random_tensor(Shape{B, C}, 134, 1e4f);
  Generator gen(135);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  const auto e = evaluate2(
      [&](const Variable& w, const Variable& s) { return distill::cskd_full_loss(w, tw, s, ts, y, CskdFullOptions(), 1); },
      zw, zs);
  EXPECT_TRUE(std::isfinite(e.total()));
  for (const auto& t : e.loss.terms) EXPECT_TRUE(std::isfinite(t.second)) << t.first;
  EXPECT_EQ(ops::count_nonfinite(e.grad_weak), 0);
  EXPECT_EQ(ops::count_nonfinite(e.grad_strong), 0);
}

TEST(CskdFull, RequiresTheStrongViewAndValidOptions) {
  const Tensor z = testing::random_tensor(Shape{4, 5}, 1), t = testing::random_tensor(Shape{4, 5}, 2);
  const Tensor y = from_vector<int64_t>({0, 1, 2, 3}, Shape{4});
  const Variable w(z, true);
  EXPECT_THROW(distill::cskd_full_loss(w, t, Variable(), Tensor(), y, CskdFullOptions(), 1), Error);
  EXPECT_THROW(distill::cskd_full_loss(w, t, Variable(testing::random_tensor(Shape{3, 5}, 3)),
                                       testing::random_tensor(Shape{3, 5}, 4), y, CskdFullOptions(), 1),
               Error);
  CskdFullOptions o;
  o.r = 1.5;
  EXPECT_THROW(distill::cskd_full_loss(w, t, w, t, y, o, 1), Error);

  const distill::MethodInfo m = distill::cskd_full_method();
  const CskdFullOptions d, from = CskdFullOptions::from(m.defaults());
  EXPECT_EQ(from.r, d.r);
  EXPECT_EQ(from.rc, d.rc);
  EXPECT_EQ(from.core.T, d.core.T);
  EXPECT_EQ(from.core.alpha, d.core.alpha);
  auto objective = m.make(m.defaults());
  EXPECT_TRUE(objective->needs().strong_view);
  distill::StepInputs in;
  in.student = w;
  in.teacher = t;
  in.labels = y;
  try {
    objective->compute(in);
    FAIL() << "the full recipe ran without the strong view";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("strong view"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace retort
