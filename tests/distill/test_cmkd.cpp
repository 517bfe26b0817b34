// CMKD reconstruction (METHODS.md §7): the test vectors, the soft ranks, the
// gradient checks for both rank methods and weight rules, identical and
// extreme logits, and the method row.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "autograd/functions.h"
#include "distill/cmkd.h"
#include "distill/dist.h"
#include "tensor/ops.h"
#include "tests/distill/partb_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::CmkdOptions;
using distill::SoftRank;
namespace kdv = testing::kdv;

// The vectors' setting: τ = 1, w_i = 0.5, only the distillation part with weight 1.
CmkdOptions vector_options(const std::string& id, double eps_r) {
  CmkdOptions o;
  o.tau = kdv::param(id, "tau");
  o.w = kdv::param(id, "w_i");
  o.eps_r = eps_r;
  o.lambda = 1.0;
  o.ce_weight = 0.0;
  return o;
}

std::vector<double> softmax_row(const Tensor& z, int64_t i) {
  return testing::to_doubles(ops::softmax(z.narrow(0, i, 1).contiguous(), 1.0f));
}

class CmkdVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(CmkdVectors, PearsonAndSpearmanTerms) {
  const std::string input = GetParam(), id = "cmkd." + input;
  const Tensor zs = kdv::logits(input, "Zs"), zt = kdv::logits(input, "Zt"), y = kdv::labels(input);
  for (double eps_r : {0.1, 0.01}) {
    const CmkdOptions o = vector_options(id, eps_r);
    const auto r = distill::cmkd_loss(Variable(zs), zt, y, o, 1);
    EXPECT_REL(r.term("pearson") / (1 - o.w), kdv::expected(id, "L_P")) << "eps_r " << eps_r;
    EXPECT_REL(r.term("spearman") / o.w, kdv::expected(id, eps_r == 0.1 ? "L_S_soft_01" : "L_S_soft_001"))
        << "eps_r " << eps_r;
    EXPECT_EQ(r.term("intra"), 0.0);
    if (eps_r == 0.1) {
      EXPECT_REL(r.total.value().item<float>(), kdv::expected(id, "mix_05_05"));
    }
  }
  // Spearman with hard student ranks (diagnostic only: no gradient), to the vectors' atol.
  double hard = 0;
  for (int64_t i = 0; i < zs.size(0); ++i)
    hard += 1 - distill::pearson(distill::hard_rank(softmax_row(zs, i)), distill::hard_rank(softmax_row(zt, i)), 1e-8);
  EXPECT_REL(hard / zs.size(0), kdv::expected(id, "L_S_hard"));
}

INSTANTIATE_TEST_SUITE_P(Inputs, CmkdVectors, ::testing::Values("A", "B"));

TEST(Cmkd, HardRanksOfVectorA) {
  EXPECT_EQ(distill::hard_rank(softmax_row(kdv::logits("A", "Zs"), 0)),
            kdv::expected_flat("cmkd.A", "student_hard_ranks_row0"));
  EXPECT_EQ(distill::hard_rank(softmax_row(kdv::logits("A", "Zt"), 0)),
            kdv::expected_flat("cmkd.A", "teacher_hard_ranks_row0"));
  EXPECT_EQ(distill::hard_rank({0.5, 0.1, 0.5, 0.2}), (std::vector<double>{3.5, 1, 3.5, 2}));  // ties averaged
}

