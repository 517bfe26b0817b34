// Hinton KD (METHODS.md §10): the vectors kd.A, kd.B and common.A/B, gradient
// checks, fused against composed, identical and extreme logits, option errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>

#include "autograd/functions.h"
#include "distill/fused.h"
#include "distill/kd.h"
#include "tensor/ops.h"
#include "tests/distill/parta_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
using distill::KdOptions;
namespace kda = testing::kda;

KdOptions kd_only(double T) {
  KdOptions o;
  o.T = T;
  o.w_ce = 0.0;
  o.w_kd = 1.0;
  return o;
}

TEST(KdVectors, ToleranceOfTheFile) {
  const json::Value& t = kda::vectors_file().at("tolerance").at("fp64");
  EXPECT_EQ(t.at("rtol").as_double(), kda::kRtol);
  EXPECT_EQ(t.at("atol").as_double(), kda::kAtol);
}

TEST(KdVectors, ExampleA) {
  const std::string id = "kd.A";
  const Tensor zs = kda::logits("A", "Zs"), zt = kda::logits("A", "Zt"), y = kda::labels("A");
  for (const auto& [T, value_key, grad_key] :
       {std::make_tuple(1.0, "KD_T1", "dKD_dZs_T1"), std::make_tuple(4.0, "KD_T4", "dKD_dZs_T4")}) {
    SCOPED_TRACE(value_key);
    const auto e = kda::evaluate([&](const Variable& s) { return distill::kd_loss(s, zt, y, kd_only(T), 1); }, zs);
    EXPECT_NEAR_REL(e.total(), kda::expected(id, value_key));
    EXPECT_NEAR_REL(e.loss.term("kd"), kda::expected(id, value_key));
    EXPECT_EQ(e.loss.term("ce"), 0.0);
    EXPECT_CLOSE(e.grad, kda::expected_vec(id, grad_key), kda::kAtol, kda::kRtol);
  }
  // The CIFAR-100 defaults (0.1·CE + 0.9·KD at T = 4) and the ImageNet pair override.
  const auto cifar = kda::evaluate([&](const Variable& s) { return distill::kd_loss(s, zt, y, KdOptions(), 1); }, zs);
  EXPECT_NEAR_REL(cifar.total(), kda::expected(id, "L_cifar"));
  EXPECT_NEAR_REL(kda::terms_sum(cifar.loss), kda::expected(id, "L_cifar"));
  const KdOptions imagenet = KdOptions::from(distill::kd_method().for_pair("resnet34_imagenet", "resnet18_imagenet"));
  EXPECT_EQ(imagenet.T, 1.0);
  const auto in = kda::evaluate([&](const Variable& s) { return distill::kd_loss(s, zt, y, imagenet, 1); }, zs);
  EXPECT_NEAR_REL(in.total(), kda::expected(id, "L_imagenet"));
}

TEST(KdVectors, ExampleBWithoutLabels) {
  const Tensor zs = kda::logits("B", "Zs"), zt = kda::logits("B", "Zt");
  const auto e = kda::evaluate([&](const Variable& s) { return distill::kd_loss(s, zt, Tensor(), kd_only(4), 1); }, zs);
  EXPECT_NEAR_REL(e.total(), kda::expected("kd.B", "KD_T4"));
  EXPECT_CLOSE(e.grad, kda::expected_vec("kd.B", "dKD_dZs_T4"), kda::kAtol, kda::kRtol);
}

