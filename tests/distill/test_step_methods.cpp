// The training step's extra inputs for STKD (mixup) and backward-pass KD
// (auxiliary samples): one step on zoo models is finite and reproducible bit
// for bit from the seed; the mixed batch is λ·X + (1 − λ)·X[π] with λ drawn
// from Beta(a, a); the auxiliary samples come from the first rows of the batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "distill/bpkd.h"
#include "distill/objective.h"
#include "distill/step.h"
#include "layers/models/zoo.h"
#include "optim/optimizer.h"
#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using autograd::Variable;
namespace ag = autograd;

constexpr uint64_t kStream = 0x57E9;  // the trainer's stream for the step generator

// Records what the training step hands to the objective, then defers to the real one.
class Recorder final : public distill::Objective {
 public:
  explicit Recorder(std::unique_ptr<distill::Objective> inner)
      : Objective(inner->options()), inner_(std::move(inner)) {}
  distill::LossResult compute(const distill::StepInputs& in) override {
    seen = in;
    return inner_->compute(in);
  }
  distill::StepNeeds needs() const override { return inner_->needs(); }
  distill::StepInputs seen;

 private:
  std::unique_ptr<distill::Objective> inner_;
};

std::unique_ptr<Recorder> recorder(const std::string& method, const std::vector<std::string>& settings = {}) {
  distill::Options o = distill::find_method(method).defaults();
  for (const std::string& s : settings) o.set_from_string(s);
  return std::make_unique<Recorder>(distill::find_method(method).make(o));
}

// A model that passes its input through: [N, 1, 1, C] -> scale·x + bias, [N, C]
// (bias learnable, 0), so its logits show the images the step fed it.
class PassThrough final : public layers::Model {
 public:
  PassThrough(int64_t channels, float scale)
      : Model("pass", layers::ModelConfig{channels, channels, 0}, channels, "bias"), scale_(scale) {
    bias_ = register_parameter("bias", zeros(Shape{channels}));
  }
  Variable forward_taps(const Variable& x, layers::Taps*) override {
    check_input(x);
    const Variable flat = ag::reshape(x, {x.size(0), x.size(3)});
    return ag::add(ag::mul_scalar(flat, scale_), bias_);
  }

 private:
  float scale_;
  Variable bias_;
};

data::Batch make_batch(const Tensor& images, const std::vector<int64_t>& labels) {
  data::Batch b;
  b.images = images;
  b.views = {images};
  b.labels = from_vector<int64_t>(labels, Shape{static_cast<int64_t>(labels.size())});
  return b;
}

std::vector<float> floats(const Tensor& t) { return t.contiguous().to_vector<float>(); }

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// ---------------------------------------------------------------- one step on zoo models

struct StepOutcome {
  float loss = 0;
  std::vector<std::pair<std::string, double>> terms;
  std::vector<std::vector<double>> before, after;  // the student's state_dict around the optimiser step
  uint64_t rng_offset = 0;
};

StepOutcome one_step(const std::string& method, uint64_t seed) {
  constexpr int64_t kClasses = 4, kBatch = 8;
  auto student = layers::make_model("resnet8", layers::ModelConfig{kClasses, 3, 1});
  auto teacher = layers::make_model("resnet8", layers::ModelConfig{kClasses, 3, 2});
  student->train();
  teacher->eval();
  for (auto& p : teacher->parameters()) p.set_requires_grad(false);
  auto objective = distill::find_method(method).make(distill::find_method(method).defaults());
  optim::SGD sgd(student->named_parameters(), optim::SgdOptions{0.1, 0.9, 5e-4, false});
  Generator rng(seed, kStream);
  const data::Batch batch =
      make_batch(testing::random_tensor(Shape{kBatch, 32, 32, 3}, 11), {0, 1, 2, 3, 3, 2, 1, 0});
  distill::StepContext ctx{*student, teacher.get(), objective.get(), rng, 0.0};

  StepOutcome out;
  for (const NamedTensor& t : student->state_dict()) out.before.push_back(testing::to_doubles(t.tensor.to(Device::cpu())));
  distill::StepResult r = distill::training_step(ctx, batch, 1);
  out.loss = r.loss.total.value().item<float>();
  out.terms = r.loss.terms;
  sgd.zero_grad();
  r.loss.total.backward();
  sgd.step();
  for (const NamedTensor& t : student->state_dict()) out.after.push_back(testing::to_doubles(t.tensor.to(Device::cpu())));
  out.rng_offset = rng.offset();
  EXPECT_TRUE(student->is_training());
  EXPECT_FALSE(teacher->is_training());
  return out;
}

