// Row-wise softmax, log-softmax and cross-entropy. Each row subtracts its
// maximum (after dividing by T) before exponentiating; sums are in double.
#include <cmath>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

namespace {

// x/T in double: a float quotient rounds |x/T| ~ 1e4/3 by up to 1.2e-4, an error
// the softmax passes on as a relative error of its output.
inline double scaled(float x, double T) { return static_cast<double>(x) / T; }

// log sum_k exp(x_k/T - m) with m = max_k x_k/T; returns m too.
double row_logsumexp(const float* x, int64_t cols, double T, double* max_out) {
  double m = -INFINITY;
  for (int64_t k = 0; k < cols; ++k) m = std::max(m, scaled(x[k], T));
  double s = 0.0;
  for (int64_t k = 0; k < cols; ++k) s += std::exp(scaled(x[k], T) - m);
  *max_out = m;
  return std::log(s);
}

}  // namespace

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, float T, bool log) {
  parallel_for(0, rows, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      double m;
      const double lse = row_logsumexp(xr, cols, T, &m);
      for (int64_t k = 0; k < cols; ++k) {
        const double z = scaled(xr[k], T) - m - lse;
        yr[k] = static_cast<float>(log ? z : std::exp(z));
      }
    }
  });
}

void softmax_backward_rows(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols, float T, bool log) {
  const double invT = 1.0 / T;
  parallel_for(0, rows, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* d = dy + r * cols;
      const float* yr = y + r * cols;
      float* o = dx + r * cols;
      double s = 0.0;
      if (log) {
        for (int64_t k = 0; k < cols; ++k) s += d[k];
        for (int64_t k = 0; k < cols; ++k) o[k] = static_cast<float>(invT * (d[k] - std::exp(yr[k]) * s));
      } else {
        for (int64_t k = 0; k < cols; ++k) s += static_cast<double>(d[k]) * yr[k];
        for (int64_t k = 0; k < cols; ++k) o[k] = static_cast<float>(invT * yr[k] * (d[k] - s));
      }
    }
  });
}

double cross_entropy(const float* logits, const int64_t* labels, int64_t rows, int64_t cols, float smoothing) {
  std::vector<double> per_row(rows);
  parallel_for(0, rows, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* z = logits + r * cols;
      double m;
      const double lse = row_logsumexp(z, cols, 1.0, &m);
      const double nll = -(z[labels[r]] - m - lse);
      double loss = nll;
      if (smoothing > 0.0f) {
        double sum_logp = 0.0;
        for (int64_t k = 0; k < cols; ++k) sum_logp += z[k] - m - lse;
        loss = (1.0 - smoothing) * nll - smoothing * sum_logp / static_cast<double>(cols);
      }
      per_row[r] = loss;
    }
  });
  double total = 0.0;
  for (double v : per_row) total += v;
  return total / static_cast<double>(rows);
}

void cross_entropy_backward(const float* logits, const int64_t* labels, int64_t rows, int64_t cols, float smoothing,
                            float grad, float* dlogits) {
  const double scale = static_cast<double>(grad) / static_cast<double>(rows);
  const double off = smoothing / static_cast<double>(cols);
  parallel_for(0, rows, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* z = logits + r * cols;
      float* d = dlogits + r * cols;
      double m;
      const double lse = row_logsumexp(z, cols, 1.0, &m);
      for (int64_t k = 0; k < cols; ++k) {
        const double p = std::exp(z[k] - m - lse);
        const double q = (k == labels[r] ? 1.0 - smoothing : 0.0) + off;
        d[k] = static_cast<float>(scale * (p - q));
      }
    }
  });
}

}  // namespace cpu
}  // namespace retort
