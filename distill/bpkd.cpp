#include "distill/bpkd.h"

#include <cfloat>
#include <cmath>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "distill/fused.h"
#include "distill/kd.h"
#include "distill/logit_utils.h"

namespace retort {
namespace distill {

namespace ag = autograd;
using autograd::Variable;

namespace {

constexpr const char* kName = "bpkd";

void check_options(const BpkdOptions& o) {
  RETORT_CHECK(o.T > 0 && std::isfinite(o.T), kName << ": expected a temperature T > 0, found " << o.T);
  RETORT_CHECK(o.a >= 0 && o.a <= 1, kName << ": expected a in [0, 1] (CE gets 1 - a), found " << o.a);
  RETORT_CHECK(o.a_aux >= 0 && o.aux_ce >= 0,
               kName << ": expected weights >= 0, found a_aux " << o.a_aux << ", aux_ce " << o.aux_ce);
  RETORT_CHECK(o.eta >= 0 && std::isfinite(o.eta), kName << ": expected a step size eta >= 0, found " << o.eta);
  RETORT_CHECK(o.steps >= 0, kName << ": expected steps >= 0, found " << o.steps);
  RETORT_CHECK(o.fraction >= 0 && o.fraction <= 1, kName << ": expected fraction in [0, 1], found " << o.fraction);
  RETORT_CHECK(!o.clip_range || o.clip_min <= o.clip_max,
               kName << ": expected clip_min <= clip_max, found " << o.clip_min << " > " << o.clip_max);
  RETORT_CHECK(o.ball_radius >= 0, kName << ": expected ball_radius >= 0, found " << o.ball_radius);
}

class BpkdObjective final : public Objective {
 public:
  explicit BpkdObjective(const Options& o) : Objective(o), opts_(bpkd_options(o)) {}
  LossResult compute(const StepInputs& in) override {
    return bpkd_loss(in.student, in.teacher, in.labels, in.student_aux, in.teacher_aux, opts_, in.epoch);
  }
  StepNeeds needs() const override {
    StepNeeds n;
    n.aux_samples = true;
    return n;
  }

