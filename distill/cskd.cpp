#include "distill/cskd.h"

#include <algorithm>
#include <utility>

#include "autograd/functions.h"

namespace retort {
namespace distill {

namespace {

constexpr const char* kName = "cskd";

void check_common(const autograd::Variable& student, const Tensor& teacher, int epoch) {
  RETORT_CHECK(student.defined(), "cskd: student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  RETORT_CHECK(epoch >= 1, "cskd: epochs are counted from 1, found epoch " << epoch);
}

void check_tau(const std::vector<double>& tau, int64_t B) {
  RETORT_CHECK(static_cast<int64_t>(tau.size()) == B,
               "cskd: expected " << B << " row temperatures, found " << tau.size());
  for (double t : tau) RETORT_CHECK(t > 0, "cskd: expected positive row temperatures, found " << t);
}

double average(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

class CskdObjective final : public Objective {
 public:
  explicit CskdObjective(const Options& o) : Objective(o), opt_(CskdOptions::from(o)) {}
  LossResult compute(const StepInputs& in) override {
    return cskd_loss(in.student, in.teacher, in.labels, opt_, in.epoch);
  }

 private:
  CskdOptions opt_;
};

}  // namespace

CskdOptions CskdOptions::from(const Options& o) {
  CskdOptions c;
  c.T = o.get("T");
  c.alpha = o.get("alpha");
  c.T_low = o.get("T_low");
  c.T_high = o.get("T_high");
  c.w_ce = o.get("w_ce");
  c.w_kd = o.get("w_kd");
  c.eps = o.get("eps");
  c.delta = o.get("delta");
  c.validate(o.method().c_str());
  return c;
}

void CskdOptions::validate(const char* method) const {
  RETORT_CHECK(T > 0, method << ": expected temperature T > 0, found " << T);
  RETORT_CHECK(T_low > 0 && T_high >= T_low,
               method << ": expected 0 < T_low <= T_high, found T_low " << T_low << ", T_high " << T_high);
  RETORT_CHECK(w_ce >= 0 && w_kd >= 0 && alpha >= 0,
               method << ": expected w_ce, w_kd, alpha >= 0, found " << w_ce << ", " << w_kd << ", " << alpha);
  RETORT_CHECK(eps >= 0 && delta >= 0, method << ": expected eps, delta >= 0, found " << eps << ", " << delta);
}

Cswt cswt(const fused::Matrix& zs, const fused::Matrix& zt, const CskdOptions& o) {
  const int64_t B = zs.rows, C = zs.cols;
  fused::Matrix qs(B, C), qt(B, C);
  for (int64_t i = 0; i < B; ++i) {
    fused::softmax_row(zs.row(i), C, 1.0, qs.row(i));
    fused::softmax_row(zt.row(i), C, 1.0, qt.row(i));
  }
  Cswt r;
  r.row_cos = fused::row_cosine(qs, qt, o.eps, nullptr, 0.0);
  const double s_min = *std::min_element(r.row_cos.begin(), r.row_cos.end());
  const double s_max = *std::max_element(r.row_cos.begin(), r.row_cos.end());
  r.temperatures.resize(B);
  r.degenerate = s_max - s_min <= o.delta;
  for (int64_t i = 0; i < B; ++i)
    r.temperatures[i] = r.degenerate ? 0.5 * (o.T_low + o.T_high)
                                     : o.T_low + (o.T_high - o.T_low) * (s_max - r.row_cos[i]) / (s_max - s_min);
  return r;
}

std::vector<double> cswt_or_given(const fused::Matrix& zs, const fused::Matrix& zt, const CskdOptions& o) {
  if (o.temperatures.empty()) return cswt(zs, zt, o).temperatures;
  check_tau(o.temperatures, zs.rows);
  return o.temperatures;
}

Cswt cswt(const Tensor& student, const Tensor& teacher, const CskdOptions& o) {
  fused::check_logits(kName, student, teacher);
  return cswt(fused::to_host(student), fused::to_host(teacher), o);
}

double batch_cosine_probs(const fused::Matrix& ps, const fused::Matrix& pt, double mean_tau, double alpha,
                          double eps, fused::Matrix* dp, double scale, std::vector<double>* column_cos) {
  const int64_t C = ps.cols;
  const double pref = alpha * mean_tau * mean_tau;  // the square of the mean temperature, not the mean of squares
  // ∂L/∂c_j = −pref/C for every column.
  std::vector<double> c = fused::column_cosine(ps, pt, eps, dp, -scale * pref / C);
  double sum_c = 0.0;
  for (double x : c) sum_c += x;
  if (column_cos != nullptr) *column_cos = std::move(c);
  return pref * (1.0 - sum_c / C);
}

double batch_cosine(const fused::Matrix& zs, const fused::Matrix& zt, const std::vector<double>& tau, double alpha,
                    double eps, fused::Matrix* dz, double scale, std::vector<double>* column_cos) {
  const int64_t B = zs.rows, C = zs.cols;
  check_tau(tau, B);
  fused::Matrix ps(B, C), pt(B, C);
  fused::softmax_rows(zs, tau, ps);
  fused::softmax_rows(zt, tau, pt);
  fused::Matrix gp(dz != nullptr ? B : 0, C);
  const double loss =
      batch_cosine_probs(ps, pt, average(tau), alpha, eps, dz != nullptr ? &gp : nullptr, scale, column_cos);
  if (dz != nullptr) fused::softmax_rows_backward(ps, gp, tau, 1.0, *dz);
  return loss;
}

autograd::Variable batch_cosine_loss(const autograd::Variable& student, const Tensor& teacher,
                                     const std::vector<double>& tau, double alpha, double eps) {
  RETORT_CHECK(student.defined(), "cskd: student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const bool grad = fused::wants_grad({student});
  fused::Matrix dz(grad ? zs.rows : 0, zs.cols);
  const double loss = batch_cosine(zs, zt, tau, alpha, eps, grad ? &dz : nullptr, 1.0);
  return fused::make_loss("BatchCosineFusedBackward", {student}, loss, {std::move(dz)});
}

autograd::Variable batch_cosine_loss_composed(const autograd::Variable& student, const Tensor& teacher,
                                              const std::vector<double>& tau, double alpha, double eps) {
  using namespace autograd;
  RETORT_CHECK(student.defined(), "cskd: student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  const int64_t B = student.size(0);
  check_tau(tau, B);
  const Tensor tau_col = from_vector<float>(std::vector<float>(tau.begin(), tau.end()), Shape{B, 1})
                             .to(student.value().device());
  // softmax_{T_i} of row i = softmax_1 of row i divided by T_i.
  const Variable ps = softmax(div(student, Variable(tau_col)));
  const Tensor pt = ops::softmax(ops::div(teacher, tau_col));
  const Variable d = sum(mul(ps, Variable(pt)), 0);
  const Variable na = sqrt(sum(square(ps), 0));
  const Variable nb(ops::sqrt(ops::sum(ops::square(pt), 0)));
  const Variable c = div(d, add_scalar(mul(na, nb), static_cast<float>(eps)));
  const double mt = average(tau);
  return mul_scalar(add_scalar(neg(mean(c)), 1.0f), static_cast<float>(alpha * mt * mt));
}

LossResult cskd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                     const CskdOptions& o, int epoch) {
  check_common(student, teacher, epoch);
  o.validate();
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const int64_t B = zs.rows, C = zs.cols;
  const bool use_ce = o.w_ce != 0.0 || labels.defined();
  const std::vector<int64_t> y = use_ce ? fused::host_labels(kName, labels, B, C) : std::vector<int64_t>();
  const bool grad = fused::wants_grad({student});

  fused::Matrix dz(grad ? B : 0, C);
  fused::Matrix* g = grad ? &dz : nullptr;
  const std::vector<double> tau = cswt_or_given(zs, zt, o);
  const double cs = batch_cosine(zs, zt, std::vector<double>(B, o.T), o.alpha, o.eps, g, o.w_kd);
  const double cs_cswt = batch_cosine(zs, zt, tau, o.alpha, o.eps, g, o.w_kd);
  double ce = 0.0;
  if (use_ce) {
    std::vector<double> work(C);
    for (int64_t i = 0; i < B; ++i)
      ce += fused::cross_entropy_row(zs.row(i), C, y[i], o.w_ce / B, grad ? dz.row(i) : nullptr, work.data());
  }
  const double term_ce = use_ce ? o.w_ce * ce / B : 0.0;
  LossResult r;
  r.terms = {{"ce", term_ce}, {"cs", o.w_kd * cs}, {"cswt", o.w_kd * cs_cswt}};
  r.total = fused::make_loss("CskdFusedBackward", {student}, term_ce + o.w_kd * (cs + cs_cswt), {std::move(dz)});
  return r;
}

LossResult cskd_loss_composed(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                              const CskdOptions& o, int epoch) {
  using namespace autograd;
  check_common(student, teacher, epoch);
  o.validate();
  const int64_t B = student.size(0);
  const std::vector<double> tau = cswt_or_given(fused::to_host(student.value()), fused::to_host(teacher), o);
  const Variable cs = mul_scalar(batch_cosine_loss_composed(student, teacher, std::vector<double>(B, o.T), o.alpha,
                                                            o.eps),
                                 static_cast<float>(o.w_kd));
  const Variable cs_cswt =
      mul_scalar(batch_cosine_loss_composed(student, teacher, tau, o.alpha, o.eps), static_cast<float>(o.w_kd));
  LossResult r;
  r.total = add(cs, cs_cswt);
  double ce_value = 0.0;
  if (o.w_ce != 0.0 || labels.defined()) {
    fused::host_labels(kName, labels, B, student.size(1));
    const Variable ce = mul_scalar(cross_entropy(student, labels), static_cast<float>(o.w_ce));
    ce_value = ce.value().to(Device::cpu()).item<float>();
    r.total = add(ce, r.total);
  }
  r.terms = {{"ce", ce_value},
             {"cs", cs.value().to(Device::cpu()).item<float>()},
             {"cswt", cs_cswt.value().to(Device::cpu()).item<float>()}};
  return r;
}

MethodInfo cskd_method() {
  const CskdOptions d;
  MethodInfo m;
  m.name = kName;
  m.title = "CSKD + CSWT (core objective)";
  m.provenance =
      "reference code: llieeai/lud mdistiller/distillers/CSKD.py (not marked official); defaults from config "
      "(CFG.CSKD), alpha from the reference's function default; delta is retort's degenerate-batch guard";
  m.formula =
      "w_ce*CE + w_kd*[alpha*T^2*(1 - mean_j cos_eps(Ps[:,j], Pt[:,j])) + alpha*(mean_i T_i)^2*(1 - mean_j "
      "cos_eps(Ps~[:,j], Pt~[:,j]))], T_i = CSWT map of row cos at T=1 onto [T_low, T_high]";
  m.options = {
      {"T", d.T, "fixed temperature of the batch-cosine term"},
      {"alpha", d.alpha, "factor inside both cosine terms"},
      {"T_low", d.T_low, "CSWT temperature of the most similar sample"},
      {"T_high", d.T_high, "CSWT temperature of the least similar sample"},
      {"w_ce", d.w_ce, "weight of the cross-entropy with the labels"},
      {"w_kd", d.w_kd, "weight of L_cs + L_cs^CSWT"},
      {"eps", d.eps, "added to the product of the norms in every cosine"},
      {"delta", d.delta, "if s_max - s_min <= delta, every T_i = (T_low + T_high)/2"},
  };
  // The reference's per-pair configs (configs/cifar100/lud) differ only in the learning rate.
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<CskdObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
