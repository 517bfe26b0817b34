// DTKD (METHODS.md §4): the test vectors (code-exact and detached gradients),
// fused against composed, gradient checks, the temperature guard, identical
// and extreme logits, warm-up and the method row.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "distill/dtkd.h"
#include "tensor/ops.h"
#include "tests/distill/partb_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::DtkdOptions;
namespace kdv = testing::kdv;

DtkdOptions vector_options(const std::string& id) {
  DtkdOptions o;
  o.tau = kdv::param(id, "tau");
  o.alpha = kdv::param(id, "alpha");
  o.beta = kdv::param(id, "beta");
  o.gamma = kdv::param(id, "gamma");
  o.warmup = kdv::param(id, "warmup");
  return o;
}

// Only L_DTKD (α = 1, β = γ = 0), past the warm-up.
DtkdOptions dtkd_only(const std::string& id) {
  DtkdOptions o = vector_options(id);
  o.alpha = 1.0, o.beta = 0.0, o.gamma = 0.0;
  return o;
}

using LossFn = distill::LossResult (*)(const Variable&, const Tensor&, const Tensor&, const DtkdOptions&, int);

class DtkdVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(DtkdVectors, Temperatures) {
  const std::string input = GetParam(), id = "dtkd." + input;
  const auto t = distill::dtkd_temperatures(kdv::logits(input, "Zs"), kdv::logits(input, "Zt"), vector_options(id));
  const std::vector<double> tt = kdv::expected_flat(id, "T_tea"), ts = kdv::expected_flat(id, "T_stu");
  ASSERT_EQ(t.teacher.size(), tt.size());
  for (size_t i = 0; i < tt.size(); ++i) {
    EXPECT_REL(t.teacher[i], tt[i]);
    EXPECT_REL(t.student[i], ts[i]);
    EXPECT_FALSE(t.fallback[i]);
  }
}

TEST_P(DtkdVectors, ValuesAndGradients) {
  const std::string input = GetParam(), id = "dtkd." + input;
  const Tensor zs = kdv::logits(input, "Zs"), zt = kdv::logits(input, "Zt"), y = kdv::labels(input);
  // Fused to the fp64 tolerance, composed to the fp32 one.
  for (auto [fn, rtol, atol] : {std::make_tuple(LossFn(&distill::dtkd_loss), kdv::kRtol, kdv::kAtol),
                                std::make_tuple(LossFn(&distill::dtkd_loss_composed), kdv::kRtol32, kdv::kAtol32)}) {
    SCOPED_TRACE(fn == &distill::dtkd_loss ? "fused" : "composed");
    DtkdOptions o = dtkd_only(id);
    auto e = kdv::evaluate([&](const Variable& s) { return fn(s, zt, y, o, 20); }, zs);
    EXPECT_REL(e.total(), kdv::expected(id, "L_DTKD"), rtol, atol);
    EXPECT_CLOSE(e.grad, kdv::expected_flat(id, "dLDTKD_dZs_code"), atol, rtol);

    o.detach_temperature = true;
    e = kdv::evaluate([&](const Variable& s) { return fn(s, zt, y, o, 20); }, zs);
    EXPECT_REL(e.total(), kdv::expected(id, "L_DTKD"), rtol, atol);
    EXPECT_CLOSE(e.grad, kdv::expected_flat(id, "dLDTKD_dZs_detached"), atol, rtol);

    const DtkdOptions full = vector_options(id);
    e = kdv::evaluate([&](const Variable& s) { return fn(s, zt, y, full, 20); }, zs);
    EXPECT_REL(e.total(), kdv::expected(id, "L_epoch_ge_20"), rtol, atol);
    EXPECT_REL(e.loss.term("dtkd"), full.alpha * kdv::expected(id, "L_DTKD"), rtol, atol);
    EXPECT_REL(e.loss.term("kd"), full.beta * kdv::expected(id, "L_KD"), rtol, atol);
    EXPECT_REL(e.loss.term("ce"), full.gamma * kdv::expected(id, "CE"), rtol, atol);
    EXPECT_CLOSE(e.grad, kdv::expected_flat(id, "dL_dZs_epoch_ge_20"), atol, rtol);

    const auto r1 = fn(Variable(zs), zt, y, full, 1);
    EXPECT_REL(r1.total.value().item<float>(), kdv::expected(id, "L_epoch_1"), rtol, atol);
    EXPECT_REL(kdv::terms_sum(r1), kdv::expected(id, "L_epoch_1"), rtol, atol);
  }
}

