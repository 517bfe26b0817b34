// CTKD (METHODS.md §11): the test vector (T, its gradient, the θ gradient with
// the λ_e sign flip), the gradient-reversal node, fused against composed KD at
// a learnable temperature, gradient checks, and the objective's parameter.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "distill/ctkd.h"
#include "tensor/ops.h"
#include "tests/distill/partb_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::CtkdOptions;
namespace ag = autograd;
namespace kdv = testing::kdv;

const char* const kId = "ctkd.A";

CtkdOptions vector_options() {
  CtkdOptions o;
  o.theta_init = kdv::param(kId, "theta");
  o.t_start = kdv::param(kId, "t_start");
  o.t_end = kdv::param(kId, "t_end");
  o.ce_weight = kdv::param(kId, "ce_weight");
  o.kd_weight = kdv::param(kId, "kd_weight");
  o.cosine_epochs = kdv::param(kId, "cosine_epochs");
  return o;
}

Variable theta_leaf() { return Variable(full(Shape{1}, kdv::param(kId, "theta")), true); }

TEST(Ctkd, TemperatureAndItsDerivative) {
  const Variable theta = theta_leaf();
  const Variable T = distill::ctkd_temperature(theta, vector_options(), 1.0);  // λ = 1: the plain derivative
  EXPECT_REL(T.value().item<float>(), kdv::expected(kId, "T"));
  const Tensor g = ag::grad({T}, {theta}, {ones(Shape{1})})[0];
  EXPECT_REL(g.item<float>(), kdv::expected(kId, "dT_dtheta"));
}

TEST(Ctkd, KdAtTheLearnableTemperature) {
  const Tensor zs = kdv::logits("A", "Zs"), zt = kdv::logits("A", "Zt");
  const Variable theta = theta_leaf();
  const Variable T = distill::ctkd_temperature(theta, vector_options(), 1.0);
  const Variable s(zs.clone(), true);
  const Variable kd = distill::kd_at_temperature(s, zt, T);
  EXPECT_REL(kd.value().item<float>(), kdv::expected(kId, "KD"));
  const std::vector<Tensor> g = ag::grad({kd}, {s, T, theta}, {}, /*retain_graph=*/true);
  EXPECT_CLOSE(g[0], kdv::expected_flat(kId, "dKD_dZs"), kdv::kAtol, kdv::kRtol);
  EXPECT_REL(g[1].item<float>(), kdv::expected(kId, "dKD_dT"));
  EXPECT_REL(g[2].item<float>(), kdv::expected(kId, "dKD_dtheta"));

  // The composed version agrees to the f32 tolerance.
  const Variable kc = distill::kd_at_temperature_composed(s, zt, T);
  EXPECT_REL(kc.value().item<float>(), kdv::expected(kId, "KD"), kdv::kRtol32, kdv::kAtol32);
  const std::vector<Tensor> gc = ag::grad({kc}, {s, T});
  EXPECT_CLOSE(gc[0], kdv::expected_flat(kId, "dKD_dZs"), kdv::kAtol32, kdv::kRtol32);
  // ∂L_KD/∂T is a small difference of O(1e-2) terms: f32 autograd keeps only
  // about 3 digits of it, which is why the fused pass works in double.
  EXPECT_REL(gc[1].item<float>(), kdv::expected(kId, "dKD_dT"), 1e-2, 1e-9);

  // Input B at the same T.
  const Variable kb = distill::kd_at_temperature(Variable(kdv::logits("B", "Zs")), kdv::logits("B", "Zt"), T);
  EXPECT_REL(kb.value().item<float>(), kdv::expected(kId, "KD_B"));
}

TEST(Ctkd, LambdaScheduleAndThetaGradientPerEpoch) {
  const CtkdOptions o = vector_options();
  const Tensor zs = kdv::logits("A", "Zs"), zt = kdv::logits("A", "Zt"), y = kdv::labels("A");
  for (int e : {1, 5, 10, 20}) {
    const std::string sfx = "_e" + std::to_string(e);
    EXPECT_REL(distill::ctkd_lambda(e, o), kdv::expected(kId, "lambda" + sfx)) << "epoch " << e;
    const Variable theta = theta_leaf();
    const distill::LossResult r = distill::ctkd_loss(Variable(zs.clone(), true), zt, y, theta, o, e);
    EXPECT_REL(r.total.value().item<float>(), kdv::expected(kId, "L")) << "epoch " << e;
    EXPECT_REL(kdv::terms_sum(r), kdv::expected(kId, "L")) << "epoch " << e;
    r.total.backward();
    // What θ receives: λ_e·w_kd·∂L_KD/∂θ (the cross-entropy does not depend on θ).
    EXPECT_REL(theta.grad().item<float>(), kdv::expected(kId, "theta_grad" + sfx)) << "epoch " << e;
    EXPECT_REL(theta.grad().item<float>() / o.kd_weight, kdv::expected(kId, "theta_grad_unscaled" + sfx))
        << "epoch " << e;
  }
  // λ starts at 0 (no gradient before the curriculum starts) and the sign flips:
  // ∂L_KD/∂θ < 0 here, yet θ receives a positive gradient (it ascends L_KD).
  EXPECT_LT(kdv::expected(kId, "dKD_dtheta"), 0.0);
  EXPECT_GT(kdv::expected(kId, "theta_grad_e1"), 0.0);
  EXPECT_THROW(distill::ctkd_lambda(0, o), Error);
}

