#include "distill/cskd_full.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "autograd/functions.h"
#include "tensor/parallel.h"

namespace retort {
namespace distill {

namespace {

constexpr const char* kName = "cskd-full";

// The Gram matrices in double: class Gram AᵀA (C x C) and batch Gram AAᵀ (B x B).
// Both are symmetric: each output row j gets its upper part [j, n) and the rest is
// mirrored. Threads take rows in pairs (j, n−1−j) so that their work is even; each
// element is summed by one thread in a fixed order, so results do not depend on
// the thread count.
template <class RowFn>
void symmetric_rows(int64_t n, const RowFn& row) {
  parallel_for(0, (n + 1) / 2, 8, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      row(t);
      if (n - 1 - t != t) row(n - 1 - t);
    }
  });
}

fused::Matrix class_gram(const fused::Matrix& a) {
  const int64_t C = a.cols;
  fused::Matrix g(C, C);
  symmetric_rows(C, [&](int64_t j) {
    double* gj = g.row(j);
    for (int64_t i = 0; i < a.rows; ++i) {
      const double* r = a.row(i);
      const double rj = r[j];
      for (int64_t k = j; k < C; ++k) gj[k] += rj * r[k];
    }
  });
  for (int64_t j = 0; j < C; ++j)
    for (int64_t k = 0; k < j; ++k) g(j, k) = g(k, j);
  return g;
}

fused::Matrix batch_gram(const fused::Matrix& a) {
  const int64_t B = a.rows;
  fused::Matrix h(B, B);
  symmetric_rows(B, [&](int64_t i) {
    const double* x = a.row(i);
    for (int64_t m = i; m < B; ++m) {
      const double* y = a.row(m);
      double s = 0.0;
      for (int64_t k = 0; k < a.cols; ++k) s += x[k] * y[k];
      h(i, m) = s;
    }
  });
  for (int64_t i = 0; i < B; ++i)
    for (int64_t m = 0; m < i; ++m) h(i, m) = h(m, i);
  return h;
}

// S = D + Dᵀ for a square D: the gradient of a Gram matrix symmetrised once, so the
// products below read rows only.
fused::Matrix symmetrised(const fused::Matrix& d) {
  fused::Matrix s(d.rows, d.cols);
  for (int64_t j = 0; j < d.rows; ++j)
    for (int64_t k = 0; k < d.cols; ++k) s(j, k) = d(j, k) + d(k, j);
  return s;
}

// Shared tail of both Gram terms: row cosines of the student and teacher Grams;
// fills dgram (when given) with scale·∂L/∂G_s for L = 1 − mean of the cosines.
double gram_rows_loss(const fused::Matrix& gs, const fused::Matrix& gt, double eps, fused::Matrix* dgram,
                      double scale) {
  const double n = static_cast<double>(gs.rows);
  const std::vector<double> c = fused::row_cosine(gs, gt, eps, dgram, -scale / n);
  double s = 0.0;
  for (double x : c) s += x;
  return 1.0 - s / n;
}

void check_views(const autograd::Variable& sw, const Tensor& tw, const autograd::Variable& ss, const Tensor& ts,
                 int epoch) {
  RETORT_CHECK(sw.defined(), "cskd-full: student logits of the weak view are missing");
  RETORT_CHECK(ss.defined() && ts.defined(),
               "cskd-full: needs the strong view's logits of the student and the teacher (logits_strong)");
  fused::check_logits(kName, sw.value(), tw);
  fused::check_logits(kName, ss.value(), ts);
  RETORT_CHECK(ss.shape() == sw.shape(),
               "cskd-full: strong-view logits " << ss.shape() << " do not match weak-view logits " << sw.shape());
  RETORT_CHECK(epoch >= 1, "cskd-full: epochs are counted from 1, found epoch " << epoch);
}

MaskFractions resolve_fractions(const fused::Matrix& teacher_weak, const CskdFullOptions& o) {
  MaskFractions m = mask_fractions(teacher_weak);
  if (o.r >= 0) m.r = o.r;
  if (o.rc >= 0) m.rc = o.rc;
  return m;
}

class CskdFullObjective final : public Objective {
 public:
  explicit CskdFullObjective(const Options& o) : Objective(o), opt_(CskdFullOptions::from(o)) {}
  LossResult compute(const StepInputs& in) override {
    return cskd_full_loss(in.student, in.teacher, in.student_strong, in.teacher_strong, in.labels, opt_, in.epoch);
  }
  StepNeeds needs() const override {
    StepNeeds n;
    n.strong_view = true;
    return n;
  }

