#include "distill/step.h"

#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "distill/bpkd.h"
#include "tensor/ops.h"

namespace retort {
namespace distill {

using autograd::Variable;

namespace {

// Uniform in the open interval (0, 1) from one 64-bit draw (53 bits).
double uniform_open(Generator& rng) { return (static_cast<double>(rng.next_u64() >> 11) + 0.5) * 0x1p-53; }

// Standard normal by Box-Muller from two uniform draws (the second variate is dropped).
double standard_normal(Generator& rng) {
  const double u1 = uniform_open(rng), u2 = uniform_open(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// log X for X ~ Gamma(shape, 1): Marsaglia-Tsang for shape >= 1; below 1,
// Gamma(shape) = Gamma(shape + 1)·U^(1/shape), kept in logs so that a tiny
// shape cannot underflow to 0.
double log_gamma_draw(double shape, Generator& rng) {
  if (shape < 1) {
    const double boost = std::log(uniform_open(rng)) / shape;
    return log_gamma_draw(shape + 1, rng) + boost;
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double z = standard_normal(rng);
    double v = 1.0 + c * z;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = uniform_open(rng);
    if (std::log(u) < 0.5 * z * z + d - d * v + d * std::log(v)) return std::log(d) + std::log(v);
  }
}

// λ ~ Beta(a, a) = X/(X + Y) with X, Y ~ Gamma(a), from the logs of X and Y.
double beta_draw(double a, Generator& rng) {
  const double lx = log_gamma_draw(a, rng), ly = log_gamma_draw(a, rng);
  if (lx >= ly) return 1.0 / (1.0 + std::exp(ly - lx));
  const double e = std::exp(lx - ly);
  return e / (1.0 + e);
}

// Rows perm[0], perm[1], ... of x (any dtype), contiguous; runs where ops::cat runs (CPU today).
Tensor gather_rows(const Tensor& x, const std::vector<int64_t>& perm) {
  std::vector<Tensor> rows;
  rows.reserve(perm.size());
  for (int64_t i : perm) rows.push_back(x.narrow(0, i, 1));
  return ops::cat(rows, 0);
}

// Mixup (STKD, METHODS.md §8.2): one λ ~ Beta(a, a) per batch, then a
// permutation π of the batch, both from the step's generator in that order;
// images λ·X + (1 − λ)·X[π], partner labels y[π].
struct Mixed {
  Tensor images;
  Tensor labels_b;
  double lambda = 1.0;
};

Mixed mix_batch(const Tensor& images, const Tensor& labels, double alpha, Generator& rng) {
  RETORT_CHECK(alpha > 0 && std::isfinite(alpha), "training step: expected mix_alpha > 0 (Beta(a, a)), found " << alpha);
  Mixed m;
  m.lambda = beta_draw(alpha, rng);
  const std::vector<int64_t> perm = ops::randperm(images.size(0), rng).to_vector<int64_t>();
  const float lam = static_cast<float>(m.lambda);
  m.images = ops::add(ops::mul_scalar(images, lam), ops::mul_scalar(gather_rows(images, perm), 1.0f - lam));
  m.labels_b = gather_rows(labels, perm);
  return m;
}

// Evaluation mode for a scope; the previous mode comes back on exit, also on a throw.
class EvalMode {
 public:
  explicit EvalMode(layers::Model& model) : model_(model), was_training_(model.is_training()) { model_.eval(); }
  ~EvalMode() { model_.train(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  layers::Model& model_;
  bool was_training_;
};

}  // namespace

Tensor teacher_logits(layers::Model& teacher, const Tensor& images) {
  autograd::NoGradGuard no_grad;
  return teacher(Variable(images)).value();
}

StepResult training_step(StepContext& ctx, const data::Batch& batch, int epoch) {
  StepResult r;
  if (!ctx.objective) {
    const Variable logits = ctx.student(Variable(batch.images));
    const Variable ce = autograd::cross_entropy(logits, batch.labels, static_cast<float>(ctx.label_smoothing));
    r.loss.total = ce;
    r.loss.terms = {{"ce", ce.value().to(Device::cpu()).item<float>()}};
    r.logits = logits.value();
    return r;
  }
  const StepNeeds needs = ctx.objective->needs();
  RETORT_CHECK(ctx.teacher != nullptr, "training step: distillation needs a teacher");
  StepInputs in;
  in.epoch = epoch;
  in.labels = batch.labels;
  if (needs.mixup) {
    // Both networks see only the mixed batch; the training accuracy is taken
    // on it against the first labels (y_a = y).
    const Mixed m = mix_batch(batch.images, batch.labels, ctx.objective->options().get("mix_alpha"), ctx.rng);
    in.student = ctx.student(Variable(m.images));
    in.teacher = teacher_logits(*ctx.teacher, m.images);
    in.labels_b = m.labels_b;
    in.mix_lambda = m.lambda;
  } else {
    in.student = ctx.student(Variable(batch.images));
    in.teacher = teacher_logits(*ctx.teacher, batch.images);
  }
  r.logits = in.student.value();
  if (needs.strong_view) {
    RETORT_CHECK(batch.views.size() >= 2, "training step: the method needs a strong view but the batch has one view");
    in.student_strong = ctx.student(Variable(batch.views[1]));
    in.teacher_strong = teacher_logits(*ctx.teacher, batch.views[1]);
  }
  if (needs.aux_samples) {
    // Backward-pass KD (METHODS.md §9.2): the first rows of the batch ascend
    // the teacher-student divergence through both networks in evaluation mode
    // (input gradients only); then the student (in its training mode, with a
    // graph) and the teacher (no graph) run on the result.
    const BpkdOptions o = bpkd_options(ctx.objective->options());
    BpkdSamples s;
    {
      const EvalMode student_eval(ctx.student), teacher_eval(*ctx.teacher);
      const NetworkFn student = [&ctx](const Variable& x) { return ctx.student(x); };
      const NetworkFn teacher = [&ctx](const Variable& x) { return (*ctx.teacher)(x); };
      s = bpkd_aux_samples(student, teacher, batch.images, o);
    }
    if (s.count > 0) {
      in.student_aux = ctx.student(Variable(s.x));
      in.teacher_aux = teacher_logits(*ctx.teacher, s.x);
    }
  }
  r.loss = ctx.objective->compute(in);
  return r;
}

}  // namespace distill
}  // namespace retort
