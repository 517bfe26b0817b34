// Backward-pass KD reconstruction (METHODS.md §9): the linear-network vectors
// (input gradient, normalised and sign steps, two steps at T = 2), the
// divergence node, the sample generator's options and the loss.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "distill/bpkd.h"
#include "distill/kd.h"
#include "tensor/ops.h"
#include "tests/distill/partb_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::BpkdOptions;
namespace ag = autograd;
namespace kdv = testing::kdv;

const char* const kId = "bpkd.linear";

// t(x) = W_t x, s(x) = W_s x on rows: logits = x W^T.
struct Linear {
  Variable w;
  Variable operator()(const Variable& x) const { return ag::matmul(x, w, false, true); }
};
Linear weights(const char* key, bool requires_grad = false) {
  return Linear{Variable(kdv::matrix(kdv::vec(kId).at("params").at(key)), requires_grad)};
}
Tensor x_vector() {
  const std::vector<double> x = kdv::flat(kdv::vec(kId).at("params").at("x"));
  return from_vector<float>(std::vector<float>(x.begin(), x.end()), Shape{1, 2});
}

BpkdOptions with(double T, distill::BpkdStep step, double eta, int steps) {
  BpkdOptions o;
  o.T = T, o.step = step, o.eta = eta, o.steps = steps;
  return o;
}

TEST(Bpkd, LinearNetworksAtT1) {
  const Linear t = weights("W_t"), s = weights("W_s");
  const Tensor x = x_vector();
  EXPECT_CLOSE(t(Variable(x)).value(), kdv::expected_flat(kId, "z_t"), kdv::kAtol, kdv::kRtol);
  EXPECT_CLOSE(s(Variable(x)).value(), kdv::expected_flat(kId, "z_s"), kdv::kAtol, kdv::kRtol);
  const auto g = distill::bpkd_input_gradient(s, t, x, with(1, distill::BpkdStep::Normalized, 0.5, 1));
  EXPECT_REL(g.divergence, kdv::expected(kId, "D_T1"));
  EXPECT_CLOSE(g.grad, kdv::expected_flat(kId, "grad_T1"), kdv::kAtol, kdv::kRtol);

  const auto n = distill::bpkd_aux_samples(s, t, x, with(1, distill::BpkdStep::Normalized, 0.5, 1));
  EXPECT_EQ(n.count, 1);
  ASSERT_EQ(n.divergence.size(), 1u);
  EXPECT_REL(n.divergence[0], kdv::expected(kId, "D_T1"));
  EXPECT_CLOSE(n.x, kdv::expected_flat(kId, "x_norm_step"), kdv::kAtol, kdv::kRtol);
  EXPECT_REL(distill::bpkd_input_gradient(s, t, n.x, with(1, distill::BpkdStep::Normalized, 0.5, 1)).divergence,
             kdv::expected(kId, "D_norm_step"));

  const auto sg = distill::bpkd_aux_samples(s, t, x, with(1, distill::BpkdStep::Sign, 0.5, 1));
  EXPECT_CLOSE(sg.x, kdv::expected_flat(kId, "x_sign_step"), kdv::kAtol, kdv::kRtol);
  EXPECT_REL(distill::bpkd_input_gradient(s, t, sg.x, with(1, distill::BpkdStep::Sign, 0.5, 1)).divergence,
             kdv::expected(kId, "D_sign_step"));

  // The raw step is x + η·g.
  const auto raw = distill::bpkd_aux_samples(s, t, x, with(1, distill::BpkdStep::Raw, 0.5, 1));
  const std::vector<double> gx = kdv::expected_flat(kId, "grad_T1");
  EXPECT_CLOSE(raw.x, std::vector<double>{1 + 0.5 * gx[0], 2 + 0.5 * gx[1]}, 1e-7, 1e-6);
}

