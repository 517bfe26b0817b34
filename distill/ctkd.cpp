#include "distill/ctkd.h"

#include <cmath>
#include <vector>

#include "autograd/function_node.h"
#include "autograd/functions.h"
#include "distill/fused.h"
#include "distill/logit_utils.h"

namespace retort {
namespace distill {

namespace ag = autograd;
using autograd::Variable;

namespace {

constexpr const char* kName = "ctkd";
constexpr double kPi = 3.14159265358979323846;

void check_options(const CtkdOptions& o) {
  RETORT_CHECK(o.t_end > 0 && o.t_start >= 0,
               kName << ": expected t_start >= 0 and t_end > 0 (so T > 0), found t_start " << o.t_start
                     << ", t_end " << o.t_end);
  RETORT_CHECK(o.ce_weight >= 0 && o.kd_weight >= 0,
               kName << ": expected weights >= 0, found ce_weight " << o.ce_weight << ", kd_weight " << o.kd_weight);
  RETORT_CHECK(o.cosine_epochs > 0, kName << ": expected cosine_epochs > 0, found " << o.cosine_epochs);
}

Variable scalar_view(const Variable& T) {
  RETORT_CHECK(T.defined() && T.numel() == 1,
               kName << ": expected a one-element temperature, found " << (T.defined() ? T.shape().str() : "none"));
  return ag::reshape(T, {1, 1});
}

class CtkdObjective final : public Objective {
 public:
  explicit CtkdObjective(const Options& o)
      : Objective(o), opts_(ctkd_options(o)), theta_(full(Shape{1}, opts_.theta_init), true) {}
  LossResult compute(const StepInputs& in) override {
    return ctkd_loss(in.student, in.teacher, in.labels, theta_, opts_, in.epoch);
  }
  std::vector<Variable> parameters() override { return {theta_}; }

 private:
  CtkdOptions opts_;
  Variable theta_;  // stays on the CPU; the fused loss reads T on the host
};

}  // namespace

CtkdOptions ctkd_options(const Options& options) {
  CtkdOptions o;
  o.t_start = options.get("t_start");
  o.t_end = options.get("t_end");
  o.theta_init = options.get("theta");
  o.ce_weight = options.get("ce_weight");
  o.kd_weight = options.get("kd_weight");
  o.cosine_epochs = options.get("cosine_epochs");
  o.lambda_max = options.get("lambda_max");
  o.lambda_min = options.get("lambda_min");
  check_options(o);
  return o;
}

double ctkd_lambda(int epoch, const CtkdOptions& o) {
  RETORT_CHECK(epoch >= 1, kName << ": epochs are counted from 1, found epoch " << epoch);
  check_options(o);
  // CosineDecay.get_value of the reference: the epoch is clamped to the cycle.
  const double e = std::min(static_cast<double>(epoch), o.cosine_epochs);
  return (std::cos(kPi * e / o.cosine_epochs) + 1.0) / 2.0 * (o.lambda_max - o.lambda_min) + o.lambda_min;
}

Variable gradient_reversal(const Variable& x, double lambda) {
  if (!ag::needs_graph({x})) return Variable(x.value());
  const float l = static_cast<float>(lambda);
  return ag::record("GradientReversalBackward", {x}, x.value(), [l](const ag::Grads& g, const ag::Node&) {
    return ag::Grads{ops::mul_scalar(g[0], l)};
  });
}

Variable ctkd_temperature(const Variable& theta, const CtkdOptions& o, double lambda) {
  check_options(o);
  const Variable s = ag::sigmoid(gradient_reversal(theta, lambda));
  return ag::add_scalar(ag::mul_scalar(s, static_cast<float>(o.t_end)), static_cast<float>(o.t_start));
}

Variable kd_at_temperature(const Variable& student, const Tensor& teacher, const Variable& T) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  const Variable t = scalar_view(T);
  const double temp = t.value().to(Device::cpu()).item<float>();
  RETORT_CHECK(temp > 0 && std::isfinite(temp), kName << ": expected a temperature > 0, found " << temp);
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const int64_t B = zs.rows, C = zs.cols;
  const bool grad = fused::wants_grad({student, t});

