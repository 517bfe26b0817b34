// Optimisers against PyTorch's update rules (values computed by hand and
// confirmed with torch.optim in float64), and the learning-rate schedules.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optim/grad_check.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;

// Runs three steps with fixed gradients and returns the parameter after each.
template <class Opt, class Options>
std::vector<std::vector<double>> three_steps(const Options& o) {
  Variable p(from_vector<float>({1.0f, -2.0f}, Shape{2}), true);
  Opt opt({{"w", p}}, o);
  const std::vector<std::vector<float>> grads = {{0.5f, 0.3f}, {-0.25f, 0.1f}, {1.0f, -0.7f}};
  std::vector<std::vector<double>> out;
  for (const auto& g : grads) {
    p.set_grad(from_vector<float>(g, Shape{2}));
    opt.step();
    out.push_back(testing::to_doubles(p.value()));
  }
  return out;
}

TEST(SGD, MomentumAndWeightDecayByHand) {
  // d = g + 0.01 p; buf = d, then 0.9 buf + d; p -= 0.1 buf.
  const auto p = three_steps<optim::SGD>(optim::SgdOptions{0.1, 0.9, 0.01, false});
  const std::vector<std::vector<double>> expected = {
      {0.949, -2.028}, {0.927151, -2.061172}, {0.806559749, -2.018965628}};
  for (int s = 0; s < 3; ++s) {
    EXPECT_NEAR(p[s][0], expected[s][0], 1e-6) << "step " << s + 1;
    EXPECT_NEAR(p[s][1], expected[s][1], 1e-6) << "step " << s + 1;
  }
}

TEST(SGD, NesterovByHand) {
  const auto p = three_steps<optim::SGD>(optim::SgdOptions{0.1, 0.9, 0.01, true});
  const std::vector<std::vector<double>> expected = {
      {0.9031, -2.0532}, {0.90757411, -2.09097892}, {0.698189208191, -1.980854968052}};
  for (int s = 0; s < 3; ++s) {
    EXPECT_NEAR(p[s][0], expected[s][0], 1e-6) << "step " << s + 1;
    EXPECT_NEAR(p[s][1], expected[s][1], 1e-6) << "step " << s + 1;
  }
}

TEST(SGD, NoMomentumIsPlainGradientDescent) {
  const auto p = three_steps<optim::SGD>(optim::SgdOptions{0.1, 0.0, 0.0, false});
  EXPECT_NEAR(p[2][0], 1.0 - 0.1 * (0.5 - 0.25 + 1.0), 1e-6);
  EXPECT_NEAR(p[2][1], -2.0 - 0.1 * (0.3 + 0.1 - 0.7), 1e-6);
}

TEST(AdamW, MatchesPyTorch) {
  const auto p = three_steps<optim::AdamW>(optim::AdamWOptions{0.1, 0.9, 0.999, 1e-8, 0.01});
  const std::vector<std::vector<double>> expected = {{0.899000002, -2.0979999966666667},
                                                     {0.8714672987058463, -2.1830083878461375},
                                                     {0.804784672376384, -2.1502983807300895}};
  for (int s = 0; s < 3; ++s) {
    EXPECT_NEAR(p[s][0], expected[s][0], 2e-6) << "step " << s + 1;
    EXPECT_NEAR(p[s][1], expected[s][1], 2e-6) << "step " << s + 1;
  }
}

TEST(SGD, ParametersWithoutGradientsAreSkipped) {
  Variable a(from_vector<float>({1.0f}, Shape{1}), true), b(from_vector<float>({2.0f}, Shape{1}), true);
  optim::SGD opt({{"a", a}, {"b", b}}, optim::SgdOptions{0.1, 0.9, 0.01, false});
  a.set_grad(from_vector<float>({1.0f}, Shape{1}));
  opt.step();
  EXPECT_FLOAT_EQ(b.value().item<float>(), 2.0f);
  EXPECT_NEAR(a.value().item<float>(), 1.0 - 0.1 * 1.01, 1e-7);
}