TEST(Bpkd, TwoNormalisedStepsAtT2) {
  const Linear t = weights("W_t", true), s = weights("W_s", true);
  const Tensor x = x_vector();
  const BpkdOptions o = with(2, distill::BpkdStep::Normalized, 0.25, 2);
  const auto g = distill::bpkd_input_gradient(s, t, x, o);
  EXPECT_REL(g.divergence, kdv::expected(kId, "D_T2"));
  EXPECT_CLOSE(g.grad, kdv::expected_flat(kId, "grad_T2"), kdv::kAtol, kdv::kRtol);

  const auto one = distill::bpkd_aux_samples(s, t, x, with(2, distill::BpkdStep::Normalized, 0.25, 1));
  EXPECT_CLOSE(one.x, kdv::expected_flat(kId, "x_step1_T2"), kdv::kAtol, kdv::kRtol);
  const auto two = distill::bpkd_aux_samples(s, t, x, o);
  ASSERT_EQ(two.divergence.size(), 2u);
  EXPECT_REL(two.divergence[0], kdv::expected(kId, "D_T2"));
  EXPECT_REL(two.divergence[1], kdv::expected(kId, "D_step1_T2"));
  EXPECT_CLOSE(two.x, kdv::expected_flat(kId, "x_step2_T2"), kdv::kAtol, kdv::kRtol);
  const Variable zt = t(Variable(two.x)), zs = s(Variable(two.x));
  EXPECT_REL(distill::bpkd_divergence(zt, zs, o).value().item<float>(), kdv::expected(kId, "D_step2_T2"));
  // The ascent asked for input gradients only: the weights received nothing.
  EXPECT_FALSE(t.w.grad().defined());
  EXPECT_FALSE(s.w.grad().defined());

  // The loss on the auxiliary sample: a_aux·T²·KL with batchmean over its one row.
  BpkdOptions lo = o;
  lo.a_aux = 1.0;
  const Tensor zb = from_vector<float>({0.1f, 0.2f, 0.3f}, Shape{1, 3});
  const auto r = distill::bpkd_loss(Variable(zb), zb, from_vector<int64_t>({0}, Shape{1}), Variable(zs.value()),
                                    zt.value(), lo, 1);
  EXPECT_REL(r.term("aux_kd"), kdv::expected(kId, "T2D_step2_T2"));
  EXPECT_EQ(r.term("kd"), 0.0);  // identical logits on the batch
}

TEST(Bpkd, DivergenceNodeGradients) {
  for (int div = 0; div < 2; ++div) {
    for (auto [N, C] : std::vector<std::pair<int64_t, int64_t>>{{1, 3}, {2, 10}, {7, 100}, {64, 10}}) {
      BpkdOptions o;
      o.T = 2.0;
      o.divergence = static_cast<distill::BpkdDivergence>(div);
      const Tensor u = testing::random_tensor(Shape{N, C}, 101 + N * C, 2.0f);
      const Tensor v = testing::random_tensor(Shape{N, C}, 103 + N * C, 2.0f);
      EXPECT_TRUE(testing::grad_check(
          [&](const std::vector<Variable>& in) { return distill::bpkd_divergence(in[0], in[1], o); }, {u, v}))
          << "divergence " << div << " " << N << "x" << C;
    }
  }
  // KL: D equals the sum over rows of part A's KD loss / T² · B.
  const Tensor u = testing::random_tensor(Shape{5, 7}, 1, 2.0f), v = testing::random_tensor(Shape{5, 7}, 2, 2.0f);
  distill::KdOptions k;
  k.T = 3, k.w_ce = 0, k.w_kd = 1;
  BpkdOptions o;
  o.T = 3;
  EXPECT_REL(distill::bpkd_divergence(Variable(u), Variable(v), o).value().item<float>(),
             distill::kd_loss(Variable(v), u, Tensor(), k, 1).term("kd") / 9 * 5, 1e-6, 1e-9);
  // Identical logits: D = 0 and no gradient.
  const Variable a(u, true), b(u.clone(), true);
  const Variable d = distill::bpkd_divergence(a, b, o);
  EXPECT_EQ(d.value().item<float>(), 0.0f);
  const std::vector<Tensor> g = ag::grad({d}, {a, b});
  EXPECT_CLOSE(g[0], std::vector<double>(35, 0.0), 0, 0);
  EXPECT_CLOSE(g[1], std::vector<double>(35, 0.0), 0, 0);
  // Extreme logits stay finite.
  const Tensor e1 = from_vector<float>({1e4f, -1e4f, 0.0f, -5e3f, 1e4f, 2.0f}, Shape{2, 3});
  const Tensor e2 = from_vector<float>({-1e4f, 1e4f, 3e3f, 1e4f, -1e4f, 9e3f}, Shape{2, 3});
  const Variable ea(e1, true), eb(e2, true);
  const Variable de = distill::bpkd_divergence(ea, eb, o);
  EXPECT_TRUE(std::isfinite(de.value().item<float>()));
  for (const Tensor& t : ag::grad({de}, {ea, eb})) EXPECT_EQ(ops::count_nonfinite(t), 0);
}

