#include "distill/stkd.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "distill/fused.h"
#include "distill/logit_utils.h"

namespace retort {
namespace distill {

using autograd::Variable;

namespace {

constexpr const char* kName = "stkd";

void check_options(const StkdOptions& o) {
  RETORT_CHECK(o.T > 0 && std::isfinite(o.T), kName << ": expected a temperature T > 0, found " << o.T);
  RETORT_CHECK(o.beta >= 0 && o.clean_ce_weight >= 0 && o.clean_kd_weight >= 0,
               kName << ": expected weights >= 0, found beta " << o.beta << ", clean_ce_weight " << o.clean_ce_weight
                     << ", clean_kd_weight " << o.clean_kd_weight);
  RETORT_CHECK(o.mix_alpha > 0, kName << ": expected mix_alpha > 0 (Beta(a, a)), found " << o.mix_alpha);
}

class StkdObjective final : public Objective {
 public:
  explicit StkdObjective(const Options& o) : Objective(o), opts_(stkd_options(o)) {
    RETORT_CHECK(opts_.clean_ce_weight == 0 && opts_.clean_kd_weight == 0,
                 kName << ": clean_ce_weight and clean_kd_weight need the clean-batch logits, which the training "
                          "step does not pass (StepInputs has no field for them); found clean_ce_weight "
                       << opts_.clean_ce_weight << ", clean_kd_weight " << opts_.clean_kd_weight);
  }
  LossResult compute(const StepInputs& in) override {
    RETORT_CHECK(in.labels_b.defined(), kName << ": the mixup partners' labels (StepInputs.labels_b) are missing");
    return stkd_loss(in.student, in.teacher, in.labels, in.labels_b, in.mix_lambda, opts_);
  }
  StepNeeds needs() const override {
    StepNeeds n;
    n.mixup = true;
    return n;
  }

 private:
  StkdOptions opts_;
};

// KL(softmax_T(u) ‖ softmax_T(v)) over the classes k with keep(k), both renormalised
// over them; adds scale·∂KL/∂v to dv (0 at the dropped classes).
template <class Keep>
double kept_kl_row(const double* u, const double* v, int64_t n, double T, Keep keep, double scale, double* dv) {
  double mu = -INFINITY, mv = -INFINITY;
  for (int64_t k = 0; k < n; ++k)
    if (keep(k)) mu = std::max(mu, u[k] / T), mv = std::max(mv, v[k] / T);
  double su = 0, sv = 0;
  for (int64_t k = 0; k < n; ++k)
    if (keep(k)) su += std::exp(u[k] / T - mu), sv += std::exp(v[k] / T - mv);
  const double lu = mu + std::log(su), lv = mv + std::log(sv);
  double kl = 0;
  for (int64_t k = 0; k < n; ++k) {
    if (!keep(k)) continue;
    const double lp = u[k] / T - lu, lq = v[k] / T - lv;
    const double p = std::exp(lp);
    if (p > 0) kl += p * (lp - lq);
    if (dv != nullptr) dv[k] += scale / T * (std::exp(lq) - p);
  }
  return kl;
}

}  // namespace

StkdOptions stkd_options(const Options& options) {
  StkdOptions o;
  o.T = options.get("T");
  o.beta = options.get("beta");
  o.mix_alpha = options.get("mix_alpha");
  o.nontarget_only = option_flag(kName, "nontarget_only", options.get("nontarget_only"));
  o.clean_ce_weight = options.get("clean_ce_weight");
  o.clean_kd_weight = options.get("clean_kd_weight");
  check_options(o);
  return o;
}

LossResult stkd_loss(const Variable& student, const Tensor& teacher, const Tensor& labels_a, const Tensor& labels_b,
                     double lambda, const StkdOptions& o, const Variable& clean_student, const Tensor& clean_teacher) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  check_options(o);
  RETORT_CHECK(lambda >= 0 && lambda <= 1, kName << ": expected a mixing coefficient in [0, 1], found " << lambda);
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const int64_t B = zs.rows, C = zs.cols;
  const std::vector<int64_t> ya = fused::host_labels(kName, labels_a, B, C);
  const std::vector<int64_t> yb = fused::host_labels(kName, labels_b, B, C);
  const bool use_clean = o.clean_ce_weight > 0 || o.clean_kd_weight > 0;
  std::vector<Variable> inputs{student};
  if (use_clean) {
    RETORT_CHECK(clean_student.defined() && clean_teacher.defined(),
                 kName << ": clean_ce_weight/clean_kd_weight > 0 need the clean-batch student and teacher logits");
    fused::check_logits(kName, clean_student.value(), clean_teacher);
    RETORT_CHECK(clean_student.shape() == student.shape(),
                 kName << ": clean-batch logits " << clean_student.shape() << " do not match the mixed-batch logits "
                       << student.shape());
    inputs.push_back(clean_student);
  }
  const bool grad = fused::wants_grad(inputs);