 private:
  CskdFullOptions opt_;
};

}  // namespace

CskdFullOptions CskdFullOptions::from(const Options& o) {
  CskdFullOptions f;
  f.core = CskdOptions::from(o);
  f.r = o.get("r");
  f.rc = o.get("rc");
  f.validate();
  return f;
}

void CskdFullOptions::validate() const {
  core.validate(kName);
  RETORT_CHECK(r <= 1 && rc <= 1,
               "cskd-full: expected mask fractions r, rc <= 1 (negative: computed), found r " << r << ", rc " << rc);
}

double median_fraction(const std::vector<double>& values) {
  RETORT_CHECK(!values.empty(), "cskd-full: the median of an empty set");
  std::vector<double> v = values;
  std::sort(v.begin(), v.end());
  const double h = 0.5 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(h)), hi = static_cast<size_t>(std::ceil(h));
  const double threshold = v[lo] + (h - std::floor(h)) * (v[hi] - v[lo]);
  size_t n = 0;
  for (double x : values) n += x <= threshold ? 1 : 0;
  return static_cast<double>(n) / static_cast<double>(values.size());
}

MaskFractions mask_fractions(const fused::Matrix& zt) {
  const int64_t B = zt.rows, C = zt.cols;
  MaskFractions m;
  m.conf.resize(B);
  m.class_conf.assign(C, 0.0);
  std::vector<double> p(C);
  for (int64_t i = 0; i < B; ++i) {
    fused::softmax_row(zt.row(i), C, 1.0, p.data());
    m.conf[i] = *std::max_element(p.begin(), p.end());
    for (int64_t j = 0; j < C; ++j) m.class_conf[j] += p[j];
  }
  m.r = median_fraction(m.conf);
  m.rc = median_fraction(m.class_conf);
  return m;
}

MaskFractions mask_fractions(const Tensor& teacher_weak) {
  fused::check_logits(kName, teacher_weak, teacher_weak);
  return mask_fractions(fused::to_host(teacher_weak));
}

namespace {

// L_cc from the row probabilities; adds scale·∂L/∂P_s to dp when given.
double gram_class_probs(const fused::Matrix& ps, const fused::Matrix& pt, double eps, fused::Matrix* dp,
                        double scale) {
  const int64_t B = ps.rows, C = ps.cols;
  const fused::Matrix gs = class_gram(ps), gt = class_gram(pt);
  fused::Matrix dg(dp != nullptr ? C : 0, C);
  const double loss = gram_rows_loss(gs, gt, eps, dp != nullptr ? &dg : nullptr, scale);
  if (dp != nullptr) {
    // G = PᵀP: ∂L/∂P = P·(dG + dGᵀ).
    const fused::Matrix sg = symmetrised(dg);
    parallel_for(0, B, 4, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const double* p = ps.row(i);
        double* out = dp->row(i);
        for (int64_t k = 0; k < C; ++k) {
          const double pk = p[k];
          if (pk == 0.0) continue;
          const double* sk = sg.row(k);
          for (int64_t m = 0; m < C; ++m) out[m] += pk * sk[m];
        }
      }
    });
  }
  return loss;
}

// L_bc from the row probabilities; adds scale·∂L/∂P_s to dp when given.
double gram_batch_probs(const fused::Matrix& ps, const fused::Matrix& pt, double eps, fused::Matrix* dp,
                        double scale) {
  const int64_t B = ps.rows, C = ps.cols;
  const fused::Matrix hs = batch_gram(ps), ht = batch_gram(pt);
  fused::Matrix dh(dp != nullptr ? B : 0, B);
  const double loss = gram_rows_loss(hs, ht, eps, dp != nullptr ? &dh : nullptr, scale);
  if (dp != nullptr) {
    // H = PPᵀ: ∂L/∂P = (dH + dHᵀ)·P.
    const fused::Matrix sh = symmetrised(dh);
    parallel_for(0, B, 4, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        double* out = dp->row(i);
        for (int64_t m = 0; m < B; ++m) {
          const double w = sh(i, m);
          const double* p = ps.row(m);
          for (int64_t k = 0; k < C; ++k) out[k] += w * p[k];
        }
      }
    });
  }
  return loss;
}

