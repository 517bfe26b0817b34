// Batch norm kernels on x viewed as [M, C] (channels last): per-channel sums
// over rows, with one double accumulator row per thread chunk, combined in a
// fixed order.
#include <algorithm>
#include <vector>

#include "tensor/cpu/kernels.h"
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

}  // namespace

void batch_norm_stats(const float* x, int64_t M, int64_t C, double* mean, double* var_biased) {
  const std::vector<double> sums = reduce_rows(M, C, [&](int64_t lo, int64_t hi, double* acc) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += xr[c];
    }
  });
  for (int64_t c = 0; c < C; ++c) mean[c] = sums[c] / static_cast<double>(M);
  // Second pass around the mean: no cancellation when |mean| >> std.
  const std::vector<double> sq = reduce_rows(M, C, [&](int64_t lo, int64_t hi, double* acc) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const double d = xr[c] - mean[c];
        acc[c] += d * d;
      }
    }
  });
  for (int64_t c = 0; c < C; ++c) var_biased[c] = sq[c] / static_cast<double>(M);
}

void batch_norm_apply(const float* x, const float* mean, const float* scale, const float* shift, float* y, int64_t M,
                      int64_t C) {
  parallel_for(0, M, std::max<int64_t>(64, 16384 / std::max<int64_t>(C, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mean[c]) * scale[c] + shift[c];
    }
  });
}

void batch_norm_reduce_grad(const float* dy, const float* x, const float* mean, int64_t M, int64_t C, double* sum_dy,
                            double* sum_dy_xmu) {
  const std::vector<double> s = reduce_rows(M, 2 * C, [&](int64_t lo, int64_t hi, double* acc) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* dr = dy + r * C;
      const float* xr = x + r * C;
      for (int64_t c = 0; c < C; ++c) {
        acc[c] += dr[c];
        acc[C + c] += static_cast<double>(dr[c]) * (xr[c] - mean[c]);
      }
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    sum_dy[c] = s[c];
    sum_dy_xmu[c] = s[C + c];
  }
}

void batch_norm_input_grad(const float* dy, const float* x, const float* mean, const float* k, const float* mean_dy,
                           const float* c2, float* dx, int64_t M, int64_t C) {
  parallel_for(0, M, std::max<int64_t>(64, 16384 / std::max<int64_t>(C, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* dr = dy + r * C;
      const float* xr = x + r * C;
      float* o = dx + r * C;
      for (int64_t c = 0; c < C; ++c) o[c] = k[c] * (dr[c] - mean_dy[c] - (xr[c] - mean[c]) * c2[c]);
    }
  });
}

}  // namespace cpu
}  // namespace retort