// common.A and common.B: cross-entropy alone (w_kd = 0) and the softmaxes.
TEST(KdVectors, CommonCrossEntropyAndSoftmax) {
  for (const std::string input : {"A", "B"}) {
    SCOPED_TRACE(input);
    const std::string id = "common." + input;
    const Tensor zs = kda::logits(input, "Zs"), zt = kda::logits(input, "Zt"), y = kda::labels(input);
    KdOptions o;
    o.w_ce = 1.0;
    o.w_kd = 0.0;
    const auto e = kda::evaluate([&](const Variable& s) { return distill::kd_loss(s, zt, y, o, 1); }, zs);
    EXPECT_NEAR_REL(e.total(), kda::expected(id, "CE"));
    EXPECT_NEAR_REL(e.loss.term("ce"), kda::expected(id, "CE"));
    EXPECT_CLOSE(e.grad, kda::expected_vec(id, "dCE_dZs"), kda::kAtol, kda::kRtol);
  }
  const distill::fused::Matrix zs = distill::fused::to_host(kda::logits("A", "Zs"));
  const distill::fused::Matrix zt = distill::fused::to_host(kda::logits("A", "Zt"));
  for (const auto& [key, m, T] : {std::make_tuple("P_s_T4", &zs, 4.0), std::make_tuple("P_t_T4", &zt, 4.0),
                                  std::make_tuple("P_s_T1", &zs, 1.0), std::make_tuple("P_t_T1", &zt, 1.0)}) {
    SCOPED_TRACE(key);
    const std::vector<double> want = kda::expected_vec("common.A", key);
    std::vector<double> p(3);
    for (int64_t i = 0; i < 2; ++i) {
      distill::fused::softmax_row(m->row(i), 3, T, p.data());
      for (int k = 0; k < 3; ++k) EXPECT_NEAR_REL(p[k], want[i * 3 + k]);
    }
  }
}