using GramProbsFn = double (*)(const fused::Matrix&, const fused::Matrix&, double, fused::Matrix*, double);

// A Gram term from logits: the row softmaxes, the term, then the softmax backward.
double gram_from_logits(GramProbsFn fn, const fused::Matrix& zs, const fused::Matrix& zt,
                        const std::vector<double>& tau, double eps, fused::Matrix* dz, double scale) {
  fused::Matrix ps(zs.rows, zs.cols), pt(zs.rows, zs.cols);
  fused::softmax_rows(zs, tau, ps);
  fused::softmax_rows(zt, tau, pt);
  fused::Matrix gp(dz != nullptr ? zs.rows : 0, zs.cols);
  const double loss = fn(ps, pt, eps, dz != nullptr ? &gp : nullptr, scale);
  if (dz != nullptr) fused::softmax_rows_backward(ps, gp, tau, 1.0, *dz);
  return loss;
}

}  // namespace

double gram_class(const fused::Matrix& zs, const fused::Matrix& zt, const std::vector<double>& tau, double eps,
                  fused::Matrix* dz, double scale) {
  return gram_from_logits(gram_class_probs, zs, zt, tau, eps, dz, scale);
}

double gram_batch(const fused::Matrix& zs, const fused::Matrix& zt, const std::vector<double>& tau, double eps,
                  fused::Matrix* dz, double scale) {
  return gram_from_logits(gram_batch_probs, zs, zt, tau, eps, dz, scale);
}

