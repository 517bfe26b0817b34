// Batch norm kernels on x viewed as [M, C] (channels last): per-channel sums
// over rows, with one double accumulator row per thread chunk, combined in a
// fixed order.
#include <algorithm>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/simd.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

namespace {

// For each thread chunk of rows, fn(row_begin, row_end, acc) accumulates into
// `width` doubles; returns the sum of the chunks' accumulators.
template <class Fn>
std::vector<double> reduce_rows(int64_t M, int64_t width, const Fn& fn) {
  const int slots = std::max(1, num_threads());
  std::vector<double> partial(static_cast<size_t>(slots) * width, 0.0);
  parallel_for(0, M, std::max<int64_t>(64, 16384 / std::max<int64_t>(width, 1)), [&](int64_t lo, int64_t hi) {
    const int64_t slot = std::min<int64_t>(thread_index(), slots - 1);
    fn(lo, hi, partial.data() + slot * width);
  });
  for (int s = 1; s < slots; ++s)
    for (int64_t i = 0; i < width; ++i) partial[i] += partial[s * width + i];
  partial.resize(width);
  return partial;
}

// The row loops below are the hot part; they are compiled for AVX2 and
// AVX-512 as well (simd.h). Double accumulators keep the sums of a whole batch
// (up to millions of rows) exact to float precision.

// acc[c] += sum (x - shift[c]), acc[C + c] += sum (x - shift[c])^2 over rows [lo, hi).
RETORT_SIMD_CLONES
void shifted_moment_rows(const float* x, const float* shift, int64_t lo, int64_t hi, int64_t C, double* acc) {
  double* s = acc;
  double* q = acc + C;
  for (int64_t r = lo; r < hi; ++r) {
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const double d = xr[c] - shift[c];
      s[c] += d;
      q[c] += d * d;
    }
  }
}

RETORT_SIMD_CLONES
void affine_rows(const float* x, const float* mean, const float* scale, const float* shift, float* y, int64_t lo,
                 int64_t hi, int64_t C) {
  for (int64_t r = lo; r < hi; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mean[c]) * scale[c] + shift[c];
  }
}

RETORT_SIMD_CLONES
void grad_moment_rows(const float* dy, const float* x, const float* mean, int64_t lo, int64_t hi, int64_t C,
                      double* acc) {
  for (int64_t r = lo; r < hi; ++r) {
    const float* dr = dy + r * C;
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; ++c) {
      acc[c] += dr[c];
      acc[C + c] += static_cast<double>(dr[c]) * (xr[c] - mean[c]);
    }
  }
}

RETORT_SIMD_CLONES
void input_grad_rows(const float* dy, const float* x, const float* mean, const float* k, const float* mean_dy,
                     const float* c2, float* dx, int64_t lo, int64_t hi, int64_t C) {
  for (int64_t r = lo; r < hi; ++r) {
    const float* dr = dy + r * C;
    const float* xr = x + r * C;
    float* o = dx + r * C;
    for (int64_t c = 0; c < C; ++c) o[c] = k[c] * (dr[c] - mean_dy[c] - (xr[c] - mean[c]) * c2[c]);
  }
}

int64_t row_grain(int64_t C) { return std::max<int64_t>(64, 16384 / std::max<int64_t>(C, 1)); }

}  // namespace

// One pass: the moments around the first row (a sample of each channel, so
// close to its mean) give the variance without the cancellation of
// E[x^2] - E[x]^2 when |mean| >> std.
void batch_norm_stats(const float* x, int64_t M, int64_t C, double* mean, double* var_biased) {
  if (M == 0) {
    std::fill(mean, mean + C, 0.0);
    std::fill(var_biased, var_biased + C, 0.0);
    return;
  }
  const float* shift = x;
  const std::vector<double> m = reduce_rows(M, 2 * C, [&](int64_t lo, int64_t hi, double* acc) {
    shifted_moment_rows(x, shift, lo, hi, C, acc);
  });
  for (int64_t c = 0; c < C; ++c) {
    const double d = m[c] / static_cast<double>(M);
    mean[c] = shift[c] + d;
    var_biased[c] = std::max(0.0, m[C + c] / static_cast<double>(M) - d * d);
  }
}

void batch_norm_apply(const float* x, const float* mean, const float* scale, const float* shift, float* y, int64_t M,
                      int64_t C) {
  parallel_for(0, M, row_grain(C), [&](int64_t lo, int64_t hi) { affine_rows(x, mean, scale, shift, y, lo, hi, C); });
}

void batch_norm_reduce_grad(const float* dy, const float* x, const float* mean, int64_t M, int64_t C, double* sum_dy,
                            double* sum_dy_xmu) {
  const std::vector<double> s = reduce_rows(M, 2 * C, [&](int64_t lo, int64_t hi, double* acc) {
    grad_moment_rows(dy, x, mean, lo, hi, C, acc);
  });
  for (int64_t c = 0; c < C; ++c) {
    sum_dy[c] = s[c];
    sum_dy_xmu[c] = s[C + c];
  }
}

void batch_norm_input_grad(const float* dy, const float* x, const float* mean, const float* k, const float* mean_dy,
                           const float* c2, float* dx, int64_t M, int64_t C) {
  parallel_for(0, M, row_grain(C), [&](int64_t lo, int64_t hi) {
    input_grad_rows(dy, x, mean, k, mean_dy, c2, dx, lo, hi, C);
  });
}

}  // namespace cpu
}  // namespace retort
