#include "distill/dist.h"

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

constexpr const char* kName = "dist";

class DistObjective final : public Objective {
 public:
  explicit DistObjective(const Options& o) : Objective(o), opts_(dist_options(o)) {}
  LossResult compute(const StepInputs& in) override {
    return dist_loss(in.student, in.teacher, in.labels, opts_, in.epoch);
  }

 private:
  DistOptions opts_;
};

void check_options(const DistOptions& o) {
  RETORT_CHECK(o.tau > 0 && std::isfinite(o.tau), kName << ": expected a temperature tau > 0, found " << o.tau);
  RETORT_CHECK(o.beta >= 0 && o.gamma >= 0 && o.ce_weight >= 0 && o.kd_weight >= 0,
               kName << ": expected weights >= 0, found beta " << o.beta << ", gamma " << o.gamma << ", ce_weight "
                     << o.ce_weight << ", kd_weight " << o.kd_weight);
  RETORT_CHECK(o.eps >= 0, kName << ": expected eps >= 0, found " << o.eps);
}

void check_inputs(const Variable& student, const Tensor& teacher, const Tensor& labels, int epoch) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  fused::host_labels(kName, labels, student.size(0), student.size(1));
  RETORT_CHECK(epoch >= 1, kName << ": epochs are counted from 1, found epoch " << epoch);
}

// Subtracts the mean of each row (dim 1) or each column (dim 0).
void centre(fused::Matrix& m, int dim) {
  if (dim == 1) {
    for (int64_t i = 0; i < m.rows; ++i) {
      double s = 0;
      for (int64_t j = 0; j < m.cols; ++j) s += m(i, j);
      const double mean = s / m.cols;
      for (int64_t j = 0; j < m.cols; ++j) m(i, j) -= mean;
    }
  } else {
    std::vector<double> s(m.cols, 0.0);
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t j = 0; j < m.cols; ++j) s[j] += m(i, j);
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t j = 0; j < m.cols; ++j) m(i, j) -= s[j] / m.rows;
  }
}

// ρ_ε of centred a, b as in the reference: (ã·b̃) / (‖ã‖‖b̃‖ + ε) along `dim`.
Variable pearson_composed(const Variable& a, const Tensor& b, int dim, float eps) {
  const Variable ac = ag::sub(a, ag::mean(a, dim, true));
  const Tensor bc = ops::sub(b, ops::mean(b, dim, true));
  const Variable dot = ag::sum(ag::mul(ac, Variable(bc)), dim);
  const Variable na = ag::sqrt(ag::sum(ag::square(ac), dim));
  const Tensor nb = ops::sqrt(ops::sum(ops::square(bc), dim));
  return ag::div(dot, ag::add_scalar(ag::mul(na, Variable(nb)), eps));
}

}  // namespace

DistOptions dist_options(const Options& options) {
  DistOptions o;
  o.tau = options.get("tau");
  o.beta = options.get("beta");
  o.gamma = options.get("gamma");
  o.ce_weight = options.get("ce_weight");
  o.kd_weight = options.get("kd_weight");
  o.eps = options.get("eps");
  check_options(o);
  return o;
}

double dist_column_pearson_sum(const fused::Matrix& ys, const fused::Matrix& yt, double eps, fused::Matrix* dys,
                               double scale) {
  fused::Matrix a = ys, b = yt;
  centre(a, 0);
  centre(b, 0);
  double sum = 0;
  for (int64_t j = 0; j < a.cols; ++j) {
    // Column j: stride C through the row-major matrices.
    const fused::Cosine c = fused::cosine(&a(0, j), &b(0, j), a.rows, a.cols, eps, /*absolute=*/false);
    sum += c.value;
    if (dys != nullptr) fused::cosine_backward(c, &a(0, j), &b(0, j), a.rows, a.cols, scale, &(*dys)(0, j));
  }
  return sum;
}