namespace {

using GramFn = double (*)(const fused::Matrix&, const fused::Matrix&, const std::vector<double>&, double,
                          fused::Matrix*, double);

autograd::Variable fused_gram(const char* name, GramFn fn, const autograd::Variable& student, const Tensor& teacher,
                              const std::vector<double>& tau, double eps) {
  RETORT_CHECK(student.defined(), "cskd-full: student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const bool grad = fused::wants_grad({student});
  fused::Matrix dz(grad ? zs.rows : 0, zs.cols);
  const double loss = fn(zs, zt, tau, eps, grad ? &dz : nullptr, 1.0);
  return fused::make_loss(name, {student}, loss, {std::move(dz)});
}

// Composed Gram term: class Gram (PᵀP) when `by_class`, else batch Gram (PPᵀ).
autograd::Variable composed_gram(bool by_class, const autograd::Variable& student, const Tensor& teacher,
                                 const std::vector<double>& tau, double eps) {
  using namespace autograd;
  RETORT_CHECK(student.defined(), "cskd-full: student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  const int64_t B = student.size(0);
  RETORT_CHECK(static_cast<int64_t>(tau.size()) == B,
               "cskd-full: expected " << B << " row temperatures, found " << tau.size());
  const Tensor tau_col = from_vector<float>(std::vector<float>(tau.begin(), tau.end()), Shape{B, 1})
                             .to(student.value().device());
  const Variable ps = softmax(div(student, Variable(tau_col)));
  const Tensor pt = ops::softmax(ops::div(teacher, tau_col));
  const Variable gs = by_class ? matmul(ps, ps, true, false) : matmul(ps, ps, false, true);
  const Tensor gt = by_class ? ops::matmul(pt, pt, true, false) : ops::matmul(pt, pt, false, true);
  const Variable d = sum(mul(gs, Variable(gt)), 1);
  const Variable na = sqrt(sum(square(gs), 1));
  const Variable nb(ops::sqrt(ops::sum(ops::square(gt), 1)));
  const Variable c = div(d, add_scalar(mul(na, nb), static_cast<float>(eps)));
  return add_scalar(neg(mean(c)), 1.0f);
}

double value_of(const autograd::Variable& v) { return v.value().to(Device::cpu()).item<float>(); }

}  // namespace

autograd::Variable gram_class_loss(const autograd::Variable& student, const Tensor& teacher,
                                   const std::vector<double>& tau, double eps) {
  return fused_gram("GramClassFusedBackward", gram_class, student, teacher, tau, eps);
}

autograd::Variable gram_batch_loss(const autograd::Variable& student, const Tensor& teacher,
                                   const std::vector<double>& tau, double eps) {
  return fused_gram("GramBatchFusedBackward", gram_batch, student, teacher, tau, eps);
}

autograd::Variable gram_class_loss_composed(const autograd::Variable& student, const Tensor& teacher,
                                            const std::vector<double>& tau, double eps) {
  return composed_gram(true, student, teacher, tau, eps);
}

autograd::Variable gram_batch_loss_composed(const autograd::Variable& student, const Tensor& teacher,
                                            const std::vector<double>& tau, double eps) {
  return composed_gram(false, student, teacher, tau, eps);
}

LossResult cskd_full_loss(const autograd::Variable& sw, const Tensor& tw, const autograd::Variable& ss,
                          const Tensor& ts, const Tensor& labels, const CskdFullOptions& o, int epoch) {
  check_views(sw, tw, ss, ts, epoch);
  o.validate();
  const CskdOptions& c = o.core;
  const fused::Matrix zw = fused::to_host(sw.value()), tww = fused::to_host(tw);
  const fused::Matrix zs = fused::to_host(ss.value()), tss = fused::to_host(ts);
  const int64_t B = zw.rows, C = zw.cols;
  const bool use_ce = c.w_ce != 0.0 || labels.defined();
  const std::vector<int64_t> y = use_ce ? fused::host_labels(kName, labels, B, C) : std::vector<int64_t>();
  const bool grad = fused::wants_grad({sw, ss});

  const MaskFractions m = resolve_fractions(tww, o);
  const std::vector<double> fixed(B, c.T);
  const std::vector<double> tau = cswt_or_given(zw, tww, c);  // the weak view's, for both views

  fused::Matrix dw(grad ? B : 0, C), ds(grad ? B : 0, C);
  const double kw = c.w_kd * m.r, kc = c.w_kd * m.rc;
  double cs_weak = 0.0, cs_strong = 0.0, cc = 0.0, bc = 0.0;
  // Per temperature set (the fixed T, then T⃗): the softmaxes of each view once, every
  // term's ∂/∂P accumulated, then one softmax backward per view.
  fused::Matrix pws(B, C), pwt(B, C), pss(B, C), pst(B, C);
  fused::Matrix gpw(grad ? B : 0, C), gps(grad ? B : 0, C);
  for (const std::vector<double>* t : {&fixed, &tau}) {
    const double mean_t = std::accumulate(t->begin(), t->end(), 0.0) / static_cast<double>(B);
    fused::softmax_rows(zw, *t, pws);
    fused::softmax_rows(tww, *t, pwt);
    fused::softmax_rows(zs, *t, pss);
    fused::softmax_rows(tss, *t, pst);
    std::fill(gpw.data.begin(), gpw.data.end(), 0.0);
    std::fill(gps.data.begin(), gps.data.end(), 0.0);
    fused::Matrix* gw = grad ? &gpw : nullptr;
    fused::Matrix* gs = grad ? &gps : nullptr;
    cs_weak += batch_cosine_probs(pws, pwt, mean_t, c.alpha, c.eps, gw, kw);
    cs_strong += batch_cosine_probs(pss, pst, mean_t, c.alpha, c.eps, gs, c.w_kd);
    cc += gram_class_probs(pws, pwt, c.eps, gw, kc);
    bc += gram_batch_probs(pws, pwt, c.eps, gw, kw);
    if (grad) {
      fused::softmax_rows_backward(pws, gpw, *t, 1.0, dw);
      fused::softmax_rows_backward(pss, gps, *t, 1.0, ds);
    }
  }
  double ce = 0.0;
  if (use_ce) {
    std::vector<double> work(C);
    const double s = c.w_ce / B;
    for (int64_t i = 0; i < B; ++i) {
      ce += fused::cross_entropy_row(zw.row(i), C, y[i], s, grad ? dw.row(i) : nullptr, work.data());
      ce += fused::cross_entropy_row(zs.row(i), C, y[i], s, grad ? ds.row(i) : nullptr, work.data());
    }
  }
  LossResult r;
  r.terms = {{"ce", use_ce ? c.w_ce * ce / B : 0.0},
             {"cs_weak", kw * cs_weak},
             {"cs_strong", c.w_kd * cs_strong},
             {"cc", kc * cc},
             {"bc", kw * bc}};
  double total = 0.0;
  for (const auto& t : r.terms) total += t.second;
  r.total = fused::make_loss("CskdFullFusedBackward", {sw, ss}, total, {std::move(dw), std::move(ds)});
  return r;
}

LossResult cskd_full_loss_composed(const autograd::Variable& sw, const Tensor& tw, const autograd::Variable& ss,
                                   const Tensor& ts, const Tensor& labels, const CskdFullOptions& o, int epoch) {
  using namespace autograd;
  check_views(sw, tw, ss, ts, epoch);
  o.validate();
  const CskdOptions& c = o.core;
  const int64_t B = sw.size(0);
  const MaskFractions m = resolve_fractions(fused::to_host(tw), o);
  const std::vector<double> fixed(B, c.T);
  const std::vector<double> tau = cswt_or_given(fused::to_host(sw.value()), fused::to_host(tw), c);
  const float kw = static_cast<float>(c.w_kd * m.r), kc = static_cast<float>(c.w_kd * m.rc);
  const float ks = static_cast<float>(c.w_kd);
  const Variable cs_weak = mul_scalar(add(batch_cosine_loss_composed(sw, tw, fixed, c.alpha, c.eps),
                                          batch_cosine_loss_composed(sw, tw, tau, c.alpha, c.eps)),
                                      kw);
  const Variable cs_strong = mul_scalar(add(batch_cosine_loss_composed(ss, ts, fixed, c.alpha, c.eps),
                                            batch_cosine_loss_composed(ss, ts, tau, c.alpha, c.eps)),
                                        ks);
  const Variable cc =
      mul_scalar(add(gram_class_loss_composed(sw, tw, fixed, c.eps), gram_class_loss_composed(sw, tw, tau, c.eps)), kc);
  const Variable bc =
      mul_scalar(add(gram_batch_loss_composed(sw, tw, fixed, c.eps), gram_batch_loss_composed(sw, tw, tau, c.eps)), kw);
  LossResult r;
  r.total = add(add(cs_weak, cs_strong), add(cc, bc));
  double ce_value = 0.0;
  if (c.w_ce != 0.0 || labels.defined()) {
    fused::host_labels(kName, labels, B, sw.size(1));
    const Variable ce =
        mul_scalar(add(cross_entropy(sw, labels), cross_entropy(ss, labels)), static_cast<float>(c.w_ce));
    ce_value = value_of(ce);
    r.total = add(ce, r.total);
  }
  r.terms = {{"ce", ce_value},
             {"cs_weak", value_of(cs_weak)},
             {"cs_strong", value_of(cs_strong)},
             {"cc", value_of(cc)},
             {"bc", value_of(bc)}};
  return r;
}

MethodInfo cskd_full_method() {
  MethodInfo m = cskd_method();
  const CskdFullOptions d;
  m.name = kName;
  m.title = "CSKD (full recipe): two views, Gram terms, mask fractions";
  m.provenance =
      "reference code: llieeai/lud mdistiller/distillers/CSKD.py with MLKD's two-view pipeline "
      "(mdistiller/dataset/cifar100.py); defaults from config (CFG.CSKD)";
  m.formula =
      "w_ce*[CE_w + CE_s] + w_kd*{ r*[L_cs(w;T) + L_cs(w;T_i)] + [L_cs(s;T) + L_cs(s;T_i)] + rc*[L_cc(T) + "
      "L_cc(T_i)] + r*[L_bc(T) + L_bc(T_i)] }, T_i = CSWT of the weak view";
  m.options.push_back({"r", d.r, "weight of the weak-view cosine and batch-Gram terms; < 0: fraction of teacher "
                                 "confidences <= their median"});
  m.options.push_back({"rc", d.rc, "weight of the class-Gram terms; < 0: fraction of teacher class sums <= their "
                                   "median"});
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<CskdFullObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
