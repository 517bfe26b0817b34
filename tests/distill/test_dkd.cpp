// DKD (METHODS.md §5): the test vectors, fused against composed, gradient
// checks, identical logits, extreme logits, warm-up and the method row.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "distill/dkd.h"
#include "tensor/ops.h"
#include "tests/distill/partb_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::DkdOptions;
namespace kdv = testing::kdv;

DkdOptions vector_options(const std::string& id) {
  DkdOptions o;
  o.T = kdv::param(id, "T");
  o.alpha = kdv::param(id, "alpha");
  o.beta = kdv::param(id, "beta");
  o.warmup = kdv::param(id, "warmup");
  o.ce_weight = kdv::param(id, "ce_weight");
  return o;
}

class DkdVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(DkdVectors, TermsAndGradient) {
  const std::string input = GetParam();
  const std::string id = "dkd." + input;
  const Tensor zs = kdv::logits(input, "Zs"), zt = kdv::logits(input, "Zt"), y = kdv::labels(input);
  DkdOptions o = vector_options(id);
  o.ce_weight = 0.0;  // the vector's gradient is of α·TCKD + β·NCKD alone
  const int epoch = 20;
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::dkd_loss(s, zt, y, o, epoch); }, zs);
  EXPECT_REL(e.loss.term("tckd"), o.alpha * kdv::expected(id, "TCKD"));
  EXPECT_REL(e.loss.term("nckd"), o.beta * kdv::expected(id, "NCKD"));
  EXPECT_REL(e.total(), kdv::expected(id, "DKD"));
  EXPECT_CLOSE(e.grad, kdv::expected_flat(id, "dDKD_dZs"), kdv::kAtol, kdv::kRtol);

  // The composed (reference-shaped) version agrees within the f32 tolerance.
  const auto c = kdv::evaluate([&](const Variable& s) { return distill::dkd_loss_composed(s, zt, y, o, epoch); }, zs);
  EXPECT_REL(c.total(), kdv::expected(id, "DKD"), kdv::kRtol32, kdv::kAtol32);
  EXPECT_CLOSE(c.grad, kdv::expected_flat(id, "dDKD_dZs"), kdv::kAtol32, kdv::kRtol32);
}

INSTANTIATE_TEST_SUITE_P(Inputs, DkdVectors, ::testing::Values("A", "B"));

TEST(Dkd, VectorAWithCrossEntropyAtEpoch5) {
  const std::string id = "dkd.A";
  const auto r = distill::dkd_loss(Variable(kdv::logits("A", "Zs")), kdv::logits("A", "Zt"), kdv::labels("A"),
                                   vector_options(id), 5);
  EXPECT_REL(r.total.value().item<float>(), kdv::expected(id, "L_epoch_5"));
  EXPECT_REL(r.term("ce"), kdv::expected("common.A", "CE"));
  EXPECT_REL(kdv::terms_sum(r), kdv::expected(id, "L_epoch_5"));
}

TEST(Dkd, DecompositionIdentityOnSample0) {
  // KL(p̂‖p) = KL(b̂‖b) + (1 − p̂_y)·KL(non-target) per sample, before T².
  const std::string id = "dkd.A";
  const Tensor zs = kdv::logits("A", "Zs").narrow(0, 0, 1).contiguous();
  const Tensor zt = kdv::logits("A", "Zt").narrow(0, 0, 1).contiguous();
  const Tensor y = kdv::labels("A").narrow(0, 0, 1).contiguous();
  DkdOptions o = vector_options(id);
  o.alpha = o.beta = 1.0, o.ce_weight = 0.0;
  const auto r = distill::dkd_loss(Variable(zs), zt, y, o, 20);
  const double T2 = o.T * o.T;
  const double pt_y = ops::softmax(zt, static_cast<float>(o.T)).data<float>()[y.data<int64_t>()[0]];
  const double rhs = r.term("tckd") / T2 + (1.0 - pt_y) * r.term("nckd") / T2;
  EXPECT_REL(rhs, kdv::expected(id, "identity_sample0_rhs"));
  // The left side by hand, in double.
  std::vector<double> u = testing::to_doubles(zt), v = testing::to_doubles(zs);
  double lu = 0, lv = 0;
  for (int k = 0; k < 3; ++k) lu += std::exp(u[k] / o.T), lv += std::exp(v[k] / o.T);
  double kl = 0;
  for (int k = 0; k < 3; ++k) {
    const double lp = u[k] / o.T - std::log(lu), lq = v[k] / o.T - std::log(lv);
    kl += std::exp(lp) * (lp - lq);
  }
  EXPECT_REL(kl, kdv::expected(id, "identity_sample0_KL"));
  EXPECT_REL(rhs, kl);
}