class StepMethods : public ::testing::TestWithParam<std::string> {};

TEST_P(StepMethods, OneStepIsFiniteAndReproducible) {
  const StepOutcome a = one_step(GetParam(), 5), b = one_step(GetParam(), 5);
  EXPECT_TRUE(std::isfinite(a.loss)) << a.loss;
  EXPECT_GT(a.loss, 0.0f);
  double sum = 0;
  for (const auto& t : a.terms) {
    EXPECT_TRUE(std::isfinite(t.second)) << t.first;
    sum += t.second;
  }
  EXPECT_NEAR(sum, a.loss, 1e-5 * std::abs(a.loss));
  EXPECT_TRUE(same_bits(a.loss, b.loss)) << a.loss << " vs " << b.loss;
  ASSERT_EQ(a.after.size(), b.after.size());
  bool changed = false;
  for (size_t i = 0; i < a.after.size(); ++i) {
    ASSERT_EQ(a.after[i].size(), b.after[i].size());
    EXPECT_EQ(std::memcmp(a.after[i].data(), b.after[i].data(), a.after[i].size() * sizeof(double)), 0)
        << "state_dict entry " << i << " differs between two runs with the same seed";
    changed = changed || a.after[i] != a.before[i];
  }
  EXPECT_TRUE(changed) << "the optimiser step changed nothing";
}

TEST_P(StepMethods, SeedDrivesTheDraws) {
  const StepOutcome a = one_step(GetParam(), 5), c = one_step(GetParam(), 6);
  if (GetParam() == "stkd") {
    EXPECT_GT(a.rng_offset, 0u);                 // λ and π come from the step's generator
    EXPECT_FALSE(same_bits(a.loss, c.loss));     // another seed mixes another batch
  } else {
    EXPECT_EQ(a.rng_offset, 0u);                 // the auxiliary samples draw nothing
    EXPECT_TRUE(same_bits(a.loss, c.loss));
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, StepMethods, ::testing::Values("stkd", "bpkd"));

// ---------------------------------------------------------------- mixup

struct MixStep {
  Tensor x, x_mix;
  std::vector<int64_t> perm;
  double lambda = 0;
};

// One STKD step on pass-through networks: labels 0..B-1, so labels_b is π itself.
MixStep mix_step(Generator& rng, const Tensor& x, double alpha) {
  const int64_t B = x.size(0), C = x.size(3);
  PassThrough student(C, 1.0f), teacher(C, 2.0f);
  teacher.eval();
  std::vector<int64_t> labels(B);
  for (int64_t i = 0; i < B; ++i) labels[i] = i;
  auto obj = recorder("stkd", {"mix_alpha=" + std::to_string(alpha)});
  distill::StepContext ctx{student, &teacher, obj.get(), rng, 0.0};
  distill::training_step(ctx, make_batch(x, labels), 1);
  MixStep m;
  m.x = x;
  m.x_mix = obj->seen.student.value();
  m.perm = obj->seen.labels_b.to_vector<int64_t>();
  m.lambda = obj->seen.mix_lambda;
  EXPECT_CLOSE(obj->seen.teacher, ops::mul_scalar(m.x_mix, 2.0f), 1e-6, 1e-6);  // the teacher saw the same batch
  EXPECT_EQ(obj->seen.labels.to_vector<int64_t>(), labels);
  return m;
}

TEST(StepMixup, MixedBatchIsLambdaXPlusOneMinusLambdaXPerm) {
  constexpr int64_t B = 8, C = 8;
  const Tensor x = testing::random_tensor(Shape{B, 1, 1, C}, 21);
  Generator rng(3, kStream);
  const MixStep m = mix_step(rng, x, 1.0);
  EXPECT_GT(m.lambda, 0.0);
  EXPECT_LT(m.lambda, 1.0);
  // π is a permutation of the batch.
  std::vector<int64_t> sorted = m.perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < B; ++i) EXPECT_EQ(sorted[i], i);
  // x_mix - x[π] = λ (x - x[π]), row by row, computed here in double.
  const std::vector<float> xs = floats(x.reshape({B, C})), mix = floats(m.x_mix);
  std::vector<double> lhs, rhs;
  for (int64_t i = 0; i < B; ++i)
    for (int64_t k = 0; k < C; ++k) {
      const double xi = xs[i * C + k], xp = xs[m.perm[i] * C + k];
      EXPECT_NEAR(mix[i * C + k] - xp, m.lambda * (xi - xp), 1e-6) << "row " << i << ", column " << k;
    }
  // The same seed gives the same λ and π; another seed another λ.
  Generator again(3, kStream), other(4, kStream);
  const MixStep m2 = mix_step(again, x, 1.0), m3 = mix_step(other, x, 1.0);
  EXPECT_EQ(m2.lambda, m.lambda);
  EXPECT_EQ(m2.perm, m.perm);
  EXPECT_EQ(floats(m2.x_mix), mix);
  EXPECT_NE(m3.lambda, m.lambda);
  // λ is drawn before π, and π with the step generator's randperm: after the
  // λ draws, the generator's next B counters are π.
  Generator replay(3, kStream);
  for (uint64_t skip = 0; skip < rng.offset() - static_cast<uint64_t>(B); ++skip) replay.next_u32();
  EXPECT_EQ(ops::randperm(B, replay).to_vector<int64_t>(), m.perm);
  EXPECT_EQ(replay.offset(), rng.offset());
}

