#include "distill/dtkd.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/functions.h"
#include "distill/fused.h"
#include "distill/logit_utils.h"

namespace retort {
namespace distill {

namespace ag = autograd;
using autograd::Variable;

namespace {

constexpr const char* kName = "dtkd";

class DtkdObjective final : public Objective {
 public:
  explicit DtkdObjective(const Options& o) : Objective(o), opts_(dtkd_options(o)) {}
  LossResult compute(const StepInputs& in) override {
    return dtkd_loss(in.student, in.teacher, in.labels, opts_, in.epoch);
  }

 private:
  DtkdOptions opts_;
};

void check_options(const DtkdOptions& o) {
  RETORT_CHECK(o.tau > 0 && std::isfinite(o.tau), kName << ": expected a temperature tau > 0, found " << o.tau);
  RETORT_CHECK(o.alpha >= 0 && o.beta >= 0 && o.gamma >= 0,
               kName << ": expected weights >= 0, found alpha " << o.alpha << ", beta " << o.beta << ", gamma "
                     << o.gamma);
  RETORT_CHECK(o.warmup >= 0, kName << ": expected warmup >= 0 epochs, found " << o.warmup);
}

void check_inputs(const Variable& student, const Tensor& teacher, const Tensor& labels) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  fused::host_labels(kName, labels, student.size(0), student.size(1));
}

// The temperatures of one row and where the student's maximum sits.
struct RowTemperature {
  double x = 0, y = 0;    // teacher and student (absolute) maximum logits
  int64_t arg = 0;        // first index of the student's maximum
  double sign = 1;        // d y / d v_arg (sign(v_arg) under abs_max)
  double Tt = 0, Ts = 0;  // teacher and student temperatures
  bool fallback = false;  // T = τ for this row (guard)
};

RowTemperature row_temperature(const double* u, const double* v, int64_t C, const DtkdOptions& o, int64_t row) {
  RowTemperature r;
  auto key = [&o](double z) { return o.abs_max ? std::fabs(z) : z; };
  r.x = key(u[0]);
  for (int64_t k = 1; k < C; ++k) r.x = std::max(r.x, key(u[k]));
  r.y = key(v[0]);
  for (int64_t k = 1; k < C; ++k)
    if (key(v[k]) > r.y) r.y = key(v[k]), r.arg = k;
  r.sign = o.abs_max && v[r.arg] < 0 ? -1.0 : 1.0;
  // x + y <= 0 makes the temperatures negative or infinite (METHODS.md §13 item 10);
  // x = 0 or y = 0 makes one of them 0 (a division by zero in the softmax).
  const bool valid = r.x + r.y > 0 && r.x != 0 && r.y != 0;
  if (!valid) {
    RETORT_CHECK(o.fallback_to_tau, kName << ": row " << row << " has teacher max logit " << r.x
                                          << " and student max logit " << r.y
                                          << "; their sum must be > 0 (and neither 0) for the dynamic temperatures "
                                             "2x/(x+y)*tau, 2y/(x+y)*tau (set fallback_to_tau=1 to use tau for such "
                                             "rows)");
    r.fallback = true;
    r.Tt = r.Ts = o.tau;
    return r;
  }
  r.Tt = 2 * r.x / (r.x + r.y) * o.tau;
  r.Ts = 2 * r.y / (r.x + r.y) * o.tau;
  return r;
}

// log_softmax(z/T) and softmax(z/T) with one exp per value.
void log_softmax_and_softmax(const double* z, int64_t n, double T, double* logp, double* p) {
  double m = z[0] / T;
  for (int64_t k = 1; k < n; ++k) m = std::max(m, z[k] / T);
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) sum += (p[k] = std::exp(z[k] / T - m));
  const double lse = m + std::log(sum), inv = 1 / sum;
  for (int64_t k = 0; k < n; ++k) logp[k] = z[k] / T - lse, p[k] *= inv;
}

}  // namespace

DtkdOptions dtkd_options(const Options& options) {
  DtkdOptions o;
  o.tau = options.get("tau");
  o.alpha = options.get("alpha");
  o.beta = options.get("beta");
  o.gamma = options.get("gamma");
  o.warmup = options.get("warmup");
  o.detach_temperature = option_flag(kName, "detach_temperature", options.get("detach_temperature"));
  o.abs_max = option_flag(kName, "abs_max", options.get("abs_max"));
  o.fallback_to_tau = option_flag(kName, "fallback_to_tau", options.get("fallback_to_tau"));
  check_options(o);
  return o;
}

DtkdTemperatures dtkd_temperatures(const Tensor& student, const Tensor& teacher, const DtkdOptions& o) {
  fused::check_logits(kName, student, teacher);
  check_options(o);
  const fused::Matrix zs = fused::to_host(student), zt = fused::to_host(teacher);
  DtkdTemperatures t;
  for (int64_t i = 0; i < zs.rows; ++i) {
    const RowTemperature r = row_temperature(zt.row(i), zs.row(i), zs.cols, o, i);
    t.teacher.push_back(r.Tt);
    t.student.push_back(r.Ts);
    t.fallback.push_back(r.fallback);
  }
  return t;
}