class KdSizes : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(KdSizes, GradCheckAndFusedMatchesComposed) {
  const auto [B, C] = GetParam();
  const uint64_t seed = static_cast<uint64_t>(100 * B + C);
  const Tensor zs = testing::random_tensor(Shape{B, C}, seed, 2.0f);
  const Tensor zt = testing::random_tensor(Shape{B, C}, seed + 1, 2.0f);
  Generator gen(seed + 2);
  const Tensor y = ops::randint(Shape{B}, C, gen);
  for (const KdOptions& o : {KdOptions(), kd_only(1.0)}) {
    const auto fused = kda::evaluate([&](const Variable& s) { return distill::kd_loss(s, zt, y, o, 3); }, zs);
    const auto composed =
        kda::evaluate([&](const Variable& s) { return distill::kd_loss_composed(s, zt, y, o, 3); }, zs);
    EXPECT_NEAR_REL(fused.total(), composed.total(), 1e-5, 1e-6);
    EXPECT_NEAR_REL(fused.loss.term("kd"), composed.loss.term("kd"), 1e-5, 1e-6);
    EXPECT_NEAR_REL(kda::terms_sum(fused.loss), fused.total(), 1e-6, 1e-7);
    EXPECT_CLOSE(fused.grad, composed.grad, 1e-7, 1e-4);
    EXPECT_TRUE(testing::grad_check([&](const std::vector<Variable>& v) { return distill::kd_loss(v[0], zt, y, o, 3).total; },
                                    {zs}, kda::scaled_options(fused.grad)));
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, KdSizes,
                         ::testing::Combine(::testing::Values<int64_t>(1, 2, 7, 64),
                                            ::testing::Values<int64_t>(3, 10, 100)));

TEST(Kd, HostGradientMatchesDoubleFiniteDifferences) {
  const distill::fused::Matrix zt = distill::fused::to_host(testing::random_tensor(Shape{7, 10}, 11, 2.0f));
  const distill::fused::Matrix z0 = distill::fused::to_host(testing::random_tensor(Shape{7, 10}, 12, 2.0f));
  for (double T : {1.0, 4.0}) {
    std::vector<double> work(30);
    EXPECT_TRUE(kda::host_grad_check(
        [&](const distill::fused::Matrix& z, distill::fused::Matrix* dz) {
          double s = 0.0;
          for (int64_t i = 0; i < z.rows; ++i)
            s += distill::fused::kl_row(zt.row(i), z.row(i), z.cols, T, T * T, dz ? dz->row(i) : nullptr, work.data());
          return s * T * T;
        },
        z0));
  }
}

TEST(Kd, IdenticalLogitsGiveZeroDistillation) {
  const Tensor z = testing::random_tensor(Shape{16, 10}, 5, 3.0f);
  const auto e = kda::evaluate([&](const Variable& s) { return distill::kd_loss(s, z, Tensor(), kd_only(4), 1); }, z);
  EXPECT_EQ(e.loss.term("kd"), 0.0);
  EXPECT_EQ(e.total(), 0.0);
  EXPECT_CLOSE(e.grad, std::vector<double>(160, 0.0), 0.0, 0.0);
}

TEST(Kd, ExtremeLogitsStayFinite) {
  const Tensor zs = testing::random_tensor(Shape{8, 10}, 21, 1e4f);
  const Tensor zt = testing::random_tensor(Shape{8, 10}, 22, 1e4f);
  Generator gen(23);
  const Tensor y = ops::randint(Shape{8}, 10, gen);
  for (double T : {1.0, 4.0}) {
    KdOptions o;
    o.T = T;
    const auto e = kda::evaluate([&](const Variable& s) { return distill::kd_loss(s, zt, y, o, 1); }, zs);
    EXPECT_TRUE(std::isfinite(e.total()));
    EXPECT_GT(e.total(), 0.0);
    EXPECT_EQ(ops::count_nonfinite(e.grad), 0);
  }
}

TEST(Kd, RejectsBadInputsAndOptions) {
  const Tensor zs = testing::random_tensor(Shape{4, 5}, 1), zt = testing::random_tensor(Shape{4, 5}, 2);
  const Variable s(zs, true);
  const Tensor y = from_vector<int64_t>({0, 1, 2, 3}, Shape{4});
  EXPECT_THROW(distill::kd_loss(s, zt, Tensor(), KdOptions(), 1), Error);  // w_ce = 0.1 needs labels
  EXPECT_THROW(distill::kd_loss(s, testing::random_tensor(Shape{4, 6}, 3), y, KdOptions(), 1), Error);
  EXPECT_THROW(distill::kd_loss(s, zt, from_vector<int64_t>({0, 1, 2, 5}, Shape{4}), KdOptions(), 1), Error);
  EXPECT_THROW(distill::kd_loss(s, zt, from_vector<int64_t>({0, 1, 2}, Shape{3}), KdOptions(), 1), Error);
  EXPECT_THROW(distill::kd_loss(s, zt, y, KdOptions(), 0), Error);
  KdOptions bad;
  bad.T = 0.0;
  EXPECT_THROW(distill::kd_loss(s, zt, y, bad, 1), Error);
  try {
    distill::kd_loss(s, zt, from_vector<int64_t>({0, -1, 2, 3}, Shape{4}), KdOptions(), 1);
    FAIL() << "a negative label was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.message()).find("label -1 at position 1"), std::string::npos) << e.message();
  }
}

TEST(Kd, MethodRowMatchesTheOptionsStruct) {
  const distill::MethodInfo m = distill::kd_method();
  const KdOptions d, from = KdOptions::from(m.defaults());
  EXPECT_EQ(from.T, d.T);
  EXPECT_EQ(from.w_ce, d.w_ce);
  EXPECT_EQ(from.w_kd, d.w_kd);
  EXPECT_EQ(d.T, 4.0);
  EXPECT_EQ(d.w_ce, 0.1);
  EXPECT_EQ(d.w_kd, 0.9);
  // Through the table's objective: the same value as the function.
  const Tensor zs = kda::logits("A", "Zs");
  distill::StepInputs in;
  in.student = Variable(zs, true);
  in.teacher = kda::logits("A", "Zt");
  in.labels = kda::labels("A");
  const distill::LossResult r = m.make(m.defaults())->compute(in);
  EXPECT_NEAR_REL(kda::value(r.total), kda::expected("kd.A", "L_cifar"));
}

}  // namespace
}  // namespace retort