TEST(Ctkd, GradientReversalNode) {
  const Variable x(from_vector<float>({1.5f, -2.0f}, Shape{2}), true);
  const Variable r = distill::gradient_reversal(x, -0.25);
  EXPECT_CLOSE(r.value(), std::vector<double>{1.5, -2.0}, 0, 0);
  ag::sum(ag::mul(r, r)).backward();
  EXPECT_CLOSE(x.grad(), std::vector<double>{-0.25 * 3.0, -0.25 * -4.0}, 1e-7, 0);
}

class CtkdSizes : public ::testing::TestWithParam<kdv::Size> {};

TEST_P(CtkdSizes, FusedMatchesComposedAndGradCheck) {
  const auto [B, C] = GetParam();
  const Tensor zs = testing::random_tensor(Shape{B, C}, 71 + B * C, 3.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, 73 + B * C, 3.0f);
  const Tensor T0 = full(Shape{1}, 2.5);
  const Variable s(zs.clone(), true), T(T0.clone(), true);
  const Variable f = distill::kd_at_temperature(s, zt, T), c = distill::kd_at_temperature_composed(s, zt, T);
  EXPECT_REL(f.value().item<float>(), c.value().item<float>(), 1e-4, 1e-6);
  const std::vector<Tensor> gf = ag::grad({f}, {s, T}), gc = ag::grad({c}, {s, T});
  EXPECT_CLOSE(gf[0], gc[0], 1e-6, 1e-3);
  EXPECT_CLOSE(gf[1], gc[1], 1e-5, 2e-3);
  // Both inputs: the logits and the temperature.
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::kd_at_temperature(v[0], zt, v[1]); }, {zs, T0}));
  // Through θ with the reversal at λ = 1 (epoch >= 10 gives −1, checked above).
  const Tensor y = ops::argmax(zt, 1);
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) {
        CtkdOptions o;
        o.lambda_min = 1.0, o.lambda_max = 1.0;
        return distill::ctkd_loss(v[0], zt, y, v[1], o, 3).total;
      },
      {zs, full(Shape{1}, 0.3)}));
}

INSTANTIATE_TEST_SUITE_P(Shapes, CtkdSizes,
                         ::testing::ValuesIn(kdv::all_sizes()), kdv::size_name);

TEST(Ctkd, IdenticalAndExtremeLogits) {
  const Tensor z = testing::random_tensor(Shape{5, 10}, 2, 3.0f);
  const Variable T(full(Shape{1}, 3.0), true);
  const Variable s(z.clone(), true);
  const Variable kd = distill::kd_at_temperature(s, z, T);
  EXPECT_EQ(kd.value().item<float>(), 0.0f);
  const std::vector<Tensor> g = ag::grad({kd}, {s, T});
  EXPECT_CLOSE(g[0], std::vector<double>(50, 0.0), 0, 0);
  EXPECT_EQ(g[1].item<float>(), 0.0f);

  const Tensor zs = from_vector<float>({1e4f, -1e4f, 0.0f, -5e3f, 1e4f, 2.0f}, Shape{2, 3});
  const Tensor zt = from_vector<float>({-1e4f, 1e4f, 3e3f, 1e4f, -1e4f, 9e3f}, Shape{2, 3});
  const Variable s2(zs.clone(), true);
  const Variable k2 = distill::kd_at_temperature(s2, zt, T);
  EXPECT_TRUE(std::isfinite(k2.value().item<float>()));
  const std::vector<Tensor> g2 = ag::grad({k2}, {s2, T});
  EXPECT_EQ(ops::count_nonfinite(g2[0]), 0);
  EXPECT_EQ(ops::count_nonfinite(g2[1]), 0);
}

TEST(Ctkd, ObjectiveOwnsTheta) {
  const distill::MethodInfo m = distill::ctkd_method();
  EXPECT_EQ(m.name, "ctkd");
  const distill::Options d = m.defaults();
  EXPECT_EQ(d.get("theta"), 1.0);
  EXPECT_EQ(d.get("t_start"), 1.0);
  EXPECT_EQ(d.get("t_end"), 20.0);
  EXPECT_EQ(d.get("ce_weight"), 0.1);
  EXPECT_EQ(d.get("kd_weight"), 0.9);
  EXPECT_EQ(d.get("cosine_epochs"), 10.0);
  std::unique_ptr<distill::Objective> obj = m.make(d);
  std::vector<Variable> params = obj->parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_TRUE(params[0].requires_grad());
  EXPECT_EQ(params[0].shape(), Shape{1});
  distill::StepInputs in;
  in.student = Variable(kdv::logits("A", "Zs"), true);
  in.teacher = kdv::logits("A", "Zt");
  in.labels = kdv::labels("A");
  in.epoch = 5;
  const distill::LossResult r = obj->compute(in);
  EXPECT_REL(r.total.value().item<float>(), kdv::expected(kId, "L"));
  r.total.backward();
  EXPECT_REL(params[0].grad().item<float>(), kdv::expected(kId, "theta_grad_e5"));
  // The student receives 0.1·dCE/dZs + 0.9·dL_KD/dZs.
  const std::vector<double> ce = kdv::expected_flat("common.A", "dCE_dZs"), kd = kdv::expected_flat(kId, "dKD_dZs");
  std::vector<double> want(ce.size());
  for (size_t i = 0; i < ce.size(); ++i) want[i] = 0.1 * ce[i] + 0.9 * kd[i];
  EXPECT_CLOSE(in.student.grad(), want, kdv::kAtol, kdv::kRtol);
}

}  // namespace
}  // namespace retort