INSTANTIATE_TEST_SUITE_P(Inputs, DtkdVectors, ::testing::Values("A", "B"));

class DtkdSizes : public ::testing::TestWithParam<kdv::Size> {};

// Random logits whose row maxima are positive, so the temperatures are defined.
Tensor positive_max_logits(int64_t B, int64_t C, uint64_t seed) {
  return ops::add_scalar(testing::random_tensor(Shape{B, C}, seed, 2.0f), 4.0f);
}

TEST_P(DtkdSizes, FusedMatchesComposed) {
  const auto [B, C] = GetParam();
  const Tensor zs = positive_max_logits(B, C, 51 + B * C), zt = positive_max_logits(B, C, 53 + B * C);
  Generator gen(B * C);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  for (int variant = 0; variant < 3; ++variant) {
    DtkdOptions o;
    o.detach_temperature = variant == 1;
    o.abs_max = variant == 2;
    SCOPED_TRACE("variant " + std::to_string(variant));
    const auto f = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss(s, zt, y, o, 9); }, zs);
    const auto c = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss_composed(s, zt, y, o, 9); }, zs);
    EXPECT_REL(f.total(), c.total(), 1e-4, 1e-5);
    for (const char* t : {"ce", "dtkd", "kd"}) EXPECT_REL(f.loss.term(t), c.loss.term(t), 1e-4, 1e-5) << t;
    EXPECT_REL(kdv::terms_sum(f.loss), f.total(), 1e-6, 1e-6);
    EXPECT_CLOSE(f.grad, c.grad, 1e-6, 1e-3);
  }
}

TEST_P(DtkdSizes, GradCheck) {
  const auto [B, C] = GetParam();
  const Tensor zs = positive_max_logits(B, C, 61 + B * C), zt = positive_max_logits(B, C, 67 + B * C);
  Generator gen(3 * B + C);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::dtkd_loss(v[0], zt, y, DtkdOptions(), 30).total; }, {zs}));
  // The detached variant is not the gradient of the loss (the temperatures do
  // depend on the student): it differs from it only at each row's maximum.
  DtkdOptions detached;
  detached.detach_temperature = true;
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss(s, zt, y, DtkdOptions(), 30); }, zs);
  const auto d = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss(s, zt, y, detached, 30); }, zs);
  const std::vector<double> ge = testing::to_doubles(e.grad), gd = testing::to_doubles(d.grad);
  const std::vector<int64_t> arg = ops::argmax(zs, 1).to_vector<int64_t>();
  int differing = 0;
  for (int64_t i = 0; i < B; ++i)
    for (int64_t k = 0; k < C; ++k) {
      if (k == arg[i]) differing += ge[i * C + k] != gd[i * C + k];
      else EXPECT_NEAR(ge[i * C + k], gd[i * C + k], 1e-9) << i << "," << k;
    }
  EXPECT_GT(differing, 0);
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::dtkd_loss_composed(v[0], zt, y, DtkdOptions(), 30).total; },
      {zs}));
}

INSTANTIATE_TEST_SUITE_P(Shapes, DtkdSizes,
                         ::testing::ValuesIn(kdv::all_sizes()), kdv::size_name);