 private:
  BpkdOptions opts_;
};

}  // namespace

BpkdOptions bpkd_options(const Options& options) {
  BpkdOptions o;
  o.T = options.get("T");
  o.a = options.get("a");
  o.a_aux = options.get("a_aux");
  o.aux_ce = options.get("aux_ce");
  o.divergence = static_cast<BpkdDivergence>(option_int(kName, "divergence", options.get("divergence"), 0, 1));
  o.step = static_cast<BpkdStep>(option_int(kName, "step_rule", options.get("step_rule"), 0, 2));
  o.eta = options.get("eta");
  o.steps = option_int(kName, "steps", options.get("steps"), 0, 1000000);
  o.fraction = options.get("fraction");
  o.clip_range = option_flag(kName, "clip_range", options.get("clip_range"));
  o.clip_min = options.get("clip_min");
  o.clip_max = options.get("clip_max");
  o.ball_radius = options.get("ball_radius");
  check_options(o);
  return o;
}

Variable bpkd_divergence(const Variable& teacher_logits, const Variable& student_logits, const BpkdOptions& o) {
  RETORT_CHECK(teacher_logits.defined() && student_logits.defined(), kName << ": divergence needs both logits");
  fused::check_logits(kName, student_logits.value(), teacher_logits.value());
  check_options(o);
  const fused::Matrix u = fused::to_host(teacher_logits.value()), v = fused::to_host(student_logits.value());
  const int64_t N = u.rows, C = u.cols;
  const bool grad = fused::wants_grad({teacher_logits, student_logits});
  fused::Matrix du(grad ? N : 0, C), dv(grad ? N : 0, C);
  std::vector<double> logp(C), p(C), logq(C), q(C);
  double D = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (o.divergence == BpkdDivergence::SquaredL2) {
      for (int64_t k = 0; k < C; ++k) {
        const double d = u(i, k) - v(i, k);
        D += d * d;
        if (grad) du(i, k) = 2 * d, dv(i, k) = -2 * d;
      }
      continue;
    }
    fused::log_softmax_row(u.row(i), C, o.T, logp.data(), p.data());
    fused::log_softmax_row(v.row(i), C, o.T, logq.data(), q.data());
    double K = 0;
    for (int64_t k = 0; k < C; ++k)
      if (p[k] > 0) K += p[k] * (logp[k] - logq[k]);
    D += K;
    if (!grad) continue;
    for (int64_t k = 0; k < C; ++k) {
      // p_k = 0 gives 0 whatever log q_k is (0·log 0 = 0).
      du(i, k) = p[k] > 0 ? p[k] * (logp[k] - logq[k] - K) / o.T : 0.0;
      dv(i, k) = (q[k] - p[k]) / o.T;
    }
  }
  return fused::make_loss("BpkdDivergenceFusedBackward", {teacher_logits, student_logits}, D,
                          {std::move(du), std::move(dv)});
}

BpkdGradient bpkd_input_gradient(const NetworkFn& student, const NetworkFn& teacher, const Tensor& x,
                                 const BpkdOptions& o) {
  RETORT_CHECK(ag::grad_enabled(), kName << ": input gradients need grad mode on (called under NoGradGuard)");
  RETORT_CHECK(x.defined() && x.dtype() == DType::F32 && x.ndim() >= 1 && x.size(0) >= 1,
               kName << ": expected a f32 input batch [N, ...], found "
                     << (x.defined() ? std::string(dtype_name(x.dtype())) + " " + x.shape().str() : "none"));
  const Variable xv(x, true);
  const Variable u = teacher(xv), v = student(xv);
  RETORT_CHECK(u.defined() && v.defined() && u.ndim() == 2 && u.size(0) == x.size(0),
               kName << ": expected the networks to map " << x.size(0) << " inputs to logits [" << x.size(0)
                     << ", C], found " << (u.defined() ? u.shape().str() : "none"));
  const Variable D = bpkd_divergence(u, v, o);
  RETORT_CHECK(D.requires_grad(),
               kName << ": the divergence does not depend on the input (do the networks detach it?)");
  BpkdGradient r;
  r.divergence = item(D);
  r.grad = ag::grad({D}, {xv})[0];
  return r;
}

BpkdSamples bpkd_aux_samples(const NetworkFn& student, const NetworkFn& teacher, const Tensor& x,
                             const BpkdOptions& o) {
  check_options(o);
  RETORT_CHECK(x.defined() && x.dtype() == DType::F32 && x.ndim() >= 1,
               kName << ": expected a f32 input batch [B, ...], found "
                     << (x.defined() ? std::string(dtype_name(x.dtype())) + " " + x.shape().str() : "none"));
  const int64_t B = x.size(0);
  int64_t n = std::llround(o.fraction * static_cast<double>(B));
  if (o.fraction > 0) n = std::max<int64_t>(n, 1);  // a positive fraction of a small batch still makes one
  BpkdSamples s;
  s.count = n;
  if (n == 0) return s;
  const Tensor x0 = x.narrow(0, 0, n).contiguous();
  Tensor xk = x0.clone();
  for (int k = 0; k < o.steps; ++k) {
    const BpkdGradient g = bpkd_input_gradient(student, teacher, xk, o);
    s.divergence.push_back(g.divergence);
    Tensor step;
    switch (o.step) {
      case BpkdStep::Normalized: {
        // g_i/‖g_i‖₂ over every element of sample i; a zero gradient stays zero.
        const Tensor flat = g.grad.reshape({n, -1});
        const Tensor norm = ops::sqrt(ops::sum(ops::square(flat), 1, true));
        step = ops::div(flat, ops::maximum(norm, full(Shape{n, 1}, FLT_MIN, DType::F32, norm.device())))
                   .reshape(x0.shape().vec());
        break;
      }
      case BpkdStep::Sign: step = ops::sign(g.grad); break;
      case BpkdStep::Raw: step = g.grad; break;
    }
    xk = ops::add(xk, ops::mul_scalar(step, static_cast<float>(o.eta)));
    if (o.ball_radius > 0) {
      const float r = static_cast<float>(o.ball_radius);
      xk = ops::minimum(ops::maximum(xk, ops::add_scalar(x0, -r)), ops::add_scalar(x0, r));
    }
    if (o.clip_range) xk = ops::clamp(xk, static_cast<float>(o.clip_min), static_cast<float>(o.clip_max));
  }
  s.x = xk;
  return s;
}

LossResult bpkd_loss(const Variable& student, const Tensor& teacher, const Tensor& labels, const Variable& student_aux,
                     const Tensor& teacher_aux, const BpkdOptions& o, int epoch) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  check_options(o);
  KdOptions main;
  main.T = o.T, main.w_ce = 1 - o.a, main.w_kd = o.a;
  const LossResult clean = kd_loss(student, teacher, labels, main, epoch);
  LossResult r;
  r.total = clean.total;
  double aux_kd = 0, aux_ce = 0;
  if (student_aux.defined()) {
    fused::check_logits(kName, student_aux.value(), teacher_aux);
    const int64_t n = student_aux.size(0);
    RETORT_CHECK(n <= student.size(0) && student_aux.size(1) == student.size(1),
                 kName << ": expected auxiliary logits [n <= " << student.size(0) << ", " << student.size(1)
                       << "] (made from the first rows of the batch), found " << student_aux.shape());
    KdOptions aux;
    aux.T = o.T, aux.w_ce = o.aux_ce, aux.w_kd = o.a_aux;
    const LossResult a = kd_loss(student_aux, teacher_aux, labels.narrow(0, 0, n).contiguous(), aux, epoch);
    r.total = ag::add(r.total, a.total);
    aux_kd = a.term("kd"), aux_ce = a.term("ce");
  } else {
    RETORT_CHECK(!teacher_aux.defined(), kName << ": teacher logits on auxiliary samples came without student logits");
  }
  r.terms = {{"ce", clean.term("ce")}, {"kd", clean.term("kd")}, {"aux_kd", aux_kd}, {"aux_ce", aux_ce}};
  return r;
}