// λ over many steps has the mean 1/2 and the variance 1/(4(2a + 1)) of Beta(a, a);
// a = 1 is the uniform distribution (Kolmogorov-Smirnov distance checked).
TEST(StepMixup, LambdaFollowsBeta) {
  const Tensor x = testing::random_tensor(Shape{4, 1, 1, 4}, 22);
  constexpr int kDraws = 3000;
  for (double a : {0.2, 1.0, 4.0}) {
    Generator rng(9, kStream);
    std::vector<double> lam;
    for (int i = 0; i < kDraws; ++i) lam.push_back(mix_step(rng, x, a).lambda);
    double mean = 0, var = 0;
    for (double l : lam) {
      ASSERT_GE(l, 0.0);
      ASSERT_LE(l, 1.0);
      mean += l / kDraws;
    }
    for (double l : lam) var += (l - mean) * (l - mean) / (kDraws - 1);
    const double expected_var = 1.0 / (4.0 * (2.0 * a + 1.0));
    // Standard errors: below 0.008 for the mean, below 0.003 for the variance.
    EXPECT_NEAR(mean, 0.5, 0.03) << "a = " << a;
    EXPECT_NEAR(var, expected_var, 0.012) << "a = " << a;
    if (a == 1.0) {
      std::sort(lam.begin(), lam.end());
      double d = 0;
      for (int i = 0; i < kDraws; ++i)
        d = std::max({d, std::abs(lam[i] - static_cast<double>(i) / kDraws),
                      std::abs(lam[i] - static_cast<double>(i + 1) / kDraws)});
      EXPECT_LT(d, 1.63 / std::sqrt(static_cast<double>(kDraws)));  // the 1% critical value
    }
  }
}

// ---------------------------------------------------------------- auxiliary samples