TEST(Cmkd, SoftRanks) {
  const std::vector<double> v = {0.3, -1.2, 2.0, 0.31, 0.9};
  const std::vector<double> hard = distill::hard_rank(v);
  for (SoftRank m : {SoftRank::Pairwise, SoftRank::Isotonic}) {
    // Small ε_r: the hard ranks; any ε_r: the ranks sum to n(n+1)/2; large ε_r: all tend to the mean rank.
    const std::vector<double> sharp = distill::soft_rank(v, 1e-4, m);
    for (size_t k = 0; k < v.size(); ++k) EXPECT_NEAR(sharp[k], hard[k], 1e-6) << k;
    for (double eps : {0.05, 1.0, 100.0}) {
      const std::vector<double> r = distill::soft_rank(v, eps, m);
      EXPECT_NEAR(std::accumulate(r.begin(), r.end(), 0.0), 15.0, 1e-9);
      // Order preserved (weakly).
      for (size_t a = 0; a < v.size(); ++a)
        for (size_t b = 0; b < v.size(); ++b)
          if (v[a] < v[b]) {
            EXPECT_LE(r[a], r[b] + 1e-12);
          }
    }
    const std::vector<double> flat = distill::soft_rank(v, 1e6, m);
    for (double x : flat) EXPECT_NEAR(x, 3.0, 1e-3);
  }
  // The isotonic rank pools values closer than ε_r: 0.3 and 0.31 (hard ranks 2
  // and 3) share the block mean 2.5, shifted by their own (z − mean z).
  const std::vector<double> iso = distill::soft_rank(v, 0.1, SoftRank::Isotonic);
  EXPECT_NEAR(iso[0] + iso[3], 5.0, 1e-12);
  EXPECT_NEAR(iso[3] - iso[0], (0.31 - 0.3) / 0.1, 1e-12);
}

class CmkdSizes : public ::testing::TestWithParam<kdv::Size> {};