TEST(SGD, StateRoundTripContinuesIdentically) {
  auto make = [] { return Variable(from_vector<float>({1.0f, -2.0f}, Shape{2}), true); };
  Variable p1 = make(), p2 = make();
  optim::SGD a({{"w", p1}}, optim::SgdOptions{0.1, 0.9, 0.01, false});
  optim::SGD b({{"w", p2}}, optim::SgdOptions{0.1, 0.9, 0.01, false});
  const Tensor g = from_vector<float>({0.5f, 0.3f}, Shape{2});
  p1.set_grad(g);
  p2.set_grad(g);
  a.step();
  b.step();
  // A fresh optimiser restored from a's state must step exactly like a.
  optim::SGD c({{"w", p2}}, optim::SgdOptions{0.1, 0.9, 0.01, false});
  c.load_state(b.state());
  EXPECT_EQ(c.steps(), 1);
  a.step();
  c.step();
  EXPECT_CLOSE(p2.value(), p1.value(), 0, 0);
  optim::OptimizerState bad = a.state();
  bad.tensors[0].second = zeros(Shape{3});
  EXPECT_THROW(c.load_state(bad), Error);
}

TEST(Schedule, MultistepCountsEpochsFromOne) {
  optim::Schedule s;  // 0.05, milestones 150/180/210, gamma 0.1
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.05);
  EXPECT_DOUBLE_EQ(s.lr_at(150), 0.05);
  EXPECT_NEAR(s.lr_at(151), 0.005, 1e-15);
  EXPECT_NEAR(s.lr_at(180), 0.005, 1e-15);
  EXPECT_NEAR(s.lr_at(181), 0.0005, 1e-15);
  EXPECT_NEAR(s.lr_at(210), 0.0005, 1e-15);
  EXPECT_NEAR(s.lr_at(211), 0.00005, 1e-15);
  EXPECT_NEAR(s.lr_at(240), 0.00005, 1e-15);
  EXPECT_THROW(s.lr_at(0), Error);
}

TEST(Schedule, CosineAndWarmup) {
  optim::Schedule s;
  s.kind = optim::Schedule::Kind::Cosine;
  s.base_lr = 0.1;
  s.total_epochs = 10;
  // The closed form of torch CosineAnnealingLR(T_max=10) on lr 0.1 after 0, 5 and 9 steps:
  // 0.05 * (1 + cos(0.9 pi)) = 0.0024471741852423235.
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.1);
  EXPECT_NEAR(s.lr_at(6), 0.05, 1e-12);
  EXPECT_NEAR(s.lr_at(10), 0.0024471741852423235, 1e-12);
  s.min_lr = 0.001;
  EXPECT_NEAR(s.lr_at(10), 0.001 + 0.099 * 0.024471741852423235, 1e-12);
  s.min_lr = 0.0;
  s.warmup_epochs = 5;
  EXPECT_NEAR(s.lr_at(1), 0.1 * 1 / 5, 1e-12);
  EXPECT_NEAR(s.lr_at(5), (0.05 + 0.05 * std::cos(M_PI * 0.4)) * 5 / 5, 1e-12);
  EXPECT_THROW(optim::Schedule::parse_kind("cosin"), Error);
}


// The parameter nearest the loss (last in order) with a non-finite gradient, and how many there are.
std::pair<int, int> origin_and_count(const optim::NamedParams& params) {
  const optim::NonFiniteGrads r = optim::find_nonfinite_grads(params);
  return {r.origin, r.count};
}

