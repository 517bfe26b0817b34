// STKD reconstruction (METHODS.md §8): the test vectors, the gradient against
// a composition of autograd functions, gradient checks, the non-target switch,
// the clean-batch terms and the objective's needs.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "distill/dkd.h"
#include "distill/kd.h"
#include "distill/stkd.h"
#include "tensor/ops.h"
#include "tests/distill/partb_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::StkdOptions;
namespace ag = autograd;
namespace kdv = testing::kdv;

// λ·CE(y_a) + (1 − λ)·CE(y_b) + β·T²·KL from f32 autograd functions (KD from part A's composed KD).
Variable composed(const Variable& s, const Tensor& zt, const Tensor& ya, const Tensor& yb, double lam,
                  const StkdOptions& o) {
  distill::KdOptions k;
  k.T = o.T, k.w_ce = 0.0, k.w_kd = o.beta;
  const Variable st = distill::kd_loss_composed(s, zt, Tensor(), k, 1).total;
  const Variable ce = ag::add(ag::mul_scalar(ag::cross_entropy(s, ya), static_cast<float>(lam)),
                              ag::mul_scalar(ag::cross_entropy(s, yb), static_cast<float>(1 - lam)));
  return ag::add(ce, st);
}

class StkdVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(StkdVectors, Terms) {
  const std::string input = GetParam(), id = "stkd." + input;
  const Tensor zs = kdv::logits(input, "Zs"), zt = kdv::logits(input, "Zt");
  const json::Value& p = kdv::vec(id).at("params");
  const Tensor ya = kdv::label_tensor(p.at("y_a")), yb = kdv::label_tensor(p.at("y_b"));
  const double lam = p.at("lam").as_double();
  StkdOptions o;
  o.T = p.at("T").as_double();
  o.beta = p.at("beta").as_double();
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::stkd_loss(s, zt, ya, yb, lam, o); }, zs);
  EXPECT_REL(e.loss.term("mix_ce"), kdv::expected(id, "L_mixCE"));
  EXPECT_REL(e.loss.term("st"), o.beta * kdv::expected(id, "L_ST"));
  EXPECT_REL(e.total(), kdv::expected(id, "L_total"));
  EXPECT_REL(kdv::terms_sum(e.loss), kdv::expected(id, "L_total"));
  // Gradient against the composition.
  const Variable s(zs.clone(), true);
  const Tensor gc = ag::grad({composed(s, zt, ya, yb, lam, o)}, {s})[0];
  EXPECT_CLOSE(e.grad, gc, 1e-6, 1e-4);

  // The objective reads the same from StepInputs.
  const distill::MethodInfo m = distill::stkd_method();
  std::unique_ptr<distill::Objective> obj = m.make(m.defaults());
  EXPECT_TRUE(obj->needs().mixup);
  distill::StepInputs in;
  in.student = Variable(zs, true);
  in.teacher = zt;
  in.labels = ya;
  in.labels_b = yb;
  in.mix_lambda = lam;
  EXPECT_REL(obj->compute(in).total.value().item<float>(), kdv::expected(id, "L_total"));
}

INSTANTIATE_TEST_SUITE_P(Inputs, StkdVectors, ::testing::Values("A", "B"));

class StkdSizes : public ::testing::TestWithParam<kdv::Size> {};

