#include "distill/dkd.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "distill/fused.h"
#include "distill/logit_utils.h"

namespace retort {
namespace distill {

namespace ag = autograd;
using autograd::Variable;

namespace {

constexpr const char* kName = "dkd";

// log(e^a + e^b) without overflow or underflow.
double log_add_exp(double a, double b) {
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

class DkdObjective final : public Objective {
 public:
  explicit DkdObjective(const Options& o) : Objective(o), opts_(dkd_options(o)) {}
  LossResult compute(const StepInputs& in) override {
    return dkd_loss(in.student, in.teacher, in.labels, opts_, in.epoch);
  }

 private:
  DkdOptions opts_;
};

void check_options(const DkdOptions& o) {
  RETORT_CHECK(o.T > 0 && std::isfinite(o.T), kName << ": expected a temperature T > 0, found " << o.T);
  RETORT_CHECK(o.alpha >= 0 && o.beta >= 0 && o.ce_weight >= 0,
               kName << ": expected weights >= 0, found alpha " << o.alpha << ", beta " << o.beta << ", ce_weight "
                     << o.ce_weight);
  RETORT_CHECK(o.warmup >= 0, kName << ": expected warmup >= 0 epochs, found " << o.warmup);
}

}  // namespace

DkdOptions dkd_options(const Options& options) {
  DkdOptions o;
  o.T = options.get("T");
  o.alpha = options.get("alpha");
  o.beta = options.get("beta");
  o.warmup = options.get("warmup");
  o.ce_weight = options.get("ce_weight");
  check_options(o);
  return o;
}

LossResult dkd_loss(const Variable& student, const Tensor& teacher, const Tensor& labels, const DkdOptions& o,
                    int epoch) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  check_options(o);
  const double warm = warmup_factor(kName, epoch, o.warmup);
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const int64_t B = zs.rows, C = zs.cols;
  const std::vector<int64_t> y = fused::host_labels(kName, labels, B, C);
  const bool grad = fused::wants_grad({student});

  const double T = o.T;
  fused::Matrix dz(grad ? B : 0, C);
  std::vector<double> q(C), qh(C), work(C);
  double ce = 0, tckd = 0, nckd = 0;
  for (int64_t i = 0; i < B; ++i) {
    const int64_t yi = y[i];
    const double* zsi = zs.row(i);
    const double* zti = zt.row(i);
    // Non-target softmaxes first, relative to the non-target maxima, so that a
    // dominant target logit can neither underflow them nor overflow anything;
    // one exp per logit and side gives both distributions and both masses.
    double ms = -std::numeric_limits<double>::infinity(), mt = ms;
    for (int64_t k = 0; k < C; ++k)
      if (k != yi) ms = std::max(ms, zsi[k] / T), mt = std::max(mt, zti[k] / T);
    double ss = 0, st = 0;
    for (int64_t k = 0; k < C; ++k) {
      if (k == yi) continue;
      ss += (q[k] = std::exp(zsi[k] / T - ms));
      st += (qh[k] = std::exp(zti[k] / T - mt));
    }
    const double lnt_s = ms + std::log(ss), lnt_t = mt + std::log(st);
    const double sy = zsi[yi] / T, ty = zti[yi] / T;
    const double lse_s = log_add_exp(lnt_s, sy), lse_t = log_add_exp(lnt_t, ty);
    // Binary target / non-target masses in log space, so neither becomes log 0.
    const double lb1_s = sy - lse_s, lb2_s = lnt_s - lse_s;
    const double lb1_t = ty - lse_t, lb2_t = lnt_t - lse_t;
    const double b1_s = std::exp(lb1_s), b1_t = std::exp(lb1_t), b2_t = std::exp(lb2_t);
    if (b1_t > 0) tckd += b1_t * (lb1_t - lb1_s);
    if (b2_t > 0) tckd += b2_t * (lb2_t - lb2_s);
    // KL over the non-target classes (target dropped, the rest renormalised).
    for (int64_t k = 0; k < C; ++k) {
      if (k == yi) continue;
      q[k] /= ss, qh[k] /= st;
      if (qh[k] > 0) nckd += qh[k] * ((zti[k] / T - lnt_t) - (zsi[k] / T - lnt_s));
    }
    double* g = grad ? dz.row(i) : nullptr;
    ce += fused::cross_entropy_row(zsi, C, yi, o.ce_weight / B, g, work.data());
    if (!grad) continue;
    // d KL(b̂‖b)/ds is (b1 − b̂1) at the target and −(b1 − b̂1)·q_k elsewhere (q the
    // non-target softmax); d KL_nt/ds_k = q_k − q̂_k. Times T²/B, and 1/T for the logits.
    const double f = warm * T / B;
    const double db = b1_s - b1_t;
    for (int64_t k = 0; k < C; ++k)
      g[k] += k == yi ? f * o.alpha * db : f * (o.beta * (q[k] - qh[k]) - o.alpha * db * q[k]);
  }
  const double T2 = T * T;
  const double ce_term = o.ce_weight * ce / B;
  const double tckd_term = warm * o.alpha * T2 * tckd / B;
  const double nckd_term = warm * o.beta * T2 * nckd / B;
  LossResult r;
  r.total = fused::make_loss("DkdFusedBackward", {student}, ce_term + tckd_term + nckd_term, {std::move(dz)});
  r.terms = {{"ce", ce_term}, {"tckd", tckd_term}, {"nckd", nckd_term}};
  return r;
}

LossResult dkd_loss_composed(const Variable& student, const Tensor& teacher, const Tensor& labels,
                             const DkdOptions& o, int epoch) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  const int64_t B = student.size(0), C = student.size(1);
  fused::host_labels(kName, labels, B, C);
  check_options(o);
  const double warm = warmup_factor(kName, epoch, o.warmup);
  const Device dev = student.value().device();
  const float T = static_cast<float>(o.T);
  const Tensor gt = one_hot(labels, C, dev);
  const Tensor other = ops::add_scalar(ops::neg(gt), 1.0f);