MethodInfo bpkd_method() {
  MethodInfo m;
  m.name = kName;
  m.title = "backward-pass KD (reconstruction): KD on samples that ascend the teacher-student divergence";
  m.provenance = "reconstruction (METHODS.md §9, from the abstract of arXiv 2301.12006; no public implementation)";
  m.formula =
      "(1-a)*CE(s(X),y) + a*T^2*KL(t(X)||s(X)) + a_aux*T^2*KL(t(X')||s(X')), X' = X + eta*step(grad_X D) K times";
  m.options = {
      {"T", 4.0, "temperature of the divergence and of both KD terms"},
      {"a", 0.9, "KD weight on the batch (the cross-entropy gets 1 - a)"},
      {"a_aux", 0.9, "KD weight on the auxiliary samples"},
      {"aux_ce", 0.0, "cross-entropy weight on the auxiliary samples (labels of their source rows)"},
      {"divergence", 0.0, "0: sum of KL(softmax_T(t) || softmax_T(s)); 1: sum of squared logit differences"},
      {"step_rule", 0.0, "0: g/||g|| per sample; 1: sign(g); 2: raw g"},
      {"eta", 0.5, "step size in normalised-input units"},
      {"steps", 1.0, "ascent steps K"},
      {"fraction", 1.0, "share of the batch (its first rows) turned into auxiliary samples"},
      {"clip_range", 0.0, "1: clamp the auxiliary samples to [clip_min, clip_max]"},
      {"clip_min", -3.0, "lower bound of clip_range"},
      {"clip_max", 3.0, "upper bound of clip_range"},
      {"ball_radius", 0.0, "clamp to the L-infinity ball of this radius around the source samples; 0: none"},
  };
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<BpkdObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