TEST_P(StkdSizes, GradCheckAndComposed) {
  const auto [B, C] = GetParam();
  const Tensor zs = testing::random_tensor(Shape{B, C}, 81 + B * C, 3.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, 83 + B * C, 3.0f);
  Generator gen(B + 5 * C);
  const Tensor ya = ops::randint(Shape{B}, C, gen), yb = ops::randint(Shape{B}, C, gen);
  for (bool nontarget : {false, true}) {
    StkdOptions o;
    o.T = 2.0;
    o.nontarget_only = nontarget;
    EXPECT_TRUE(testing::grad_check(
        [&](const std::vector<Variable>& v) { return distill::stkd_loss(v[0], zt, ya, yb, 0.3, o).total; }, {zs}))
        << "nontarget_only " << nontarget;
  }
  const Variable s(zs.clone(), true);
  const auto f = distill::stkd_loss(s, zt, ya, yb, 0.3, StkdOptions());
  const Variable c = composed(s, zt, ya, yb, 0.3, StkdOptions());
  EXPECT_REL(f.total.value().item<float>(), c.value().item<float>(), 1e-4, 1e-5);
  EXPECT_CLOSE(ag::grad({f.total}, {s})[0], ag::grad({c}, {s})[0], 1e-6, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Shapes, StkdSizes,
                         ::testing::ValuesIn(kdv::all_sizes()), kdv::size_name);

TEST(Stkd, NonTargetOnlyWithEqualLabelsIsDkdNckd) {
  // y_a = y_b = y: the renormalised KL over the other classes is DKD's NCKD.
  const Tensor zs = kdv::logits("B", "Zs"), zt = kdv::logits("B", "Zt"), y = kdv::labels("B");
  StkdOptions o;
  o.nontarget_only = true;
  const auto r = distill::stkd_loss(Variable(zs), zt, y, y, 0.5, o);
  distill::DkdOptions d;
  d.alpha = 0, d.beta = 1, d.ce_weight = 0;
  EXPECT_REL(r.term("st"), distill::dkd_loss(Variable(zs), zt, y, d, 20).term("nckd"), 1e-12, 0);
  EXPECT_REL(r.term("st"), kdv::expected("dkd.B", "NCKD"));
  // Two distinct labels and C = 2 leave nothing to distil.
  const Tensor two = from_vector<float>({1.0f, 2.0f}, Shape{1, 2});
  EXPECT_THROW(distill::stkd_loss(Variable(two), two, from_vector<int64_t>({0}, Shape{1}),
                                  from_vector<int64_t>({1}, Shape{1}), 0.5, o),
               Error);
}

TEST(Stkd, CleanBatchTerms) {
  const Tensor zs = kdv::logits("B", "Zs"), zt = kdv::logits("B", "Zt"), y = kdv::labels("B");
  const Tensor ms = kdv::logits("B2", "Zs"), mt = kdv::logits("B2", "Zt");
  StkdOptions o;
  o.clean_ce_weight = 0.5, o.clean_kd_weight = 0.25;
  const Variable mixed(ms.clone(), true), clean(zs.clone(), true);
  EXPECT_THROW(distill::stkd_loss(mixed, mt, y, y, 0.6, o), Error);  // clean logits required
  const auto r = distill::stkd_loss(mixed, mt, y, y, 0.6, o, clean, zt);
  distill::KdOptions k;
  k.T = 4, k.w_ce = 0.5, k.w_kd = 0.25;
  const Variable clean2(zs.clone(), true);
  const auto ref = distill::kd_loss(clean2, zt, y, k, 1);
  EXPECT_REL(r.term("clean_ce"), ref.term("ce"), 1e-12, 0);
  EXPECT_REL(r.term("clean_kd"), ref.term("kd"), 1e-12, 0);
  EXPECT_REL(kdv::terms_sum(r), r.total.value().item<float>(), 1e-6, 0);
  r.total.backward();
  ref.total.backward();
  EXPECT_CLOSE(clean.grad(), clean2.grad(), 1e-8, 1e-6);
  // The objective cannot get clean logits from the training step.
  const distill::MethodInfo m = distill::stkd_method();
  distill::Options opts = m.defaults();
  opts.set("clean_ce_weight", 1.0);
  EXPECT_THROW(m.make(opts), Error);
}

TEST(Stkd, IdenticalAndExtremeLogits) {
  const Tensor z = testing::random_tensor(Shape{6, 10}, 4, 3.0f);
  Generator gen(8);
  const Tensor ya = ops::randint(Shape{6}, 10, gen), yb = ops::randint(Shape{6}, 10, gen);
  EXPECT_EQ(distill::stkd_loss(Variable(z), z, ya, yb, 0.4, StkdOptions()).term("st"), 0.0);
  const Tensor zs = from_vector<float>({1e4f, -1e4f, 0.0f, -5e3f, 1e4f, 2.0f}, Shape{2, 3});
  const Tensor zt = from_vector<float>({-1e4f, 1e4f, 3e3f, 1e4f, -1e4f, 9e3f}, Shape{2, 3});
  const Tensor y1 = from_vector<int64_t>({0, 1}, Shape{2}), y2 = from_vector<int64_t>({2, 2}, Shape{2});
  for (bool nt : {false, true}) {
    StkdOptions o;
    o.nontarget_only = nt;
    const auto e = kdv::evaluate([&](const Variable& s) { return distill::stkd_loss(s, zt, y1, y2, 0.7, o); }, zs);
    EXPECT_TRUE(std::isfinite(e.total()));
    EXPECT_EQ(ops::count_nonfinite(e.grad), 0);
  }
  EXPECT_THROW(distill::stkd_loss(Variable(zs), zt, y1, y2, 1.5, StkdOptions()), Error);
}

TEST(Stkd, MethodRow) {
  const distill::MethodInfo m = distill::stkd_method();
  EXPECT_EQ(m.name, "stkd");
  EXPECT_NE(m.title.find("reconstruction"), std::string::npos);
  EXPECT_NE(m.provenance.find("reconstruction"), std::string::npos);
  const distill::Options d = m.defaults();
  EXPECT_EQ(d.get("T"), 4.0);
  EXPECT_EQ(d.get("beta"), 1.0);
  EXPECT_EQ(d.get("mix_alpha"), 1.0);
  EXPECT_EQ(d.get("nontarget_only"), 0.0);
}

}  // namespace
}  // namespace retort