  fused::Matrix dz(grad ? B : 0, C), dT(1, 1);
  std::vector<double> logp(C), p(C), logq(C), q(C);
  double kl = 0, dkl_dT = 0;  // Σ_i KL_i and Σ_i T²·∂KL_i/∂T
  for (int64_t i = 0; i < B; ++i) {
    const double* u = zt.row(i);
    const double* v = zs.row(i);
    fused::log_softmax_row(u, C, temp, logp.data(), p.data());
    fused::log_softmax_row(v, C, temp, logq.data(), q.data());
    double K = 0, ep_u = 0, ep_v = 0, eq_v = 0;
    for (int64_t k = 0; k < C; ++k) {
      if (p[k] > 0) K += p[k] * (logp[k] - logq[k]);
      ep_u += p[k] * u[k], ep_v += p[k] * v[k], eq_v += q[k] * v[k];
    }
    kl += K;
    if (!grad) continue;
    double cov = 0;
    for (int64_t k = 0; k < C; ++k)
      if (p[k] > 0) cov += p[k] * (u[k] - ep_u) * (logp[k] - logq[k]);
    // T²·∂KL/∂T = −Σ p (u − E_p u)(log p − log q) + (E_p v − E_q v)   (METHODS.md §11.2)
    dkl_dT += -cov + (ep_v - eq_v);
    double* g = dz.row(i);
    for (int64_t k = 0; k < C; ++k) g[k] = temp / B * (q[k] - p[k]);
  }
  // d(T²·mean KL)/dT = 2T·mean KL + T²·mean ∂KL/∂T.
  dT(0, 0) = 2 * temp * kl / B + dkl_dT / B;
  return fused::make_loss("KdAtTemperatureFusedBackward", {student, t}, temp * temp * kl / B,
                          {std::move(dz), std::move(dT)});
}

Variable kd_at_temperature_composed(const Variable& student, const Tensor& teacher, const Variable& T) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  const Variable t = scalar_view(T);
  const int64_t B = student.size(0);
  const Variable logq = ag::log_softmax(ag::div(student, t));
  const Variable logp = ag::log_softmax(ag::div(Variable(teacher), t));
  const Variable kl = ag::sum(ag::mul(ag::exp(logp), ag::sub(logp, logq)));
  return ag::mul_scalar(ag::mul(ag::reshape(ag::square(t), {}), kl), 1.0f / static_cast<float>(B));
}

LossResult ctkd_loss(const Variable& student, const Tensor& teacher, const Tensor& labels, const Variable& theta,
                     const CtkdOptions& o, int epoch) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  fused::host_labels(kName, labels, student.size(0), student.size(1));
  const Variable T = ctkd_temperature(theta, o, ctkd_lambda(epoch, o));
  const Variable kd = ag::mul_scalar(kd_at_temperature(student, teacher, T), static_cast<float>(o.kd_weight));
  const Variable ce = ag::mul_scalar(ag::cross_entropy(student, labels), static_cast<float>(o.ce_weight));
  LossResult r;
  r.total = ag::add(ce, kd);
  r.terms = {{"ce", item(ce)}, {"kd", item(kd)}};
  return r;
}

MethodInfo ctkd_method() {
  MethodInfo m;
  m.name = kName;
  m.title = "CTKD (curriculum temperature, global; KD + CTKD)";
  m.provenance = "reference code: zhengli97/CTKD, models/temp_global.py and helper/loops.py";
  m.formula =
      "w_ce*CE + w_kd*T^2*KL_T(Zt||Zs), T = t_start + t_end*sigmoid(GRL(theta)), GRL scales theta's gradient by "
      "lambda_e = -(1-cos(pi*min(e,E)/E))/2";
  m.options = {
      {"t_start", 1.0, "T = t_start + t_end*sigmoid(theta)"},
      {"t_end", 20.0, "T = t_start + t_end*sigmoid(theta)"},
      {"theta", 1.0, "initial value of the learnable theta (T = 15.6212 at theta = 1)"},
      {"ce_weight", 0.1, "weight of the cross-entropy"},
      {"kd_weight", 0.9, "weight of T^2 * batchmean KL at the learnable T"},
      {"cosine_epochs", 10.0, "epochs of the cosine schedule of the gradient-reversal factor lambda"},
      {"lambda_max", 0.0, "lambda at epoch 0 (cosine start)"},
      {"lambda_min", -1.0, "lambda from cosine_epochs on (cosine end)"},
  };
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<CtkdObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