LossResult dist_loss(const Variable& student, const Tensor& teacher, const Tensor& labels, const DistOptions& o,
                     int epoch) {
  check_inputs(student, teacher, labels, epoch);
  check_options(o);
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const int64_t B = zs.rows, C = zs.cols;
  const std::vector<int64_t> y = fused::host_labels(kName, labels, B, C);
  const bool grad = fused::wants_grad({student});
  const double tau = o.tau, t2 = tau * tau;

  fused::Matrix ys(B, C), yt(B, C);
  for (int64_t i = 0; i < B; ++i) {
    fused::softmax_row(zs.row(i), C, tau, ys.row(i));
    fused::softmax_row(zt.row(i), C, tau, yt.row(i));
  }
  // dL/dYs accumulates the row and column Pearson gradients; both are already
  // zero-mean along their vector, so the centring drops out of the backward.
  fused::Matrix dy(grad ? B : 0, C);

  // Inter-class: rows.
  fused::Matrix a = ys, b = yt;
  centre(a, 1);
  centre(b, 1);
  double rho_rows = 0;
  const double row_scale = -o.kd_weight * t2 * o.beta / B;
  for (int64_t i = 0; i < B; ++i) {
    const fused::Cosine c = fused::cosine(a.row(i), b.row(i), C, 1, o.eps, /*absolute=*/false);
    rho_rows += c.value;
    if (grad) fused::cosine_backward(c, a.row(i), b.row(i), C, 1, row_scale, dy.row(i));
  }
  // Intra-class: columns.
  const double rho_cols =
      dist_column_pearson_sum(ys, yt, o.eps, grad ? &dy : nullptr, -o.kd_weight * t2 * o.gamma / C);

  fused::Matrix dz(grad ? B : 0, C);
  std::vector<double> work(C);
  double ce = 0;
  for (int64_t i = 0; i < B; ++i) {
    double* g = grad ? dz.row(i) : nullptr;
    if (grad) fused::softmax_row_backward(ys.row(i), dy.row(i), C, tau, 1.0, g);
    ce += fused::cross_entropy_row(zs.row(i), C, y[i], o.ce_weight / B, g, work.data());
  }
  const double ce_term = o.ce_weight * ce / B;
  const double inter_term = o.kd_weight * t2 * o.beta * (1.0 - rho_rows / B);
  const double intra_term = o.kd_weight * t2 * o.gamma * (1.0 - rho_cols / C);
  LossResult r;
  r.total = fused::make_loss("DistFusedBackward", {student}, ce_term + inter_term + intra_term, {std::move(dz)});
  r.terms = {{"ce", ce_term}, {"inter", inter_term}, {"intra", intra_term}};
  return r;
}

LossResult dist_loss_composed(const Variable& student, const Tensor& teacher, const Tensor& labels,
                              const DistOptions& o, int epoch) {
  check_inputs(student, teacher, labels, epoch);
  check_options(o);
  const float tau = static_cast<float>(o.tau), eps = static_cast<float>(o.eps);
  const float scale = static_cast<float>(o.kd_weight * o.tau * o.tau);
  const Variable ys = ag::softmax(student, tau);
  const Tensor yt = ops::softmax(teacher, tau);
  const Variable inter = ag::mul_scalar(ag::add_scalar(ag::neg(ag::mean(pearson_composed(ys, yt, 1, eps))), 1.0f),
                                        scale * static_cast<float>(o.beta));
  const Variable intra = ag::mul_scalar(ag::add_scalar(ag::neg(ag::mean(pearson_composed(ys, yt, 0, eps))), 1.0f),
                                        scale * static_cast<float>(o.gamma));
  const Variable ce = ag::mul_scalar(ag::cross_entropy(student, labels), static_cast<float>(o.ce_weight));
  LossResult r;
  r.total = ag::add(ag::add(ce, inter), intra);
  r.terms = {{"ce", item(ce)}, {"inter", item(inter)}, {"intra", item(intra)}};
  return r;
}

MethodInfo dist_method() {
  MethodInfo m;
  m.name = kName;
  m.title = "DIST (inter- and intra-class Pearson correlation)";
  m.provenance = "reference code: hunto/image_classification_sota, lib/models/losses/dist_kd.py (hunto/DIST_KD)";
  m.formula = "w_ce*CE + w_kd*tau^2*(beta*(1 - mean_i pearson(Ys_i,Yt_i)) + gamma*(1 - mean_j pearson(Ys_:j,Yt_:j)))";
  m.options = {
      {"tau", 4.0, "temperature of both softmaxes (ImageNet: 1)"},
      {"beta", 1.0, "weight of the inter-class (per-sample row) Pearson term"},
      {"gamma", 1.0, "weight of the intra-class (per-class column, batch-coupled) Pearson term"},
      {"ce_weight", 1.0, "weight of the cross-entropy"},
      {"kd_weight", 2.0, "weight of tau^2*(beta*L_inter + gamma*L_intra)"},
      {"eps", 1e-8, "added to the product of the centred norms in each Pearson correlation"},
  };
  // configs/strategies/distill/resnet_dist.yaml (ImageNet: tau = 1); the CIFAR-100
  // config (tau = 4, beta = gamma = 1, w_kd = 2) is the same for every pair.
  m.pair_overrides = {
      {"resnet34_imagenet", "resnet18_imagenet", {{"tau", 1.0}}},
      {"resnet50_imagenet", "MobileNetV1", {{"tau", 1.0}}},
  };
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<DistObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