TEST_P(CmkdSizes, GradCheck) {
  const auto [B, C] = GetParam();
  const Tensor zs = testing::random_tensor(Shape{B, C}, 91 + B * C, 2.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, 97 + B * C, 2.0f);
  Generator gen(B * 3 + C);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  for (int variant = 0; variant < 4; ++variant) {
    CmkdOptions o;
    o.tau = 1.0;
    o.eps_r = 0.05;
    o.rank = variant % 2 ? SoftRank::Isotonic : SoftRank::Pairwise;
    o.weight_rule = variant >= 2 ? distill::CmkdWeight::TeacherEntropy : distill::CmkdWeight::Constant;
    o.gamma = variant == 3 ? 1.0 : 0.0;
    testing::GradCheckOptions g;
    // The isotonic rank is piecewise linear: finite differences across a
    // pooling change are kinks, which grad_check skips; keep steps small.
    if (o.rank == SoftRank::Isotonic) g.eps = 1e-3;
    EXPECT_TRUE(testing::grad_check(
        [&](const std::vector<Variable>& v) { return distill::cmkd_loss(v[0], zt, y, o, 1).total; }, {zs}, g))
        << "variant " << variant;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CmkdSizes,
                         ::testing::ValuesIn(kdv::all_sizes()), kdv::size_name);

TEST(Cmkd, IntraTermIsDists) {
  const Tensor zs = kdv::logits("B", "Zs"), zt = kdv::logits("B", "Zt"), y = kdv::labels("B");
  CmkdOptions o;
  o.gamma = 1.0, o.lambda = 1.0;
  distill::DistOptions d;
  d.kd_weight = 1.0;
  EXPECT_REL(distill::cmkd_loss(Variable(zs), zt, y, o, 1).term("intra"),
             distill::dist_loss(Variable(zs), zt, y, d, 1).term("intra"), 1e-12, 0);
  EXPECT_REL(distill::cmkd_loss(Variable(zs), zt, y, o, 1).term("intra"), kdv::expected("dist.B", "tau4_intra"));
}

TEST(Cmkd, EntropyWeights) {
  // A uniform teacher row has w_i = 1 (all Spearman), a near one-hot row w_i ≈ 0.
  const Tensor zs = from_vector<float>({1.0f, 2.0f, 0.5f, 0.3f, 1.0f, 2.0f, 0.5f, 0.3f}, Shape{2, 4});
  const Tensor zt = from_vector<float>({0.0f, 0.0f, 0.0f, 0.0f, 40.0f, 0.0f, 0.0f, 0.0f}, Shape{2, 4});
  const Tensor y = from_vector<int64_t>({0, 0}, Shape{2});
  CmkdOptions o;
  o.weight_rule = distill::CmkdWeight::TeacherEntropy;
  o.tau = 1.0, o.lambda = 1.0, o.ce_weight = 0.0;
  const auto both = distill::cmkd_loss(Variable(zs), zt, y, o, 1);
  const auto row0 = distill::cmkd_loss(Variable(zs.narrow(0, 0, 1).contiguous()), zt.narrow(0, 0, 1).contiguous(),
                                       y.narrow(0, 0, 1).contiguous(), o, 1);
  EXPECT_NEAR(row0.term("pearson"), 0.0, 1e-12);  // w_0 = 1
  EXPECT_GT(row0.term("spearman"), 0.0);
  const auto row1 = distill::cmkd_loss(Variable(zs.narrow(0, 1, 1).contiguous()), zt.narrow(0, 1, 1).contiguous(),
                                       y.narrow(0, 1, 1).contiguous(), o, 1);
  EXPECT_NEAR(row1.term("spearman"), 0.0, 1e-12);  // w_1 ≈ 0
  EXPECT_NEAR(both.term("pearson"), (row0.term("pearson") + row1.term("pearson")) / 2, 1e-12);
}

TEST(Cmkd, IdenticalAndExtremeLogits) {
  const Tensor z = testing::random_tensor(Shape{8, 10}, 6, 3.0f);
  Generator gen(4);
  const Tensor y = ops::randint(Shape{8}, 10, gen);
  CmkdOptions o;
  o.eps_r = 1e-6;  // soft ranks equal to the hard ranks: both correlations are 1 up to ε
  const auto e = kdv::evaluate([&](const Variable& s) { return distill::cmkd_loss(s, z, y, o, 1); }, z);
  EXPECT_LT(e.loss.term("pearson"), 1e-5);
  EXPECT_LT(e.loss.term("spearman"), 1e-5);
  const Tensor kd_grad = ops::sub(e.grad, ops::cross_entropy_backward(z, y, 0.0f, 1.0f));
  EXPECT_CLOSE(kd_grad, std::vector<double>(80, 0.0), 1e-4, 0.0);

  const Tensor zs = from_vector<float>({1e4f, -1e4f, 0.0f, 5e3f, -1e4f, 1e4f, 2.0f, -3e3f}, Shape{2, 4});
  const Tensor zt = from_vector<float>({-1e4f, 1e4f, 3e3f, 0.0f, 1e4f, -1e4f, 9e3f, 1.0f}, Shape{2, 4});
  const Tensor y2 = from_vector<int64_t>({0, 1}, Shape{2});
  for (int m = 0; m < 2; ++m) {
    CmkdOptions x;
    x.rank = static_cast<SoftRank>(m);
    x.weight_rule = distill::CmkdWeight::TeacherEntropy;
    x.gamma = 1.0;
    const auto r = kdv::evaluate([&](const Variable& s) { return distill::cmkd_loss(s, zt, y2, x, 1); }, zs);
    EXPECT_TRUE(std::isfinite(r.total()));
    EXPECT_EQ(ops::count_nonfinite(r.grad), 0);
  }
}

TEST(Cmkd, MethodRow) {
  const distill::MethodInfo m = distill::cmkd_method();
  EXPECT_EQ(m.name, "cmkd");
  EXPECT_NE(m.title.find("reconstruction"), std::string::npos);
  EXPECT_EQ(m.provenance.rfind("reconstruction", 0), 0u);
  const distill::Options d = m.defaults();
  EXPECT_EQ(d.get("tau"), 4.0);
  EXPECT_EQ(d.get("eps_r"), 0.1);
  EXPECT_EQ(d.get("w"), 0.5);
  EXPECT_EQ(d.get("lambda"), 2.0);
  EXPECT_EQ(d.get("gamma"), 0.0);
  distill::Options bad = d;
  bad.set("rank_method", 2);
  EXPECT_THROW(m.make(bad), Error);
  std::unique_ptr<distill::Objective> obj = m.make(d);
  distill::StepInputs in;
  in.student = Variable(kdv::logits("B", "Zs"), true);
  in.teacher = kdv::logits("B", "Zt");
  in.labels = kdv::labels("B");
  EXPECT_TRUE(std::isfinite(obj->compute(in).total.value().item<float>()));
}

}  // namespace
}  // namespace retort