TEST(Dtkd, AbsMaxRoutesTheGradientWithTheSign) {
  // Row maxima by magnitude are negative logits: x = 6, y = 5 under abs_max.
  const Tensor zs = from_vector<float>({1.0f, -5.0f, 2.0f, 0.5f, 3.0f, -1.0f}, Shape{2, 3});
  const Tensor zt = from_vector<float>({-6.0f, 1.0f, 2.0f, 4.0f, -1.0f, 0.0f}, Shape{2, 3});
  const Tensor y = from_vector<int64_t>({0, 1}, Shape{2});
  DtkdOptions o;
  o.abs_max = true;
  const auto t = distill::dtkd_temperatures(zs, zt, o);
  EXPECT_DOUBLE_EQ(t.teacher[0], 2.0 * 6 / 11 * 4);
  EXPECT_DOUBLE_EQ(t.student[0], 2.0 * 5 / 11 * 4);
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::dtkd_loss(v[0], zt, y, o, 30).total; }, {zs}));
  const auto f = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss(s, zt, y, o, 30); }, zs);
  const auto c = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss_composed(s, zt, y, o, 30); }, zs);
  EXPECT_CLOSE(f.grad, c.grad, 1e-6, 1e-4);
}

TEST(Dtkd, TemperatureGuard) {
  // Row 1: x + y = 1 + (−2) < 0.
  const Tensor zs = from_vector<float>({1.0f, 2.0f, 0.5f, -2.0f, -3.0f, -4.0f}, Shape{2, 3});
  const Tensor zt = from_vector<float>({2.0f, 1.0f, 0.0f, 1.0f, -0.5f, 0.0f}, Shape{2, 3});
  const Tensor y = from_vector<int64_t>({0, 2}, Shape{2});
  DtkdOptions o;
  EXPECT_THROW(distill::dtkd_loss(Variable(zs), zt, y, o, 1), Error);
  EXPECT_THROW(distill::dtkd_loss_composed(Variable(zs), zt, y, o, 1), Error);
  o.fallback_to_tau = true;
  const auto t = distill::dtkd_temperatures(zs, zt, o);
  EXPECT_FALSE(t.fallback[0]);
  EXPECT_TRUE(t.fallback[1]);
  EXPECT_EQ(t.teacher[1], 4.0);
  EXPECT_EQ(t.student[1], 4.0);
  const auto f = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss(s, zt, y, o, 30); }, zs);
  const auto c = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss_composed(s, zt, y, o, 30); }, zs);
  EXPECT_TRUE(std::isfinite(f.total()));
  EXPECT_REL(f.total(), c.total(), 1e-5, 1e-6);
  EXPECT_CLOSE(f.grad, c.grad, 1e-6, 1e-4);
  EXPECT_TRUE(testing::grad_check(
      [&](const std::vector<Variable>& v) { return distill::dtkd_loss(v[0], zt, y, o, 30).total; }, {zs}));
  // A zero maximum makes a temperature 0: guarded too.
  const Tensor zero_max = from_vector<float>({0.0f, -1.0f, -2.0f, 1.0f, 0.0f, 0.0f}, Shape{2, 3});
  EXPECT_THROW(distill::dtkd_loss(Variable(zero_max), zt, y, DtkdOptions(), 1), Error);
}

TEST(Dtkd, IdenticalLogitsGiveZeroDistillation) {
  const Tensor z = positive_max_logits(7, 10, 9);
  Generator gen(2);
  const Tensor y = ops::randint(Shape{7}, 10, gen);
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss(s, z, y, DtkdOptions(), 30); }, z);
  EXPECT_EQ(e.loss.term("dtkd"), 0.0);
  EXPECT_EQ(e.loss.term("kd"), 0.0);
  EXPECT_CLOSE(e.grad, ops::cross_entropy_backward(z, y, 0.0f, 1.0f), 1e-7, 1e-5);
  const auto t = distill::dtkd_temperatures(z, z, DtkdOptions());
  for (size_t i = 0; i < t.teacher.size(); ++i) {
    EXPECT_EQ(t.teacher[i], 4.0);
    EXPECT_EQ(t.student[i], 4.0);
  }
}