  fused::Matrix dz(grad ? B : 0, C);
  std::vector<double> work(3 * C);
  double ce_a = 0, ce_b = 0, st = 0;
  const double st_scale = o.beta * o.T * o.T / B;
  for (int64_t i = 0; i < B; ++i) {
    double* g = grad ? dz.row(i) : nullptr;
    ce_a += fused::cross_entropy_row(zs.row(i), C, ya[i], lambda / B, g, work.data());
    ce_b += fused::cross_entropy_row(zs.row(i), C, yb[i], (1 - lambda) / B, g, work.data());
    if (o.nontarget_only) {
      const int64_t a = ya[i], b = yb[i];
      RETORT_CHECK(C - (a == b ? 1 : 2) >= 1, kName << ": nontarget_only leaves no class in row " << i << " (C = " << C
                                                     << ", labels " << a << " and " << b << ")");
      st += kept_kl_row(zt.row(i), zs.row(i), C, o.T, [a, b](int64_t k) { return k != a && k != b; }, st_scale, g);
    } else {
      st += fused::kl_row(zt.row(i), zs.row(i), C, o.T, st_scale, g, work.data());
    }
  }
  const double mix_ce_term = (lambda * ce_a + (1 - lambda) * ce_b) / B;
  const double st_term = o.beta * o.T * o.T * st / B;
  double clean_ce_term = 0, clean_kd_term = 0;
  std::vector<fused::Matrix> grads;
  grads.push_back(std::move(dz));
  if (use_clean) {
    const fused::Matrix cs = fused::to_host(clean_student.value()), ct = fused::to_host(clean_teacher);
    fused::Matrix dc(grad ? B : 0, C);
    double ce = 0, kl = 0;
    for (int64_t i = 0; i < B; ++i) {
      double* g = grad ? dc.row(i) : nullptr;
      ce += fused::cross_entropy_row(cs.row(i), C, ya[i], o.clean_ce_weight / B, g, work.data());
      kl += fused::kl_row(ct.row(i), cs.row(i), C, o.T, o.clean_kd_weight * o.T * o.T / B, g, work.data());
    }
    clean_ce_term = o.clean_ce_weight * ce / B;
    clean_kd_term = o.clean_kd_weight * o.T * o.T * kl / B;
    grads.push_back(std::move(dc));
  }
  LossResult r;
  r.total = fused::make_loss("StkdFusedBackward", inputs, mix_ce_term + st_term + clean_ce_term + clean_kd_term,
                             std::move(grads));
  r.terms = {{"mix_ce", mix_ce_term}, {"st", st_term}};
  if (use_clean) r.terms.insert(r.terms.end(), {{"clean_ce", clean_ce_term}, {"clean_kd", clean_kd_term}});
  return r;
}

MethodInfo stkd_method() {
  MethodInfo m;
  m.name = kName;
  m.title = "mixup-KD (STKD reconstruction)";
  m.provenance = "reconstruction (METHODS.md §8, from the abstract of arXiv 2103.10047; no public implementation)";
  m.formula = "lam*CE(Zs,y_a) + (1-lam)*CE(Zs,y_b) + beta*T^2*KL(softmax_T(Zt)||softmax_T(Zs)) on the mixed batch";
  m.options = {
      {"T", 4.0, "temperature of the distillation term"},
      {"beta", 1.0, "weight of T^2 * KL on the mixed batch"},
      {"mix_alpha", 1.0, "a of the mixing coefficient lam ~ Beta(a, a), drawn once per batch by the training step"},
      {"nontarget_only", 0.0, "1: distil only over the classes other than y_a and y_b (renormalised)"},
      {"clean_ce_weight", 0.0, "CE on the clean batch (function API only: the training step passes no clean logits)"},
      {"clean_kd_weight", 0.0,
       "T^2*KL on the clean batch (function API only: the training step passes no clean logits)"},
  };
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<StkdObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