class DkdSizes : public ::testing::TestWithParam<kdv::Size> {};

Tensor random_labels(int64_t B, int64_t C, uint64_t seed) {
  Generator gen(seed);
  return ops::randint(Shape{B}, C, gen);
}

TEST_P(DkdSizes, FusedMatchesComposed) {
  const auto [B, C] = GetParam();
  const Tensor zs = testing::random_tensor(Shape{B, C}, 11 + B * C, 3.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, 17 + B * C, 3.0f);
  const Tensor y = random_labels(B, C, 5 + C);
  for (int epoch : {3, 25}) {
    const DkdOptions o;
    const auto f = kdv::evaluate([&](const Variable& s) { return distill::dkd_loss(s, zt, y, o, epoch); }, zs);
    const auto c = kdv::evaluate([&](const Variable& s) { return distill::dkd_loss_composed(s, zt, y, o, epoch); }, zs);
    EXPECT_REL(f.total(), c.total(), 1e-4, 1e-5);
    for (const char* t : {"ce", "tckd", "nckd"}) EXPECT_REL(f.loss.term(t), c.loss.term(t), 1e-4, 1e-5) << t;
    EXPECT_REL(kdv::terms_sum(f.loss), f.total(), 1e-6, 1e-6);
    EXPECT_CLOSE(f.grad, c.grad, 1e-6, 1e-3);
  }
}

TEST_P(DkdSizes, GradCheck) {
  const auto [B, C] = GetParam();
  const Tensor zs = testing::random_tensor(Shape{B, C}, 23 + B * C, 2.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, 29 + B * C, 2.0f);
  const Tensor y = random_labels(B, C, 3 + B);
  DkdOptions o;
  o.T = 2.0;  // a sharper softmax than the default makes the check more telling
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::dkd_loss(v[0], zt, y, o, 7).total; }, {zs}));
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::dkd_loss_composed(v[0], zt, y, o, 7).total; }, {zs}));
}

INSTANTIATE_TEST_SUITE_P(Shapes, DkdSizes,
                         ::testing::ValuesIn(kdv::all_sizes()), kdv::size_name);

TEST(Dkd, IdenticalLogitsGiveZeroDistillation) {
  const Tensor z = testing::random_tensor(Shape{7, 10}, 3, 4.0f);
  const Tensor y = random_labels(7, 10, 1);
  const DkdOptions o;
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::dkd_loss(s, z, y, o, 30); }, z);
  EXPECT_EQ(e.loss.term("tckd"), 0.0);
  EXPECT_EQ(e.loss.term("nckd"), 0.0);
  // Only the cross-entropy gradient remains.
  const Tensor ce_grad = ops::cross_entropy_backward(z, y, 0.0f, 1.0f);
  EXPECT_CLOSE(e.grad, ce_grad, 1e-7, 1e-5);
}

TEST(Dkd, ExtremeLogitsStayFinite) {
  // |z| up to 1e4, with the target far above and far below the other classes.
  const Tensor zs = from_vector<float>({1e4f, -1e4f, 0.0f, 5e3f, -1e4f, 1e4f, 2.0f, -3e3f, 0.0f, 0.0f, 1e4f, -1e4f},
                                       Shape{3, 4});
  const Tensor zt = from_vector<float>({-1e4f, 1e4f, 3e3f, 0.0f, 1e4f, -1e4f, 9e3f, 1.0f, 1e4f, 1e4f, -1e4f, 0.0f},
                                       Shape{3, 4});
  const Tensor y = from_vector<int64_t>({0, 1, 3}, Shape{3});
  for (double T : {1.0, 4.0}) {
    DkdOptions o;
    o.T = T;
    const auto e = kdv::evaluate([&](const Variable& s) { return distill::dkd_loss(s, zt, y, o, 30); }, zs);
    EXPECT_TRUE(std::isfinite(e.total()));
    for (const auto& t : e.loss.terms) EXPECT_TRUE(std::isfinite(t.second)) << t.first;
    EXPECT_EQ(ops::count_nonfinite(e.grad), 0);
    EXPECT_GT(e.loss.term("tckd"), 0.0);
  }
}