TEST(Bpkd, InputGradientThroughNonlinearNetworks) {
  // Two small tanh networks on inputs [4, 2, 2, 3] (NHWC images): the generator's
  // gradient equals the one autograd gives the divergence of their outputs.
  const Variable w1(testing::random_tensor(Shape{6, 12}, 11), true), w2(testing::random_tensor(Shape{5, 6}, 12), true);
  const Variable v1(testing::random_tensor(Shape{6, 12}, 13), true), v2(testing::random_tensor(Shape{5, 6}, 14), true);
  auto net = [](const Variable& a, const Variable& b) {
    return [a, b](const Variable& x) {
      const Variable flat = ag::reshape(x, {x.size(0), -1});
      return ag::matmul(ag::tanh(ag::matmul(flat, a, false, true)), b, false, true);
    };
  };
  const distill::NetworkFn teacher = net(w1, w2), student = net(v1, v2);
  const Tensor x = testing::random_tensor(Shape{4, 2, 2, 3}, 15);
  const BpkdOptions o;
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& in) { return distill::bpkd_divergence(teacher(in[0]), student(in[0]), o); },
      {x}));
  for (const Variable& w : {w1, w2, v1, v2}) w.zero_grad();  // grad_check's backward reached them
  const auto g = distill::bpkd_input_gradient(student, teacher, x, o);
  const Variable xv(x, true);
  const Tensor ref = ag::grad({distill::bpkd_divergence(teacher(xv), student(xv), o)}, {xv})[0];
  EXPECT_CLOSE(g.grad, ref, 1e-9, 1e-6);
  EXPECT_EQ(g.grad.shape(), x.shape());
  // The normalised step moves every sample by exactly η in L2, and ascends D.
  BpkdOptions one = o;
  one.eta = 0.1;
  const auto s = distill::bpkd_aux_samples(student, teacher, x, one);
  const std::vector<double> d = testing::to_doubles(ops::sub(s.x, x));
  for (int i = 0; i < 4; ++i) {
    double n2 = 0;
    for (int k = 0; k < 12; ++k) n2 += d[i * 12 + k] * d[i * 12 + k];
    EXPECT_NEAR(std::sqrt(n2), 0.1, 1e-6) << "sample " << i;
  }
  EXPECT_GT(distill::bpkd_input_gradient(student, teacher, s.x, o).divergence, g.divergence);
  for (const Variable& w : {w1, w2, v1, v2}) EXPECT_FALSE(w.grad().defined());
  {
    ag::NoGradGuard guard;
    EXPECT_THROW(distill::bpkd_input_gradient(student, teacher, x, o), Error);
  }
}