TEST(StepBpkd, AuxiliarySamplesComeFromTheFirstRows) {
  constexpr int64_t B = 8, C = 6;
  const Tensor x = testing::random_tensor(Shape{B, 1, 1, C}, 31);
  const std::vector<int64_t> labels = {0, 1, 2, 3, 4, 5, 0, 1};
  PassThrough student(C, 1.0f), teacher(C, 2.0f);
  student.train();
  teacher.eval();
  Generator rng(1, kStream);

  // K = 0: the auxiliary samples are the first round(fraction·B) rows themselves.
  {
    auto obj = recorder("bpkd", {"fraction=0.5", "steps=0"});
    distill::StepContext ctx{student, &teacher, obj.get(), rng, 0.0};
    distill::training_step(ctx, make_batch(x, labels), 1);
    const distill::StepInputs& in = obj->seen;
    ASSERT_TRUE(in.student_aux.defined());
    ASSERT_TRUE(in.teacher_aux.defined());
    EXPECT_EQ(in.student_aux.shape(), (Shape{4, C}));
    EXPECT_CLOSE(in.student_aux.value(), x.narrow(0, 0, 4).reshape({4, C}), 0, 0);
    EXPECT_CLOSE(in.teacher_aux, ops::mul_scalar(x.narrow(0, 0, 4).reshape({4, C}), 2.0f), 0, 0);
    EXPECT_TRUE(in.student_aux.requires_grad());  // the student's auxiliary logits carry a graph
    EXPECT_CLOSE(in.student.value(), x.reshape({B, C}), 0, 0);
  }
  // K = 1: one normalised step of η from each of the first rows, equal to the
  // generator run on those rows alone.
  {
    auto obj = recorder("bpkd", {"fraction=0.5", "steps=1", "eta=0.5"});
    distill::StepContext ctx{student, &teacher, obj.get(), rng, 0.0};
    distill::training_step(ctx, make_batch(x, labels), 1);
    const Tensor aux = obj->seen.student_aux.value();
    ASSERT_EQ(aux.shape(), (Shape{4, C}));
    const distill::NetworkFn s = [&](const Variable& v) { return student(v); };
    const distill::NetworkFn t = [&](const Variable& v) { return teacher(v); };
    student.eval();
    distill::BpkdOptions o;
    o.fraction = 1.0, o.steps = 1, o.eta = 0.5;
    const distill::BpkdSamples ref = distill::bpkd_aux_samples(s, t, x.narrow(0, 0, 4).contiguous(), o);
    student.train();
    EXPECT_CLOSE(aux, ref.x.reshape({4, C}), 0, 0);
    const std::vector<float> xs = floats(x.reshape({B, C})), as = floats(aux);
    for (int64_t i = 0; i < 4; ++i) {
      double own = 0;
      for (int64_t k = 0; k < C; ++k) own += std::pow(as[i * C + k] - xs[i * C + k], 2);
      EXPECT_NEAR(std::sqrt(own), 0.5, 1e-5) << "row " << i;  // ‖X'_i − X_i‖ = η
      for (int64_t j = 0; j < B; ++j) {
        if (j == i) continue;
        double other = 0;
        for (int64_t k = 0; k < C; ++k) other += std::pow(as[i * C + k] - xs[j * C + k], 2);
        EXPECT_GT(other, own) << "auxiliary row " << i << " is nearer batch row " << j;
      }
    }
    EXPECT_CLOSE(obj->seen.teacher_aux, ops::mul_scalar(aux, 2.0f), 1e-6, 1e-6);
    EXPECT_GT(obj->compute(obj->seen).term("aux_kd"), 0.0);
  }
  // fraction 0: no auxiliary samples, no auxiliary terms.
  {
    auto obj = recorder("bpkd", {"fraction=0"});
    distill::StepContext ctx{student, &teacher, obj.get(), rng, 0.0};
    const distill::StepResult r = distill::training_step(ctx, make_batch(x, labels), 1);
    EXPECT_FALSE(obj->seen.student_aux.defined());
    EXPECT_FALSE(obj->seen.teacher_aux.defined());
    EXPECT_EQ(r.loss.term("aux_kd"), 0.0);
  }
  EXPECT_TRUE(student.is_training());  // the step restores the student's mode
  EXPECT_FALSE(teacher.is_training());
  EXPECT_EQ(rng.offset(), 0u);
}

}  // namespace
}  // namespace retort
