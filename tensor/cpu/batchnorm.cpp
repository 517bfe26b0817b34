// Batch norm kernels on x viewed as [M, C] (channels last): per-channel sums
// over rows, with one double accumulator row per thread chunk, combined in a
// fixed order.
#include <algorithm>
#include <cstring>
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
// (up to millions of rows) exact to float precision. The reductions walk the
// rows once per block of kLanes channels with that block's accumulators in
// local arrays the compiler keeps in registers: accumulating into acc[] in
// memory row after row made every row wait on the previous row's store (the
// statistics of 64x32x32x16 took 0.65 ms on 2 threads, now 0.18).
constexpr int64_t kLanes = 16;

// acc[c] += sum x over rows [lo, hi).
RETORT_SIMD_CLONES
void sum_rows(const float* x, int64_t lo, int64_t hi, int64_t C, double* acc) {
  int64_t c0 = 0;
  for (; c0 + kLanes <= C; c0 += kLanes) {
    double a[kLanes] = {};
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * C + c0;
      for (int64_t c = 0; c < kLanes; ++c) a[c] += xr[c];
    }
    for (int64_t c = 0; c < kLanes; ++c) acc[c0 + c] += a[c];
  }
  for (int64_t r = lo; r < hi; ++r)  // the channels past the last whole block
    for (int64_t c = c0; c < C; ++c) acc[c] += x[r * C + c];
}

// acc[c] += sum (x - mean[c])^2 over rows [lo, hi).
RETORT_SIMD_CLONES
void centered_square_rows(const float* x, const double* mean, int64_t lo, int64_t hi, int64_t C, double* acc) {
  int64_t c0 = 0;
  for (; c0 + kLanes <= C; c0 += kLanes) {
    double a[kLanes] = {}, m[kLanes];
    for (int64_t c = 0; c < kLanes; ++c) m[c] = mean[c0 + c];
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * C + c0;
      for (int64_t c = 0; c < kLanes; ++c) {
        const double d = xr[c] - m[c];
        a[c] += d * d;
      }
    }
    for (int64_t c = 0; c < kLanes; ++c) acc[c0 + c] += a[c];
  }
  for (int64_t r = lo; r < hi; ++r)
    for (int64_t c = c0; c < C; ++c) {
      const double d = x[r * C + c] - mean[c];
      acc[c] += d * d;
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

// affine_rows followed by ReLU in the same pass; the shared functors keep the
// bits (and NaN handling) of the unfused pair.
RETORT_SIMD_CLONES
void affine_relu_rows(const float* x, const float* mean, const float* scale, const float* shift, float* y, int64_t lo,
                      int64_t hi, int64_t C) {
  for (int64_t r = lo; r < hi; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float v = (xr[c] - mean[c]) * scale[c] + shift[c];
      yr[c] = fn::Relu{}(v);
    }
  }
}

// The backward row loops take relu_y (the output of a fused batch norm +
// ReLU) or nullptr. Per block of channels, the masked gradient goes to a small
// buffer first, so every loop is a plain one the compiler vectorises (with the
// select inside, GCC 12 left the whole loop scalar: 10x slower).
constexpr int64_t kChannelBlock = 256;

// dy of row r, channels [c0, c0 + n), with ReLU's mask applied when relu_y is given.
inline const float* masked_grad(const float* dy, const float* relu_y, int64_t at, int64_t n, float* buf) {
  if (relu_y == nullptr) return dy + at;
  for (int64_t c = 0; c < n; ++c) buf[c] = fn::ReluBackward{}(dy[at + c], relu_y[at + c]);
  return buf;
}

// Eight lanes as GCC/Clang vector types: the ReLU mask of the gradient
// moments below is a select, which the auto-vectoriser left scalar (with a
// branch per lane) inside a register-blocked loop; written with these types
// it is a compare and a blend in every clone.
typedef float Floats8 __attribute__((vector_size(32)));
typedef double Doubles8 __attribute__((vector_size(64)));

// Through memory, not by value: a 32-byte vector passed by value changes the
// ABI between the clones (-Wpsabi).
#define RETORT_LOAD8(v, p) std::memcpy(&(v), (p), sizeof(Floats8))

