#include "distill/cmkd.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "distill/dist.h"
#include "distill/fused.h"
#include "distill/logit_utils.h"

namespace retort {
namespace distill {

using autograd::Variable;

namespace {

constexpr const char* kName = "cmkd";

void check_options(const CmkdOptions& o) {
  RETORT_CHECK(o.tau > 0 && std::isfinite(o.tau), kName << ": expected a temperature tau > 0, found " << o.tau);
  RETORT_CHECK(o.eps_r > 0 && std::isfinite(o.eps_r), kName << ": expected eps_r > 0, found " << o.eps_r);
  RETORT_CHECK(o.w >= 0 && o.w <= 1, kName << ": expected a weight w in [0, 1], found " << o.w);
  RETORT_CHECK(o.gamma >= 0 && o.lambda >= 0 && o.ce_weight >= 0,
               kName << ": expected weights >= 0, found gamma " << o.gamma << ", lambda " << o.lambda
                     << ", ce_weight " << o.ce_weight);
  RETORT_CHECK(o.eps >= 0, kName << ": expected eps >= 0, found " << o.eps);
}

class CmkdObjective final : public Objective {
 public:
  explicit CmkdObjective(const Options& o) : Objective(o), opts_(cmkd_options(o)) {}
  LossResult compute(const StepInputs& in) override {
    return cmkd_loss(in.student, in.teacher, in.labels, opts_, in.epoch);
  }

 private:
  CmkdOptions opts_;
};

// The soft rank of one row, with what its backward needs.
struct RankRow {
  std::vector<double> r;
  // Pairwise: sig[k·n + m] = σ((v_k − v_m)/ε_r); σ(−x) = 1 − σ(x) fills half of it, and
  // σ'_km = sig[k·n + m]·sig[m·n + k] needs no subtraction.
  std::vector<double> sig;
  // Isotonic: the sorting permutation (descending z) and the block of each sorted position.
  std::vector<int64_t> perm, block_start, block_end;
};

RankRow soft_rank_row(const double* v, int64_t n, double eps_r, SoftRank method) {
  RankRow out;
  out.r.assign(n, 0.0);
  if (method == SoftRank::Pairwise) {
    out.sig.resize(static_cast<size_t>(n * n));
    for (int64_t k = 0; k < n; ++k) {
      out.sig[k * n + k] = 0.5;
      for (int64_t m = k + 1; m < n; ++m) {
        const double x = (v[k] - v[m]) / eps_r;
        // Both halves from exp(−|x|), so the smaller one keeps its relative precision.
        const double e = std::exp(-std::fabs(x)), big = 1 / (1 + e), small = e / (1 + e);
        out.sig[k * n + m] = x >= 0 ? big : small;
        out.sig[m * n + k] = x >= 0 ? small : big;
      }
    }
    for (int64_t k = 0; k < n; ++k) {
      double s = 0.5;  // the m = k term σ(0) = 0.5 is part of the sum below too
      for (int64_t m = 0; m < n; ++m) s += out.sig[k * n + m];
      out.r[k] = s;
    }
    return out;
  }
  // argmin over the permutahedron of (1..n) of ½‖μ − z‖², z = v/ε_r: sort z
  // descending, solve the non-increasing isotonic regression of s − w with
  // w = (n, n−1, .., 1) by pool-adjacent-violators, primal = s − dual.
  out.perm.resize(n);
  std::iota(out.perm.begin(), out.perm.end(), 0);
  std::stable_sort(out.perm.begin(), out.perm.end(), [v](int64_t a, int64_t b) { return v[a] > v[b]; });
  std::vector<double> s(n), target(n);
  for (int64_t j = 0; j < n; ++j) s[j] = v[out.perm[j]] / eps_r, target[j] = s[j] - static_cast<double>(n - j);
  std::vector<double> sum;
  std::vector<int64_t> start;
  for (int64_t j = 0; j < n; ++j) {
    sum.push_back(target[j]);
    start.push_back(j);
    // Merge while the previous block's mean is below the last one's (a violation of non-increase).
    while (sum.size() > 1) {
      const size_t b = sum.size() - 1;
      const double len_b = static_cast<double>(j + 1 - start[b]), len_a = static_cast<double>(start[b] - start[b - 1]);
      if (sum[b - 1] / len_a >= sum[b] / len_b) break;
      sum[b - 1] += sum[b];
      sum.pop_back();
      start.pop_back();
    }
  }
  out.block_start.resize(n);
  out.block_end.resize(n);
  for (size_t b = 0; b < start.size(); ++b) {
    const int64_t lo = start[b], hi = b + 1 < start.size() ? start[b + 1] : n;
    const double mean = sum[b] / static_cast<double>(hi - lo);
    for (int64_t j = lo; j < hi; ++j) {
      out.r[out.perm[j]] = s[j] - mean;
      out.block_start[j] = lo, out.block_end[j] = hi;
    }
  }
  return out;
}

// dv += J_Rᵀ·g for the soft rank of v.
void soft_rank_backward(const RankRow& rr, const double* g, int64_t n, double eps_r, SoftRank method, double* dv) {
  if (method == SoftRank::Pairwise) {
    // ∂R_k/∂v_j = (δ_kj Σ_m σ'_km − σ'_kj)/ε_r, σ'_km = σ'((v_k − v_m)/ε_r), symmetric in k, m.
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t m = 0; m < n; ++m) acc += rr.sig[j * n + m] * rr.sig[m * n + j] * (g[j] - g[m]);
      dv[j] += acc / eps_r;
    }
    return;
  }
  // primal_j = s_j − mean of its block: the Jacobian is I − (block averaging), then 1/ε_r.
  std::vector<double> gs(n), pre(n + 1, 0.0);
  for (int64_t j = 0; j < n; ++j) gs[j] = g[rr.perm[j]];
  for (int64_t j = 0; j < n; ++j) pre[j + 1] = pre[j] + gs[j];
  for (int64_t j = 0; j < n; ++j) {
    const int64_t lo = rr.block_start[j], hi = rr.block_end[j];
    const double mean = (pre[hi] - pre[lo]) / static_cast<double>(hi - lo);
    dv[rr.perm[j]] += (gs[j] - mean) / eps_r;
  }
}

void centre(std::vector<double>& x) {
  const double m = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
  for (double& v : x) v -= m;
}

}  // namespace

