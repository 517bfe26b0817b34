// DIST (METHODS.md §6): the test vectors, fused against composed, gradient
// checks, identical and extreme logits, and the method row.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "distill/dist.h"
#include "tensor/ops.h"
#include "tests/distill/partb_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::DistOptions;
namespace kdv = testing::kdv;

// Only the distillation part (w_ce = 0, w_kd = 1), so the terms are τ²·β·L_inter and τ²·γ·L_intra.
DistOptions kd_only(const std::string& id, double tau) {
  DistOptions o;
  o.tau = tau;
  o.beta = kdv::param(id, "beta");
  o.gamma = kdv::param(id, "gamma");
  o.eps = kdv::param(id, "eps");
  o.ce_weight = 0.0;
  o.kd_weight = 1.0;
  return o;
}

class DistVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(DistVectors, InterAndIntraTerms) {
  const std::string input = GetParam(), id = "dist." + input;
  const Tensor zs = kdv::logits(input, "Zs"), zt = kdv::logits(input, "Zt"), y = kdv::labels(input);
  for (double tau : {1.0, 4.0}) {
    const std::string key = tau == 1.0 ? "tau1_" : "tau4_";
    const auto r = distill::dist_loss(Variable(zs), zt, y, kd_only(id, tau), 1);
    EXPECT_REL(r.term("inter"), kdv::expected(id, key + "inter")) << "tau " << tau;
    EXPECT_REL(r.term("intra"), kdv::expected(id, key + "intra")) << "tau " << tau;
  }
}

INSTANTIATE_TEST_SUITE_P(Inputs, DistVectors, ::testing::Values("A", "B"));

TEST(Dist, PerRowPearsonOfVectorA) {
  const std::vector<double> rho = kdv::expected_flat("dist.A", "rho_rows_tau1");
  for (int64_t i = 0; i < 2; ++i) {
    const Tensor zs = kdv::logits("A", "Zs").narrow(0, i, 1).contiguous();
    const Tensor zt = kdv::logits("A", "Zt").narrow(0, i, 1).contiguous();
    const Tensor y = kdv::labels("A").narrow(0, i, 1).contiguous();
    const auto r = distill::dist_loss(Variable(zs), zt, y, kd_only("dist.A", 1.0), 1);
    EXPECT_REL(1.0 - r.term("inter"), rho[i]) << "row " << i;
    // One sample: every centred column is zero, so ρ = 0 and L_intra = 1 (the reference's value).
    EXPECT_EQ(r.term("intra"), 1.0);
  }
}

TEST(Dist, VectorBLossAndGradient) {
  const std::string id = "dist.B";
  const Tensor zs = kdv::logits("B", "Zs"), zt = kdv::logits("B", "Zt"), y = kdv::labels("B");
  const DistOptions o = kd_only(id, 4.0);
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::dist_loss(s, zt, y, o, 1); }, zs);
  EXPECT_REL(e.total(), kdv::expected(id, "L_DIST_tau4"));
  EXPECT_CLOSE(e.grad, kdv::expected_flat(id, "dLDIST_dZs_tau4"), kdv::kAtol, kdv::kRtol);
  const auto c = kdv::evaluate([&](const Variable& s) { return distill::dist_loss_composed(s, zt, y, o, 1); }, zs);
  EXPECT_REL(c.total(), kdv::expected(id, "L_DIST_tau4"), kdv::kRtol32, kdv::kAtol32);
  EXPECT_CLOSE(c.grad, kdv::expected_flat(id, "dLDIST_dZs_tau4"), kdv::kAtol32, kdv::kRtol32);

  // The defaults (w_ce = 1, w_kd = 2, τ = 4) give the full training loss.
  const auto full = distill::dist_loss(Variable(zs), zt, y, DistOptions(), 1);
  EXPECT_REL(full.total.value().item<float>(), kdv::expected(id, "L_tau4"));
  EXPECT_REL(kdv::terms_sum(full), kdv::expected(id, "L_tau4"));
  EXPECT_REL(full.term("ce"), kdv::expected("common.B", "CE"));
}

TEST(Dist, EpsilonSitsOnTheProductOfTheNorms) {
  // Without ε the gradient of vector B moves by about 1e-4 relative (METHODS.md §6.1):
  // the check that ε is in the right place has teeth.
  const Tensor zs = kdv::logits("B", "Zs"), zt = kdv::logits("B", "Zt"), y = kdv::labels("B");
  DistOptions o = kd_only("dist.B", 4.0);
  o.eps = 0.0;
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::dist_loss(s, zt, y, o, 1); }, zs);
  EXPECT_FALSE(testing::close(e.grad, kdv::expected_flat("dist.B", "dLDIST_dZs_tau4"), kdv::kAtol, kdv::kRtol));
}

class DistSizes : public ::testing::TestWithParam<kdv::Size> {};