TEST(GradCheck, NamesTheParameterNearestTheLossWhoseGradientIsNotFinite) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  optim::NamedParams params;
  for (const char* name : {"a", "b", "c", "d"})
    params.emplace_back(name, Variable(from_vector<float>({1.0f, 2.0f}, Shape{2}), true));
  EXPECT_EQ(origin_and_count(params), std::make_pair(-1, 0));  // no gradients yet
  for (auto& p : params) p.second.set_grad(from_vector<float>({0.5f, -0.5f}, Shape{2}));
  EXPECT_EQ(origin_and_count(params), std::make_pair(-1, 0));
  params[1].second.set_grad(from_vector<float>({0.5f, inf}, Shape{2}));
  EXPECT_EQ(origin_and_count(params), std::make_pair(1, 1));
  params[2].second.set_grad(from_vector<float>({nan, 0.0f}, Shape{2}));
  EXPECT_EQ(origin_and_count(params), std::make_pair(2, 2));
  params[2].second.zero_grad();  // undefined gradients are skipped
  EXPECT_EQ(origin_and_count(params), std::make_pair(1, 1));
  params[0].second.set_grad(from_vector<float>({-inf, 0.0f}, Shape{2}));
  EXPECT_EQ(origin_and_count(params), std::make_pair(1, 2));
}

TEST(GradCheck, HugeFiniteGradientsPass) {
  optim::NamedParams params;
  for (const char* name : {"a", "b"}) {
    params.emplace_back(name, Variable(zeros(Shape{3}), true));
    params.back().second.set_grad(from_vector<float>({3e38f, 3e38f, 3e38f}, Shape{3}));
  }
  EXPECT_EQ(origin_and_count(params), std::make_pair(-1, 0));
}

}  // namespace
}  // namespace retort

namespace retort {
namespace {

// The fused update kernels on the test's device against the CPU's, several
// steps with state (odd length, momentum/nesterov/weight decay, AdamW).
class OptimOnDevice : public testing::DeviceTest {};

TEST_P(OptimOnDevice, SgdAndAdamWStepsMatchTheCpu) {
  const int64_t n = 1001;
  const Tensor p0 = testing::random_tensor(Shape{n}, 1);
  for (bool nesterov : {false, true}) {
    Tensor pc = p0.clone(), bc = zeros(Shape{n});
    Tensor pd = p0.to(device()), bd = zeros(Shape{n}, DType::F32, device());
    for (int step = 0; step < 3; ++step) {
      const Tensor g = testing::random_tensor(Shape{n}, 10 + step);
      const SgdParams s{0.1f, 0.9f, 5e-4f, nesterov, step == 0};
      ops::sgd_update_(pc, g, bc, s);
      ops::sgd_update_(pd, g.to(device()), bd, s);
    }
    // nvcc contracts a*b + c into one FMA, so the last bit may differ.
    EXPECT_CLOSE(pd.to(Device::cpu()), pc, 1e-7, 1e-6);
    EXPECT_CLOSE(bd.to(Device::cpu()), bc, 1e-7, 1e-6);
  }
  Tensor pc = p0.clone(), mc = zeros(Shape{n}), vc = zeros(Shape{n});
  Tensor pd = p0.to(device()), md = zeros(Shape{n}, DType::F32, device()), vd = zeros(Shape{n}, DType::F32, device());
  for (int step = 1; step <= 3; ++step) {
    const Tensor g = testing::random_tensor(Shape{n}, 20 + step);
    const AdamWParams s{1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, 1.0f - std::pow(0.9f, float(step)),
                        std::sqrt(1.0f - std::pow(0.999f, float(step)))};
    ops::adamw_update_(pc, g, mc, vc, s);
    ops::adamw_update_(pd, g.to(device()), md, vd, s);
  }
  // Device sqrtf and division may differ from the host's in the last bit.
  EXPECT_CLOSE(pd.to(Device::cpu()), pc, 1e-7, 1e-6);
  EXPECT_CLOSE(md.to(Device::cpu()), mc, 1e-7, 1e-6);
  EXPECT_CLOSE(vd.to(Device::cpu()), vc, 1e-7, 1e-6);
}

RETORT_DEVICE_TESTS(OptimOnDevice);

}  // namespace
}  // namespace retort