TEST(Dtkd, ExtremeLogitsStayFinite) {
  const Tensor zs = from_vector<float>({1e4f, -1e4f, 0.0f, 5e3f, -1e4f, 1e4f, 2.0f, -3e3f, 1.0f, 0.5f, 1e4f, -1e4f},
                                       Shape{3, 4});
  const Tensor zt = from_vector<float>({-1e4f, 1e4f, 3e3f, 0.0f, 1e4f, -1e4f, 9e3f, 1.0f, 1e4f, 1e4f, -1e4f, 0.0f},
                                       Shape{3, 4});
  const Tensor y = from_vector<int64_t>({0, 1, 3}, Shape{3});
  for (bool detach : {false, true}) {
    DtkdOptions o;
    o.detach_temperature = detach;
    const auto e = kdv::evaluate([&](const Variable& s) { return distill::dtkd_loss(s, zt, y, o, 30); }, zs);
    EXPECT_TRUE(std::isfinite(e.total()));
    for (const auto& t : e.loss.terms) EXPECT_TRUE(std::isfinite(t.second)) << t.first;
    EXPECT_EQ(ops::count_nonfinite(e.grad), 0);
  }
}

TEST(Dtkd, WarmupFactors) {
  const Tensor zs = kdv::logits("A", "Zs"), zt = kdv::logits("A", "Zt"), y = kdv::labels("A");
  const DtkdOptions o = vector_options("dtkd.A");
  const auto full = distill::dtkd_loss(Variable(zs), zt, y, o, 20);
  for (auto [epoch, factor] : std::vector<std::pair<int, double>>{{1, 0.05}, {10, 0.5}, {20, 1.0}, {21, 1.0}}) {
    const auto r = distill::dtkd_loss(Variable(zs), zt, y, o, epoch);
    EXPECT_REL(r.term("dtkd"), factor * full.term("dtkd"), 1e-12, 0) << "epoch " << epoch;
    EXPECT_REL(r.term("kd"), factor * full.term("kd"), 1e-12, 0) << "epoch " << epoch;
    EXPECT_EQ(r.term("ce"), full.term("ce")) << "epoch " << epoch;  // outside the warm-up
  }
}

TEST(Dtkd, MethodRowAndObjective) {
  const distill::MethodInfo m = distill::dtkd_method();
  EXPECT_EQ(m.name, "dtkd");
  const distill::Options d = m.defaults();
  EXPECT_EQ(d.get("tau"), 4.0);
  EXPECT_EQ(d.get("alpha"), 3.0);
  EXPECT_EQ(d.get("beta"), 1.0);
  EXPECT_EQ(d.get("gamma"), 1.0);
  EXPECT_EQ(d.get("warmup"), 20.0);
  EXPECT_EQ(d.get("detach_temperature"), 0.0);
  EXPECT_EQ(d.get("abs_max"), 0.0);
  EXPECT_EQ(d.get("fallback_to_tau"), 0.0);
  EXPECT_EQ(m.for_pair("resnet56", "resnet20").get("alpha"), 1.0);
  EXPECT_EQ(m.for_pair("resnet56", "resnet20").get("beta"), 0.5);
  EXPECT_EQ(m.for_pair("ResNet50", "MobileNetV2").get("beta"), 2.0);
  EXPECT_EQ(m.for_pair("wrn_40_2", "ShuffleV1").get("alpha"), 2.0);
  distill::Options bad = d;
  bad.set("abs_max", 0.5);
  EXPECT_THROW(m.make(bad), Error);
  std::unique_ptr<distill::Objective> obj = m.make(d);
  distill::StepInputs in;
  in.student = Variable(kdv::logits("B", "Zs"), true);
  in.teacher = kdv::logits("B", "Zt");
  in.labels = kdv::labels("B");
  in.epoch = 1;
  EXPECT_REL(obj->compute(in).total.value().item<float>(), kdv::expected("dtkd.B", "L_epoch_1"));
}

}  // namespace
}  // namespace retort