TEST(Bpkd, FractionClipAndBall) {
  const Linear t = weights("W_t"), s = weights("W_s");
  const Tensor x = from_vector<float>({1, 2, 0.5f, -1, -2, 0.3f, 0, 1}, Shape{4, 2});
  BpkdOptions o = with(1, distill::BpkdStep::Sign, 0.5, 3);
  o.fraction = 0.5;
  const auto half = distill::bpkd_aux_samples(s, t, x, o);
  EXPECT_EQ(half.count, 2);
  EXPECT_EQ(half.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(half.divergence.size(), 3u);
  // Three sign steps of 0.5 move each coordinate by 1.5 at most; a ball of 0.6 caps it.
  o.ball_radius = 0.6;
  const auto ball = distill::bpkd_aux_samples(s, t, x, o);
  const std::vector<double> moved = testing::to_doubles(ops::sub(ball.x, x.narrow(0, 0, 2)));
  for (double m : moved) EXPECT_LE(std::fabs(m), 0.6 + 1e-6);
  o.ball_radius = 0, o.clip_range = true, o.clip_min = -0.2, o.clip_max = 1.2;
  const auto clip = distill::bpkd_aux_samples(s, t, x, o);
  for (double v : testing::to_doubles(clip.x)) EXPECT_TRUE(v >= -0.2f && v <= 1.2f) << v;
  o.fraction = 0;
  EXPECT_EQ(distill::bpkd_aux_samples(s, t, x, o).count, 0);
  o.fraction = 0.1;  // a positive share of a small batch still makes one sample
  EXPECT_EQ(distill::bpkd_aux_samples(s, t, x, o).count, 1);
  o = with(1, distill::BpkdStep::Normalized, 0.5, 0);
  EXPECT_CLOSE(distill::bpkd_aux_samples(s, t, x, o).x, x, 0, 0);  // K = 0: the samples themselves
}

TEST(Bpkd, LossTermsAndObjective) {
  const Tensor zs = kdv::logits("B", "Zs"), zt = kdv::logits("B", "Zt"), y = kdv::labels("B");
  const Tensor as = kdv::logits("B2", "Zs").narrow(0, 0, 2).contiguous();
  const Tensor at = kdv::logits("B2", "Zt").narrow(0, 0, 2).contiguous();
  const BpkdOptions o;  // a = a' = 0.9, T = 4
  const Variable s(zs, true), sa(as, true);
  const auto r = distill::bpkd_loss(s, zt, y, sa, at, o, 1);
  EXPECT_REL(r.term("ce"), 0.1 * kdv::expected("common.B", "CE"));
  EXPECT_REL(r.term("kd"), 0.9 * kdv::expected("kd.B", "KD_T4"));
  distill::KdOptions k;
  k.T = 4, k.w_ce = 0, k.w_kd = 0.9;
  EXPECT_REL(r.term("aux_kd"), distill::kd_loss(Variable(as), at, Tensor(), k, 1).term("kd"), 1e-12, 0);
  EXPECT_EQ(r.term("aux_ce"), 0.0);
  EXPECT_REL(kdv::terms_sum(r), r.total.value().item<float>(), 1e-6, 0);
  r.total.backward();
  EXPECT_TRUE(sa.grad().defined());
  // Without auxiliary logits only the batch terms remain.
  const auto plain = distill::bpkd_loss(Variable(zs), zt, y, Variable(), Tensor(), o, 1);
  EXPECT_EQ(plain.term("aux_kd"), 0.0);
  EXPECT_REL(plain.total.value().item<float>(), r.term("ce") + r.term("kd"), 1e-6, 0);
  // aux_ce uses the labels of the rows the samples came from.
  BpkdOptions c = o;
  c.aux_ce = 1.0;
  const auto rc = distill::bpkd_loss(Variable(zs), zt, y, Variable(as), at, c, 1);
  const Variable ce_aux = ag::cross_entropy(Variable(as), y.narrow(0, 0, 2).contiguous());
  EXPECT_REL(rc.term("aux_ce"), ce_aux.value().item<float>(), 1e-6, 0);
  EXPECT_THROW(distill::bpkd_loss(Variable(zs), zt, y, Variable(kdv::logits("A", "Zs")), kdv::logits("A", "Zt"), o, 1),
               Error);

  const distill::MethodInfo m = distill::bpkd_method();
  EXPECT_EQ(m.name, "bpkd");
  EXPECT_NE(m.title.find("reconstruction"), std::string::npos);
  const distill::Options d = m.defaults();
  EXPECT_EQ(d.get("eta"), 0.5);
  EXPECT_EQ(d.get("steps"), 1.0);
  EXPECT_EQ(d.get("fraction"), 1.0);
  EXPECT_EQ(d.get("step_rule"), 0.0);
  EXPECT_EQ(d.get("a"), 0.9);
  EXPECT_EQ(d.get("a_aux"), 0.9);
  EXPECT_EQ(d.get("T"), 4.0);
  const BpkdOptions parsed = distill::bpkd_options(d);
  EXPECT_EQ(parsed.step, distill::BpkdStep::Normalized);
  distill::Options bad = d;
  bad.set("steps", 1.5);
  EXPECT_THROW(m.make(bad), Error);
  std::unique_ptr<distill::Objective> obj = m.make(d);
  EXPECT_TRUE(obj->needs().aux_samples);
  distill::StepInputs in;
  in.student = Variable(zs, true);
  in.teacher = zt;
  in.labels = y;
  in.student_aux = Variable(as, true);
  in.teacher_aux = at;
  EXPECT_REL(obj->compute(in).total.value().item<float>(), r.total.value().item<float>(), 1e-7, 0);
}

}  // namespace
}  // namespace retort