LossResult dtkd_loss(const Variable& student, const Tensor& teacher, const Tensor& labels, const DtkdOptions& o,
                     int epoch) {
  check_inputs(student, teacher, labels);
  check_options(o);
  const double warm = warmup_factor(kName, epoch, o.warmup);
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const int64_t B = zs.rows, C = zs.cols;
  const std::vector<int64_t> y = fused::host_labels(kName, labels, B, C);
  const bool grad = fused::wants_grad({student});

  fused::Matrix dz(grad ? B : 0, C);
  std::vector<double> logp(C), p(C), logq(C), q(C), work(C);
  double dtkd = 0, kd = 0, ce = 0;
  const double f = warm * o.alpha / B;
  for (int64_t i = 0; i < B; ++i) {
    const double* u = zt.row(i);
    const double* v = zs.row(i);
    const RowTemperature r = row_temperature(u, v, C, o, i);
    log_softmax_and_softmax(u, C, r.Tt, logp.data(), p.data());
    log_softmax_and_softmax(v, C, r.Ts, logq.data(), q.data());
    double K = 0;
    for (int64_t k = 0; k < C; ++k)
      if (p[k] > 0) K += p[k] * (logp[k] - logq[k]);
    dtkd += r.Tt * r.Ts * K;
    double* g = grad ? dz.row(i) : nullptr;
    if (grad) {
      // Through q: ∂(T_t·T_s·K)/∂v_k = T_t·(q_k − p_k).
      for (int64_t k = 0; k < C; ++k) g[k] += f * r.Tt * (q[k] - p[k]);
      if (!o.detach_temperature && !r.fallback) {
        // Through the temperatures into the student's maximum logit (METHODS.md §4.3).
        double ep_v = 0, eq_v = 0, ep_u = 0;
        for (int64_t k = 0; k < C; ++k) ep_v += p[k] * v[k], eq_v += q[k] * v[k], ep_u += p[k] * u[k];
        double cov = 0;
        for (int64_t k = 0; k < C; ++k)
          if (p[k] > 0) cov += p[k] * (u[k] - ep_u) * (logp[k] - logq[k]);
        const double dK_dTs = (ep_v - eq_v) / (r.Ts * r.Ts);
        const double dK_dTt = -cov / (r.Tt * r.Tt);
        const double dl_dTt = r.Ts * K + r.Tt * r.Ts * dK_dTt;
        const double dl_dTs = r.Tt * K + r.Tt * r.Ts * dK_dTs;
        // dT_s/dy = −dT_t/dy = 2xτ/(x + y)².
        const double dT_dy = 2 * r.x * o.tau / ((r.x + r.y) * (r.x + r.y));
        g[r.arg] += f * r.sign * dT_dy * (dl_dTs - dl_dTt);
      }
    }
    // Vanilla KD at τ: d(τ²·KL)/dv = τ·(q − p).
    log_softmax_and_softmax(u, C, o.tau, logp.data(), p.data());
    log_softmax_and_softmax(v, C, o.tau, logq.data(), q.data());
    for (int64_t k = 0; k < C; ++k)
      if (p[k] > 0) kd += p[k] * (logp[k] - logq[k]);
    if (grad) {
      const double fk = warm * o.beta * o.tau / B;
      for (int64_t k = 0; k < C; ++k) g[k] += fk * (q[k] - p[k]);
    }
    ce += fused::cross_entropy_row(v, C, y[i], o.gamma / B, g, work.data());
  }
  const double ce_term = o.gamma * ce / B;
  const double dtkd_term = warm * o.alpha * dtkd / B;
  const double kd_term = warm * o.beta * o.tau * o.tau * kd / B;
  LossResult res;
  res.total = fused::make_loss("DtkdFusedBackward", {student}, ce_term + dtkd_term + kd_term, {std::move(dz)});
  res.terms = {{"ce", ce_term}, {"dtkd", dtkd_term}, {"kd", kd_term}};
  return res;
}