TEST(Dkd, WarmupFactors) {
  const Tensor zs = kdv::logits("B", "Zs"), zt = kdv::logits("B", "Zt"), y = kdv::labels("B");
  const DkdOptions o;  // warm-up 20 epochs
  const double full_t = distill::dkd_loss(Variable(zs), zt, y, o, 20).term("tckd");
  const double full_n = distill::dkd_loss(Variable(zs), zt, y, o, 20).term("nckd");
  for (auto [epoch, factor] : std::vector<std::pair<int, double>>{{1, 0.05}, {10, 0.5}, {20, 1.0}, {21, 1.0}}) {
    const auto r = distill::dkd_loss(Variable(zs), zt, y, o, epoch);
    EXPECT_REL(r.term("tckd"), factor * full_t, 1e-12, 0) << "epoch " << epoch;
    EXPECT_REL(r.term("nckd"), factor * full_n, 1e-12, 0) << "epoch " << epoch;
    EXPECT_REL(r.term("ce"), kdv::expected("common.B", "CE")) << "epoch " << epoch;
  }
  EXPECT_THROW(distill::dkd_loss(Variable(zs), zt, y, o, 0), Error);
}

TEST(Dkd, BadInputsAreErrors) {
  const Tensor zs = kdv::logits("B", "Zs"), zt = kdv::logits("B", "Zt");
  EXPECT_THROW(distill::dkd_loss(Variable(zs), zt, from_vector<int64_t>({0, 4, 1}, Shape{3}), DkdOptions(), 1), Error);
  EXPECT_THROW(distill::dkd_loss(Variable(zs), zt.narrow(0, 0, 2), kdv::labels("B"), DkdOptions(), 1), Error);
  DkdOptions bad;
  bad.T = 0;
  EXPECT_THROW(distill::dkd_loss(Variable(zs), zt, kdv::labels("B"), bad, 1), Error);
}

TEST(Dkd, MethodRowAndObjective) {
  const distill::MethodInfo m = distill::dkd_method();
  EXPECT_EQ(m.name, "dkd");
  const distill::Options d = m.defaults();
  EXPECT_EQ(d.get("T"), 4.0);
  EXPECT_EQ(d.get("alpha"), 1.0);
  EXPECT_EQ(d.get("beta"), 8.0);
  EXPECT_EQ(d.get("warmup"), 20.0);
  EXPECT_EQ(d.get("ce_weight"), 1.0);
  EXPECT_EQ(m.for_pair("resnet56", "resnet20").get("beta"), 2.0);
  EXPECT_EQ(m.for_pair("wrn_40_2", "wrn_16_2").get("beta"), 6.0);
  EXPECT_EQ(m.for_pair("resnet34_imagenet", "resnet18_imagenet").get("T"), 1.0);
  EXPECT_EQ(m.for_pair("resnet34_imagenet", "resnet18_imagenet").get("beta"), 0.5);

  std::unique_ptr<distill::Objective> obj = m.make(d);
  distill::StepInputs in;
  in.student = Variable(kdv::logits("A", "Zs"), true);
  in.teacher = kdv::logits("A", "Zt");
  in.labels = kdv::labels("A");
  in.epoch = 5;
  const distill::LossResult r = obj->compute(in);
  EXPECT_REL(r.total.value().item<float>(), kdv::expected("dkd.A", "L_epoch_5"));
  EXPECT_FALSE(obj->needs().mixup);
}

}  // namespace
}  // namespace retort
