// Row softmax, log-softmax and cross-entropy bodies shared by both backends,
// with the CPU's precision (tensor/cpu/softmax.cpp): x/T, the row maximum, the
// sum of exponentials and the loss terms in double. A GPU block takes one row:
// its lanes reduce the maximum and the sums (tensor/kernels/reduce.h), then
// each lane writes the outputs of its columns with the bodies below.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/kernels/hd.h"

namespace retort {

// x/T in double (a float quotient would round |x/T| ~ 1e4/3 by up to 1.2e-4).
RETORT_HD double softmax_scaled(float x, double T) { return static_cast<double>(x) / T; }

// Lane partials of a row: the maximum of x/T, then the sum of exp(x/T - m).
RETORT_HD double softmax_lane_max(const float* xr, int64_t cols, double T, int64_t lane, int64_t lanes) {
  double m = -INFINITY;
  for (int64_t k = lane; k < cols; k += lanes) {
    const double v = softmax_scaled(xr[k], T);
    m = m < v ? v : m;  // std::max(m, v)
  }
  return m;
}

RETORT_HD double softmax_lane_expsum(const float* xr, int64_t cols, double T, double m, int64_t lane, int64_t lanes) {
  double s = 0.0;
  for (int64_t k = lane; k < cols; k += lanes) s += exp(softmax_scaled(xr[k], T) - m);
  return s;
}

// Output k of a row with maximum m and lse = log(sum exp(x/T - m)).
RETORT_HD float softmax_out(float x, double T, double m, double lse, bool log) {
  const double z = softmax_scaled(x, T) - m - lse;
  return static_cast<float>(log ? z : exp(z));
}

// The backward row sum: sum dy (log-softmax) or sum dy*y (softmax), lane partial.
RETORT_HD double softmax_backward_lane_sum(const float* dy, const float* y, int64_t cols, bool log, int64_t lane,
                                           int64_t lanes) {
  double s = 0.0;
  for (int64_t k = lane; k < cols; k += lanes) s += log ? static_cast<double>(dy[k]) : static_cast<double>(dy[k]) * y[k];
  return s;
}

// dx at one position from dy, y and the row sum s (exp(y) in float, as the CPU's std::exp(float)).
RETORT_HD float softmax_backward_out(float dy, float y, double s, double invT, bool log) {
  return static_cast<float>(log ? invT * (dy - expf(y) * s) : invT * y * (dy - s));
}

// Lane partial of sum_k log p_k = sum_k (z_k - m - lse), for label smoothing.
RETORT_HD double ce_lane_sum_logp(const float* z, int64_t cols, double m, double lse, int64_t lane, int64_t lanes) {
  double s = 0.0;
  for (int64_t k = lane; k < cols; k += lanes) s += z[k] - m - lse;
  return s;
}

// The loss of one row: (1 - s)*nll - s*mean_k log p_k (nll alone without smoothing).
RETORT_HD double ce_row_loss(float z_label, double m, double lse, double sum_logp, int64_t cols, float smoothing) {
  const double nll = -(z_label - m - lse);
  if (!(smoothing > 0.0f)) return nll;
  return (1.0 - smoothing) * nll - smoothing * sum_logp / static_cast<double>(cols);
}

// dlogits at column k: grad/rows * (p_k - q_k), q = (1 - s) onehot + s/cols.
RETORT_HD float ce_grad(float z, double m, double lse, bool is_label, float smoothing, int64_t cols, double scale) {
  const double p = exp(z - m - lse);
  const double q = (is_label ? 1.0 - smoothing : 0.0) + smoothing / static_cast<double>(cols);
  return static_cast<float>(scale * (p - q));
}

}  // namespace retort