// acc[c] += sum dy', acc[C + c] += sum dy' (x - mean[c]) over rows [lo, hi),
// dy' being dy masked by ReLU (fn::ReluBackward: 0 where y <= 0) when relu_y
// is given.
RETORT_SIMD_CLONES
void grad_moment_rows(const float* dy, const float* x, const float* mean, const float* relu_y, int64_t lo, int64_t hi,
                      int64_t C, double* acc) {
  constexpr int64_t kWidth = 8;
  int64_t c0 = 0;
  for (; c0 + kWidth <= C; c0 += kWidth) {
    Doubles8 sum_dy = {}, sum_dy_xmu = {};
    Floats8 m, d, y, xr;
    const Floats8 zero = {};
    RETORT_LOAD8(m, mean + c0);
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t at = r * C + c0;
      RETORT_LOAD8(d, dy + at);
      if (relu_y != nullptr) {
        RETORT_LOAD8(y, relu_y + at);
        d = y <= zero ? zero : d;
      }
      RETORT_LOAD8(xr, x + at);
      const Doubles8 dd = __builtin_convertvector(d, Doubles8);
      sum_dy += dd;
      sum_dy_xmu += dd * __builtin_convertvector(xr - m, Doubles8);
    }
    for (int64_t c = 0; c < kWidth; ++c) {
      acc[c0 + c] += sum_dy[c];
      acc[C + c0 + c] += sum_dy_xmu[c];
    }
  }
  for (int64_t r = lo; r < hi; ++r)  // the channels past the last whole block
    for (int64_t c = c0; c < C; ++c) {
      const float d = relu_y != nullptr ? fn::ReluBackward{}(dy[r * C + c], relu_y[r * C + c]) : dy[r * C + c];
      acc[c] += d;
      acc[C + c] += static_cast<double>(d) * (x[r * C + c] - mean[c]);
    }
}
#undef RETORT_LOAD8

RETORT_SIMD_CLONES
void input_grad_rows(const float* dy, const float* x, const float* mean, const float* k, const float* mean_dy,
                     const float* c2, const float* relu_y, float* dx, int64_t lo, int64_t hi, int64_t C) {
  float buf[kChannelBlock];
  for (int64_t r = lo; r < hi; ++r)
    for (int64_t c0 = 0; c0 < C; c0 += kChannelBlock) {
      const int64_t n = std::min(kChannelBlock, C - c0);
      const float* __restrict d = masked_grad(dy, relu_y, r * C + c0, n, buf);
      const float* __restrict xr = x + r * C + c0;
      float* __restrict o = dx + r * C + c0;
      for (int64_t c = 0; c < n; ++c)
        o[c] = k[c0 + c] * (d[c] - mean_dy[c0 + c] - (xr[c] - mean[c0 + c]) * c2[c0 + c]);
    }
}

int64_t row_grain(int64_t C) { return std::max<int64_t>(64, 16384 / std::max<int64_t>(C, 1)); }

}  // namespace

// Two passes, as PyTorch: the mean, then the squares around it (no cancellation
// when |mean| >> std). A one-pass form (moments around the first row) was
// tried and moved MobileNetV2's first-epoch training loss on random images by
// 1e-3, where changing the thread count moves it by 1e-7.
void batch_norm_stats(const float* x, int64_t M, int64_t C, double* mean, double* var_biased) {
  const std::vector<double> sums =
      reduce_rows(M, C, [&](int64_t lo, int64_t hi, double* acc) { sum_rows(x, lo, hi, C, acc); });
  for (int64_t c = 0; c < C; ++c) mean[c] = sums[c] / static_cast<double>(M);
  const std::vector<double> sq = reduce_rows(
      M, C, [&](int64_t lo, int64_t hi, double* acc) { centered_square_rows(x, mean, lo, hi, C, acc); });
  for (int64_t c = 0; c < C; ++c) var_biased[c] = sq[c] / static_cast<double>(M);
}

void batch_norm_apply(const float* x, const float* mean, const float* scale, const float* shift, float* y, int64_t M,
                      int64_t C, bool relu) {
  parallel_for(0, M, row_grain(C), [&](int64_t lo, int64_t hi) {
    if (relu) affine_relu_rows(x, mean, scale, shift, y, lo, hi, C);
    else affine_rows(x, mean, scale, shift, y, lo, hi, C);
  });
}

void batch_norm_reduce_grad(const float* dy, const float* x, const float* mean, int64_t M, int64_t C, double* sum_dy,
                            double* sum_dy_xmu, const float* relu_y) {
  const std::vector<double> s = reduce_rows(M, 2 * C, [&](int64_t lo, int64_t hi, double* acc) {
    grad_moment_rows(dy, x, mean, relu_y, lo, hi, C, acc);
  });
  for (int64_t c = 0; c < C; ++c) {
    sum_dy[c] = s[c];
    sum_dy_xmu[c] = s[C + c];
  }
}

void batch_norm_input_grad(const float* dy, const float* x, const float* mean, const float* k, const float* mean_dy,
                           const float* c2, float* dx, int64_t M, int64_t C, const float* relu_y) {
  parallel_for(0, M, row_grain(C), [&](int64_t lo, int64_t hi) {
    input_grad_rows(dy, x, mean, k, mean_dy, c2, relu_y, dx, lo, hi, C);
  });
}

}  // namespace cpu
}  // namespace retort