LossResult dtkd_loss_composed(const Variable& student, const Tensor& teacher, const Tensor& labels,
                              const DtkdOptions& o, int epoch) {
  check_inputs(student, teacher, labels);
  check_options(o);
  const double warm = warmup_factor(kName, epoch, o.warmup);
  const int64_t B = student.size(0);
  const Device dev = student.value().device();
  const float tau = static_cast<float>(o.tau);

  // Rows under the fallback use x = y = 1 (T = τ) and pass no gradient to y.
  const DtkdTemperatures t = dtkd_temperatures(student.value(), teacher, o);
  std::vector<float> valid(B), shift(B);
  for (int64_t i = 0; i < B; ++i) valid[i] = t.fallback[i] ? 0.0f : 1.0f, shift[i] = 1.0f - valid[i];
  const Tensor m = from_vector<float>(valid, Shape{B, 1}).to(dev);
  const Tensor c = from_vector<float>(shift, Shape{B, 1}).to(dev);

  const Tensor x = ops::max(o.abs_max ? ops::abs(teacher) : teacher, 1, true).values;
  Variable y = ag::max(o.abs_max ? ag::abs(student) : student, 1, true);
  if (o.detach_temperature) y = y.detach();
  const Variable xe(ops::add(ops::mul(x, m), c));
  const Variable ye = ag::add(ag::mul(y, Variable(m)), Variable(c));
  const Variable sum = ag::add(xe, ye);
  const Variable Tt = ag::mul_scalar(ag::div(xe, sum), 2.0f * tau);
  const Variable Ts = ag::mul_scalar(ag::div(ye, sum), 2.0f * tau);

  const Variable logq = ag::log_softmax(ag::div(student, Ts));
  const Variable logp = ag::log_softmax(ag::div(Variable(teacher), Tt));
  const Variable K = ag::sum(ag::mul(ag::exp(logp), ag::sub(logp, logq)), 1, true);
  const Variable l_dtkd = ag::mean(ag::mul(ag::mul(K, Tt), Ts));

  const Tensor pt = ops::softmax(teacher, tau);
  const Variable kl = ag::sub(Variable(xlogx_sum(pt)), ag::sum(ag::mul(Variable(pt), ag::log_softmax(student, tau))));
  const Variable dtkd_term = ag::mul_scalar(l_dtkd, static_cast<float>(warm * o.alpha));
  const Variable kd_term = ag::mul_scalar(kl, static_cast<float>(warm * o.beta * o.tau * o.tau / B));
  const Variable ce_term = ag::mul_scalar(ag::cross_entropy(student, labels), static_cast<float>(o.gamma));
  LossResult r;
  r.total = ag::add(ag::add(ce_term, dtkd_term), kd_term);
  r.terms = {{"ce", item(ce_term)}, {"dtkd", item(dtkd_term)}, {"kd", item(kd_term)}};
  return r;
}

MethodInfo dtkd_method() {
  MethodInfo m;
  m.name = kName;
  m.title = "DTKD (dynamic per-sample teacher and student temperatures)";
  m.provenance = "reference code: JinYu1998/DTKD, mdistiller/distillers/DTKD.py";
  m.formula =
      "min(e/warmup,1)*(alpha*mean_i Tt_i*Ts_i*KL(sm_Tt_i(Zt_i)||sm_Ts_i(Zs_i)) + beta*tau^2*KL_tau) + gamma*CE, "
      "Tt_i = 2x_i/(x_i+y_i)*tau, Ts_i = 2y_i/(x_i+y_i)*tau, x, y = max logits";
  m.options = {
      {"tau", 4.0, "reference temperature (T_t + T_s = 2 tau) and temperature of the vanilla KD term"},
      {"alpha", 3.0, "weight of the dynamic-temperature KD term (per-pair table)"},
      {"beta", 1.0, "weight of the vanilla KD term at tau (per-pair table)"},
      {"gamma", 1.0, "weight of the cross-entropy (outside the warm-up)"},
      {"warmup", 20.0, "epochs of the linear warm-up min(epoch/warmup, 1) of the KD terms; 0: none"},
      {"detach_temperature", 0.0, "1: no gradient through the temperatures (not code-exact; the code lets it flow)"},
      {"abs_max", 0.0, "1: x, y = max |logit| as in the paper; 0: plain max as in the code"},
      {"fallback_to_tau", 0.0, "1: rows with x + y <= 0 (or x, y = 0) use T = tau; 0: such a row is an error"},
  };
  // configs/cifar100/dtkd/*.yaml of JinYu1998/DTKD.
  m.pair_overrides = {
      {"resnet56", "resnet20", {{"alpha", 1.0}, {"beta", 0.5}}},
      {"resnet110", "resnet32", {{"alpha", 1.0}, {"beta", 0.5}}},
      {"wrn_40_2", "wrn_40_1", {{"alpha", 1.0}, {"beta", 0.5}}},
      {"wrn_40_2", "ShuffleV1", {{"alpha", 2.0}, {"beta", 0.5}}},
      {"ResNet50", "MobileNetV2", {{"alpha", 3.0}, {"beta", 2.0}}},
      {"resnet32x4", "resnet8x4", {{"alpha", 3.0}, {"beta", 1.0}}},
      {"resnet32x4", "ShuffleV1", {{"alpha", 3.0}, {"beta", 1.0}}},
      {"resnet32x4", "ShuffleV2", {{"alpha", 3.0}, {"beta", 1.0}}},
      {"wrn_40_2", "wrn_16_2", {{"alpha", 3.0}, {"beta", 1.0}}},
      {"vgg13", "vgg8", {{"alpha", 3.0}, {"beta", 1.0}}},
      {"vgg13", "MobileNetV2", {{"alpha", 3.0}, {"beta", 1.0}}},
  };
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<DtkdObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