CmkdOptions cmkd_options(const Options& options) {
  CmkdOptions o;
  o.tau = options.get("tau");
  o.eps_r = options.get("eps_r");
  o.rank = static_cast<SoftRank>(option_int(kName, "rank_method", options.get("rank_method"), 0, 1));
  o.weight_rule = static_cast<CmkdWeight>(option_int(kName, "weight_rule", options.get("weight_rule"), 0, 1));
  o.w = options.get("w");
  o.gamma = options.get("gamma");
  o.lambda = options.get("lambda");
  o.ce_weight = options.get("ce_weight");
  o.eps = options.get("eps");
  check_options(o);
  return o;
}

std::vector<double> hard_rank(const std::vector<double>& values) {
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&values](int64_t a, int64_t b) { return values[a] < values[b]; });
  std::vector<double> r(n);
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && values[idx[j + 1]] == values[idx[i]]) ++j;
    const double avg = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;  // ties share the mean rank
    for (int64_t k = i; k <= j; ++k) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

std::vector<double> soft_rank(const std::vector<double>& values, double eps_r, SoftRank method) {
  RETORT_CHECK(eps_r > 0, kName << ": expected eps_r > 0, found " << eps_r);
  return soft_rank_row(values.data(), static_cast<int64_t>(values.size()), eps_r, method).r;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b, double eps) {
  RETORT_CHECK(a.size() == b.size() && !a.empty(),
               kName << ": pearson needs two vectors of the same non-zero length, found " << a.size() << " and "
                     << b.size());
  std::vector<double> ac(a), bc(b);
  centre(ac);
  centre(bc);
  return fused::cosine(ac.data(), bc.data(), static_cast<int64_t>(ac.size()), 1, eps, /*absolute=*/false).value;
}