  // TCKD: binary masses of the temperature-T softmaxes, KL(b̂‖b).
  const Variable ps = ag::softmax(student, T);
  const Tensor pt = ops::softmax(teacher, T);
  const Variable bs =
      ag::cat({ag::sum(ag::mul(ps, Variable(gt)), 1, true), ag::sum(ag::mul(ps, Variable(other)), 1, true)}, 1);
  const Tensor bt = ops::cat({ops::sum(ops::mul(pt, gt), 1, true), ops::sum(ops::mul(pt, other), 1, true)}, 1);
  const Variable kl_b = ag::sub(Variable(xlogx_sum(bt)), ag::sum(ag::mul(Variable(bt), ag::log(bs))));

  // NCKD: the reference lowers the target logit by 1000 after dividing by T.
  const Tensor mask = ops::mul_scalar(gt, 1000.0f);
  const Variable log_qs = ag::log_softmax(ag::sub(ag::mul_scalar(student, 1.0f / T), Variable(mask)));
  const Tensor qt = ops::softmax(ops::sub(ops::mul_scalar(teacher, 1.0f / T), mask));
  const Variable kl_nt = ag::sub(Variable(xlogx_sum(qt)), ag::sum(ag::mul(Variable(qt), log_qs)));

  const float T2B = static_cast<float>(o.T * o.T / B);
  const Variable ce = ag::mul_scalar(ag::cross_entropy(student, labels), static_cast<float>(o.ce_weight));
  const Variable tckd = ag::mul_scalar(kl_b, static_cast<float>(warm * o.alpha) * T2B);
  const Variable nckd = ag::mul_scalar(kl_nt, static_cast<float>(warm * o.beta) * T2B);
  LossResult r;
  r.total = ag::add(ag::add(ce, tckd), nckd);
  r.terms = {{"ce", item(ce)}, {"tckd", item(tckd)}, {"nckd", item(nckd)}};
  return r;
}

MethodInfo dkd_method() {
  MethodInfo m;
  m.name = kName;
  m.title = "DKD (decoupled KD: TCKD + NCKD)";
  m.provenance = "reference code: megvii-research/mdistiller, mdistiller/distillers/DKD.py";
  m.formula = "w_ce*CE + min(e/warmup,1)*(alpha*T^2*KL(b_t||b_s) + beta*T^2*KL(nontarget_t||nontarget_s))";
  m.options = {
      {"T", 4.0, "temperature of TCKD and NCKD (ImageNet: 1)"},
      {"alpha", 1.0, "weight of TCKD, the binary target/non-target KL"},
      {"beta", 8.0, "weight of NCKD, the KL over the non-target classes (per-pair table)"},
      {"warmup", 20.0, "epochs of the linear warm-up min(epoch/warmup, 1) of the KD terms (ImageNet: 1); 0: none"},
      {"ce_weight", 1.0, "weight of the cross-entropy (outside the warm-up)"},
  };
  // configs/cifar100/dkd/*.yaml and configs/imagenet/*/dkd.yaml of mdistiller.
  m.pair_overrides = {
      {"resnet56", "resnet20", {{"beta", 2.0}}},
      {"resnet110", "resnet32", {{"beta", 2.0}}},
      {"vgg13", "vgg8", {{"beta", 6.0}}},
      {"vgg13", "MobileNetV2", {{"beta", 6.0}}},
      {"wrn_40_2", "wrn_16_2", {{"beta", 6.0}}},
      {"wrn_40_2", "wrn_40_1", {{"beta", 6.0}}},
      {"resnet32x4", "resnet8x4", {{"beta", 8.0}}},
      {"ResNet50", "MobileNetV2", {{"beta", 8.0}}},
      {"resnet32x4", "ShuffleV1", {{"beta", 8.0}}},
      {"resnet32x4", "ShuffleV2", {{"beta", 8.0}}},
      {"wrn_40_2", "ShuffleV1", {{"beta", 8.0}}},
      {"resnet34_imagenet", "resnet18_imagenet", {{"T", 1.0}, {"warmup", 1.0}, {"beta", 0.5}}},
      {"resnet50_imagenet", "MobileNetV1", {{"T", 1.0}, {"warmup", 1.0}, {"beta", 2.0}}},
  };
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<DkdObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
