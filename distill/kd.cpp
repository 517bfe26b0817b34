#include "distill/kd.h"

#include <vector>

#include "autograd/functions.h"
#include "distill/fused.h"

namespace retort {
namespace distill {

namespace {

constexpr const char* kName = "kd";

void check_common(const autograd::Variable& student, const Tensor& teacher, int epoch) {
  RETORT_CHECK(student.defined(), "kd: student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  RETORT_CHECK(epoch >= 1, "kd: epochs are counted from 1, found epoch " << epoch);
}

class KdObjective final : public Objective {
 public:
  explicit KdObjective(const Options& o) : Objective(o), opt_(KdOptions::from(o)) {}
  LossResult compute(const StepInputs& in) override { return kd_loss(in.student, in.teacher, in.labels, opt_, in.epoch); }

 private:
  KdOptions opt_;
};

}  // namespace

KdOptions KdOptions::from(const Options& o) {
  KdOptions k;
  k.T = o.get("T");
  k.w_ce = o.get("w_ce");
  k.w_kd = o.get("w_kd");
  k.validate();
  return k;
}

void KdOptions::validate() const {
  RETORT_CHECK(T > 0, "kd: expected temperature T > 0, found " << T);
  RETORT_CHECK(w_ce >= 0 && w_kd >= 0, "kd: expected weights >= 0, found w_ce " << w_ce << ", w_kd " << w_kd);
}

LossResult kd_loss(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                   const KdOptions& o, int epoch) {
  check_common(student, teacher, epoch);
  o.validate();
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const int64_t B = zs.rows, C = zs.cols;
  const bool use_ce = o.w_ce != 0.0 || labels.defined();
  const std::vector<int64_t> y = use_ce ? fused::host_labels(kName, labels, B, C) : std::vector<int64_t>();
  const bool grad = fused::wants_grad({student});

  fused::Matrix dz(grad ? B : 0, C);
  std::vector<double> work(2 * C);
  double ce = 0.0, kl = 0.0;
  // d(w_kd·T²·mean KL)/dz = w_kd·(T/B)(q - p): kl_row adds scale·(q - p)/T.
  const double kd_scale = o.w_kd * o.T * o.T / B, ce_scale = o.w_ce / B;
  for (int64_t i = 0; i < B; ++i) {
    double* g = grad ? dz.row(i) : nullptr;
    kl += fused::kl_row(zt.row(i), zs.row(i), C, o.T, kd_scale, g, work.data());
    if (use_ce) ce += fused::cross_entropy_row(zs.row(i), C, y[i], ce_scale, g, work.data());
  }
  const double term_ce = use_ce ? o.w_ce * ce / B : 0.0;
  const double term_kd = o.w_kd * o.T * o.T * kl / B;
  LossResult r;
  r.total = fused::make_loss("KdFusedBackward", {student}, term_ce + term_kd, {std::move(dz)});
  r.terms = {{"ce", term_ce}, {"kd", term_kd}};
  return r;
}

LossResult kd_loss_composed(const autograd::Variable& student, const Tensor& teacher, const Tensor& labels,
                            const KdOptions& o, int epoch) {
  using namespace autograd;
  check_common(student, teacher, epoch);
  o.validate();
  const int64_t B = student.size(0);
  const float T = static_cast<float>(o.T);
  const Variable pt(ops::softmax(teacher, T)), logpt(ops::log_softmax(teacher, T));
  const Variable kl = sum(mul(pt, sub(logpt, log_softmax(student, T))));
  const Variable term_kd = mul_scalar(kl, static_cast<float>(o.w_kd * o.T * o.T / B));
  LossResult r;
  r.total = term_kd;
  double ce_value = 0.0;
  if (o.w_ce != 0.0 || labels.defined()) {
    fused::host_labels(kName, labels, B, student.size(1));
    const Variable term_ce = mul_scalar(cross_entropy(student, labels), static_cast<float>(o.w_ce));
    ce_value = term_ce.value().to(Device::cpu()).item<float>();
    r.total = add(term_ce, term_kd);
  }
  r.terms = {{"ce", ce_value}, {"kd", term_kd.value().to(Device::cpu()).item<float>()}};
  return r;
}

MethodInfo kd_method() {
  const KdOptions d;
  MethodInfo m;
  m.name = kName;
  m.title = "Hinton KD";
  m.provenance =
      "reference code: megvii-research/mdistiller mdistiller/distillers/KD.py (= RepDistiller "
      "distiller_zoo/KD.py); defaults from config (CIFAR-100: RepDistiller -r 0.1 -a 0.9, mdistiller KD.LOSS)";
  m.formula = "w_ce*CE(Zs,y) + w_kd*T^2*mean_i KL(softmax_T(Zt_i) || softmax_T(Zs_i))";
  m.options = {
      {"T", d.T, "temperature of the teacher and student softmaxes"},
      {"w_ce", d.w_ce, "weight of the cross-entropy with the labels"},
      {"w_kd", d.w_kd, "weight of T^2 * batchmean KL(teacher || student)"},
  };
  // mdistiller's ImageNet configs (configs/imagenet/r34_r18/kd.yaml, r50_mv1/kd.yaml).
  m.pair_overrides = {
      {"resnet34_imagenet", "resnet18_imagenet", {{"T", 1.0}, {"w_ce", 0.5}, {"w_kd", 0.5}}},
      {"resnet50_imagenet", "MobileNetV1", {{"T", 1.0}, {"w_ce", 0.5}, {"w_kd", 0.5}}},
  };
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<KdObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