TEST_P(DistSizes, FusedMatchesComposed) {
  const auto [B, C] = GetParam();
  const Tensor zs = testing::random_tensor(Shape{B, C}, 31 + B * C, 3.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, 37 + B * C, 3.0f);
  Generator gen(B + C);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  for (double tau : {1.0, 4.0}) {
    DistOptions o;
    o.tau = tau;
    const auto f = kdv::evaluate([&](const Variable& s) { return distill::dist_loss(s, zt, y, o, 1); }, zs);
    EXPECT_REL(kdv::terms_sum(f.loss), f.total(), 1e-6, 1e-6);
    if (B == 1) {
      // The composed sqrt of a zero centred column has no usable gradient: values only.
      const auto c = distill::dist_loss_composed(Variable(zs), zt, y, o, 1);
      for (const char* t : {"ce", "inter", "intra"}) EXPECT_REL(f.loss.term(t), c.term(t), 1e-4, 1e-5) << t;
      continue;
    }
    const auto c = kdv::evaluate([&](const Variable& s) { return distill::dist_loss_composed(s, zt, y, o, 1); }, zs);
    EXPECT_REL(f.total(), c.total(), 1e-4, 1e-5);
    for (const char* t : {"ce", "inter", "intra"}) EXPECT_REL(f.loss.term(t), c.loss.term(t), 1e-4, 1e-5) << t;
    EXPECT_CLOSE(f.grad, c.grad, 1e-5, 2e-3);
  }
}

TEST_P(DistSizes, GradCheck) {
  const auto [B, C] = GetParam();
  const Tensor zs = testing::random_tensor(Shape{B, C}, 41 + B * C, 2.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, 43 + B * C, 2.0f);
  Generator gen(7 * B + C);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  DistOptions o;
  o.tau = 1.0;  // sharper rows: larger, more telling gradients
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::dist_loss(v[0], zt, y, o, 1).total; }, {zs}));
  if (B >= 2) {
    EXPECT_TRUE(testing::grad_check(
        [&](const std::vector<Variable>& v) { return distill::dist_loss_composed(v[0], zt, y, o, 1).total; }, {zs}));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, DistSizes,
                         ::testing::ValuesIn(kdv::all_sizes()), kdv::size_name);

TEST(Dist, IdenticalLogitsGiveEpsilonSizedTerms) {
  // ρ_ε(a, a) = ‖ã‖²/(‖ã‖² + ε): the terms are ε/‖ã‖²-sized, not exactly zero.
  const Tensor z = testing::random_tensor(Shape{16, 10}, 5, 3.0f);
  Generator gen(3);
  const Tensor y = ops::randint(Shape{16}, 10, gen);
  DistOptions o;
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::dist_loss(s, z, y, o, 1); }, z);
  EXPECT_GE(e.loss.term("inter"), 0.0);
  EXPECT_LT(e.loss.term("inter"), 1e-5);
  EXPECT_GE(e.loss.term("intra"), 0.0);
  EXPECT_LT(e.loss.term("intra"), 1e-5);
  const Tensor kd_grad = ops::sub(e.grad, ops::cross_entropy_backward(z, y, 0.0f, 1.0f));
  EXPECT_CLOSE(kd_grad, std::vector<double>(160, 0.0), 1e-4, 0.0);
  // With ε = 0 the correlation of a vector with itself is exactly 1.
  o.eps = 0.0;
  const auto r = distill::dist_loss(Variable(z), z, y, o, 1);
  EXPECT_NEAR(r.term("inter"), 0.0, 1e-12);
  EXPECT_NEAR(r.term("intra"), 0.0, 1e-12);
}

TEST(Dist, ExtremeLogitsStayFinite) {
  const Tensor zs = from_vector<float>({1e4f, -1e4f, 0.0f, 5e3f, -1e4f, 1e4f, 2.0f, -3e3f, 3.0f, 3.0f, 3.0f, 3.0f},
                                       Shape{3, 4});
  const Tensor zt = from_vector<float>({-1e4f, 1e4f, 3e3f, 0.0f, 1e4f, -1e4f, 9e3f, 1.0f, 1e4f, 1e4f, -1e4f, 0.0f},
                                       Shape{3, 4});
  const Tensor y = from_vector<int64_t>({0, 1, 3}, Shape{3});
  for (double tau : {1.0, 4.0}) {
    DistOptions o;
    o.tau = tau;
    const auto e = kdv::evaluate([&](const Variable& s) { return distill::dist_loss(s, zt, y, o, 1); }, zs);
    EXPECT_TRUE(std::isfinite(e.total()));
    for (const auto& t : e.loss.terms) EXPECT_TRUE(std::isfinite(t.second)) << t.first;
    EXPECT_EQ(ops::count_nonfinite(e.grad), 0);
  }
}

TEST(Dist, MethodRowAndObjective) {
  const distill::MethodInfo m = distill::dist_method();
  EXPECT_EQ(m.name, "dist");
  const distill::Options d = m.defaults();
  EXPECT_EQ(d.get("tau"), 4.0);
  EXPECT_EQ(d.get("beta"), 1.0);
  EXPECT_EQ(d.get("gamma"), 1.0);
  EXPECT_EQ(d.get("ce_weight"), 1.0);
  EXPECT_EQ(d.get("kd_weight"), 2.0);
  EXPECT_EQ(d.get("eps"), 1e-8);
  EXPECT_EQ(m.for_pair("resnet34_imagenet", "resnet18_imagenet").get("tau"), 1.0);
  std::unique_ptr<distill::Objective> obj = m.make(d);
  distill::StepInputs in;
  in.student = Variable(kdv::logits("B", "Zs"), true);
  in.teacher = kdv::logits("B", "Zt");
  in.labels = kdv::labels("B");
  EXPECT_REL(obj->compute(in).total.value().item<float>(), kdv::expected("dist.B", "L_tau4"));
}

}  // namespace
}  // namespace retort