LossResult cmkd_loss(const Variable& student, const Tensor& teacher, const Tensor& labels, const CmkdOptions& o,
                     int epoch) {
  RETORT_CHECK(student.defined(), kName << ": student logits are missing");
  fused::check_logits(kName, student.value(), teacher);
  check_options(o);
  RETORT_CHECK(epoch >= 1, kName << ": epochs are counted from 1, found epoch " << epoch);
  const fused::Matrix zs = fused::to_host(student.value()), zt = fused::to_host(teacher);
  const int64_t B = zs.rows, C = zs.cols;
  const std::vector<int64_t> y = fused::host_labels(kName, labels, B, C);
  const bool grad = fused::wants_grad({student});
  const double t2 = o.tau * o.tau, scale = o.lambda * t2 / B;

  fused::Matrix ps(B, C), pt(B, C), dp(grad ? B : 0, C);
  std::vector<double> a(C), b(C), h(C), ga(C), work(C);
  double pearson_sum = 0, spearman_sum = 0;
  for (int64_t i = 0; i < B; ++i) {
    fused::softmax_row(zs.row(i), C, o.tau, ps.row(i));
    fused::softmax_row(zt.row(i), C, o.tau, pt.row(i));
    double w = o.w;
    if (o.weight_rule == CmkdWeight::TeacherEntropy) {
      double H = 0;
      for (int64_t k = 0; k < C; ++k)
        if (pt(i, k) > 0) H -= pt(i, k) * std::log(pt(i, k));
      w = H / std::log(static_cast<double>(C));
    }
    // Pearson of the probabilities.
    std::copy(ps.row(i), ps.row(i) + C, a.begin());
    std::copy(pt.row(i), pt.row(i) + C, b.begin());
    centre(a);
    centre(b);
    const fused::Cosine cp = fused::cosine(a.data(), b.data(), C, 1, o.eps, false);
    pearson_sum += (1 - w) * (1 - cp.value);
    if (grad) fused::cosine_backward(cp, a.data(), b.data(), C, 1, -scale * (1 - w), dp.row(i));
    // Spearman: Pearson of the student's soft ranks and the teacher's hard ranks.
    const RankRow rr = soft_rank_row(ps.row(i), C, o.eps_r, o.rank);
    a = rr.r;
    h = hard_rank(std::vector<double>(pt.row(i), pt.row(i) + C));
    centre(a);
    centre(h);
    const fused::Cosine cs = fused::cosine(a.data(), h.data(), C, 1, o.eps, false);
    spearman_sum += w * (1 - cs.value);
    if (grad) {
      std::fill(ga.begin(), ga.end(), 0.0);
      fused::cosine_backward(cs, a.data(), h.data(), C, 1, -scale * w, ga.data());
      soft_rank_backward(rr, ga.data(), C, o.eps_r, o.rank, dp.row(i));
    }
  }
  double intra_term = 0;
  if (o.gamma > 0) {
    const double rho = dist_column_pearson_sum(ps, pt, o.eps, grad ? &dp : nullptr, -o.lambda * t2 * o.gamma / C);
    intra_term = o.lambda * t2 * o.gamma * (1 - rho / C);
  }
  fused::Matrix dz(grad ? B : 0, C);
  double ce = 0;
  for (int64_t i = 0; i < B; ++i) {
    double* g = grad ? dz.row(i) : nullptr;
    if (grad) fused::softmax_row_backward(ps.row(i), dp.row(i), C, o.tau, 1.0, g);
    ce += fused::cross_entropy_row(zs.row(i), C, y[i], o.ce_weight / B, g, work.data());
  }
  const double ce_term = o.ce_weight * ce / B;
  const double pearson_term = scale * pearson_sum, spearman_term = scale * spearman_sum;
  LossResult r;
  r.total = fused::make_loss("CmkdFusedBackward", {student}, ce_term + pearson_term + spearman_term + intra_term,
                             {std::move(dz)});
  r.terms = {{"ce", ce_term}, {"pearson", pearson_term}, {"spearman", spearman_term}, {"intra", intra_term}};
  return r;
}

MethodInfo cmkd_method() {
  MethodInfo m;
  m.name = kName;
  m.title = "CMKD (reconstruction): Pearson + soft-rank Spearman with difficulty weights";
  m.provenance = "reconstruction (METHODS.md §7, from the abstract of arXiv 2410.06561; no public implementation)";
  m.formula =
      "w_ce*CE + lambda*tau^2*mean_i[(1-w_i)*(1-pearson(Ps_i,Pt_i)) + w_i*(1-pearson(softrank(Ps_i),rank(Pt_i)))]"
      " (+ gamma*intra)";
  m.options = {
      {"tau", 4.0, "temperature of both softmaxes (ImageNet: 1)"},
      {"eps_r", 0.1, "temperature of the student's soft rank (smaller: closer to hard ranks)"},
      {"rank_method", 0.0, "0: pairwise-sigmoid soft rank, O(C^2); 1: permutahedron projection (Blondel et al. 2020)"},
      {"weight_rule", 0.0, "0: w_i = w; 1: w_i = normalised teacher entropy H(Pt_i)/log C"},
      {"w", 0.5, "the constant Spearman weight w_i (weight_rule 0)"},
      {"gamma", 0.0, "weight of a DIST-style intra-class (column) Pearson term; 0: none"},
      {"lambda", 2.0, "weight of L_CMKD"},
      {"ce_weight", 1.0, "weight of the cross-entropy"},
      {"eps", 1e-8, "added to the product of the centred norms in every Pearson correlation"},
  };
  m.pair_overrides = {
      {"resnet34_imagenet", "resnet18_imagenet", {{"tau", 1.0}}},
      {"resnet50_imagenet", "MobileNetV1", {{"tau", 1.0}}},
  };
  m.make = [](const Options& o) -> std::unique_ptr<Objective> { return std::make_unique<CmkdObjective>(o); };
  return m;
}

}  // namespace distill
}  // namespace retort
