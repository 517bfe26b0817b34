// Batch norm kernels on x viewed as [M, C] (channels last): per-channel sums
// over rows, with one double accumulator row per thread chunk, combined in a
// fixed order.
#include <algorithm>
#include <cstring>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/simd.h"
#include "tensor/kernels/batchnorm.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

namespace {

// Rows per thread chunk at least: about 16K values.
int64_t row_grain(int64_t C) { return std::max<int64_t>(64, 16384 / std::max<int64_t>(C, 1)); }

// For each thread chunk of rows, fn(row_begin, row_end, acc) accumulates into
// `width` doubles; returns the sum of the chunks' accumulators.
template <class Fn>
std::vector<double> reduce_rows(int64_t M, int64_t width, const Fn& fn) {
  const int slots = std::max(1, num_threads());
  std::vector<double> partial(static_cast<size_t>(slots) * width, 0.0);
  parallel_for(0, M, row_grain(width), [&](int64_t lo, int64_t hi) {
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
//
// They work on blocks of 8 channels held in GCC/Clang vector types, up to 8
// blocks (64 channels) per walk over the rows, with the accumulators in
// registers. Measured on 2 threads with the data in cache:
// - accumulating into acc[] in memory made every row wait on the previous
//   row's store (the statistics of 64x32x32x16 took 0.65 ms, then 0.18);
// - one walk per block of 8 channels read each 64-byte line of a row twice or
//   more: the gradient moments took 0.48 ms at 64x32x32x16 and 0.37 at
//   64x16x16x32, now 0.21 and 0.10. GCC's loop interchange turns a walk over
//   several blocks back into one walk per block unless the loop over the
//   blocks is unrolled first (the pragmas below);
// - ReLU's mask is a compare and a blend here; written as a plain loop, GCC
//   12's auto-vectoriser left the select scalar with a branch per lane
//   (batch_norm_backward 2x slower in a model).
// In a training step much of the data comes from memory, not cache, and there
// these loops gained little on their own (batch_norm_backward 43.6 -> 42.8 ms
// per resnet56 step); passes saved count more there.
// The helpers are always inlined, so each clone compiles them for its own
// instruction set; vectors go through memory, never by value (passing one by
// value changes the ABI between the clones: -Wpsabi).
#define RETORT_INLINE inline __attribute__((always_inline))

// 8 channels: 8 floats (one AVX register) and their 8 doubles (one AVX-512
// register). Vectors wider than the hardware's went through the stack.
typedef float Floats8 __attribute__((vector_size(32)));
typedef double Doubles8 __attribute__((vector_size(64)));
constexpr int64_t kWidth = 8;

template <class V>
RETORT_INLINE void load(V& v, const float* p) {
  std::memcpy(&v, p, sizeof(V));
}

RETORT_INLINE void load_doubles(Doubles8& v, const float* p) {
  Floats8 f;
  load(f, p);
  v = __builtin_convertvector(f, Doubles8);
}

// acc[0, 8) += the 8 lanes of v.
RETORT_INLINE void add_to(double* acc, const Doubles8& v) {
  double lanes[kWidth];
  std::memcpy(lanes, &v, sizeof(lanes));
  for (int64_t c = 0; c < kWidth; ++c) acc[c] += lanes[c];
}

// d = dy at `at`, masked by ReLU (fn::ReluBackward: 0 where y <= 0) when
// relu_y is given.
RETORT_INLINE void load_masked_grad(Floats8& d, const float* dy, const float* relu_y, int64_t at) {
  load(d, dy + at);
  if (relu_y == nullptr) return;
  Floats8 y;
  load(y, relu_y + at);
  const Floats8 zero = {};
  d = y <= zero ? zero : d;
}

// Calls op.template run<NB>(c0) on groups of NB blocks of 8 channels, up to 8
// blocks (64 channels, two AVX-512 registers of accumulators per block at
// most), covering [0, C) up to its last multiple of 8; returns where the
// scalar tail begins.
template <class Op>
RETORT_INLINE int64_t channel_groups(const Op& op, int64_t C) {
  int64_t c0 = 0;
  for (; c0 + 8 * kWidth <= C; c0 += 8 * kWidth) op.template run<8>(c0);
  switch ((C - c0) / kWidth) {
    case 7: op.template run<7>(c0); break;
    case 6: op.template run<6>(c0); break;
    case 5: op.template run<5>(c0); break;
    case 4: op.template run<4>(c0); break;
    case 3: op.template run<3>(c0); break;
    case 2: op.template run<2>(c0); break;
    case 1: op.template run<1>(c0); break;
    default: break;
  }
  return C - C % kWidth;
}

// acc[c] += sum (x - pivot[c]), acc[C + c] += sum (x - pivot[c])^2 over rows
// [lo, hi), in double (the difference of two floats within 2^29 of each other
// is exact there; others are rounded once).
struct ShiftedMomentRows {
  const float* x;
  const double* pivot;
  int64_t lo, hi, C;
  double* acc;
  template <int NB>
  RETORT_INLINE void run(int64_t c0) const {
    Doubles8 sum[NB] = {}, sum_sq[NB] = {}, p[NB], v;
    for (int j = 0; j < NB; ++j) std::memcpy(&p[j], pivot + c0 + j * kWidth, sizeof(Doubles8));
    for (int64_t r = lo; r < hi; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) {
        load_doubles(v, x + r * C + c0 + j * kWidth);
        v -= p[j];
        sum[j] += v;
        sum_sq[j] += v * v;
      }
    for (int j = 0; j < NB; ++j) {
      add_to(acc + c0 + j * kWidth, sum[j]);
      add_to(acc + C + c0 + j * kWidth, sum_sq[j]);
    }
  }
};

RETORT_SIMD_CLONES
void shifted_moment_rows(const float* x, const double* pivot, int64_t lo, int64_t hi, int64_t C, double* acc) {
  const int64_t tail = channel_groups(ShiftedMomentRows{x, pivot, lo, hi, C, acc}, C);
  for (int64_t r = lo; r < hi; ++r)
    for (int64_t c = tail; c < C; ++c) {
      const double d = x[r * C + c] - pivot[c];
      acc[c] += d;
      acc[C + c] += d * d;
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

// acc[c] += sum dy', acc[C + c] += sum dy' (x - mean[c]) over rows [lo, hi),
// dy' being dy masked by ReLU when relu_y is given.
struct GradMomentRows {
  const float *dy, *x, *mean, *relu_y;
  int64_t lo, hi, C;
  double* acc;
  template <int NB>
  RETORT_INLINE void run(int64_t c0) const {
    Doubles8 sum_dy[NB] = {}, sum_dy_xmu[NB] = {};
    Floats8 m[NB], d, xr;
    for (int j = 0; j < NB; ++j) load(m[j], mean + c0 + j * kWidth);
    for (int64_t r = lo; r < hi; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) {
        const int64_t at = r * C + c0 + j * kWidth;
        load_masked_grad(d, dy, relu_y, at);
        load(xr, x + at);
        const Doubles8 dd = __builtin_convertvector(d, Doubles8);
        sum_dy[j] += dd;
        sum_dy_xmu[j] += dd * __builtin_convertvector(xr - m[j], Doubles8);
      }
    for (int j = 0; j < NB; ++j) {
      add_to(acc + c0 + j * kWidth, sum_dy[j]);
      add_to(acc + C + c0 + j * kWidth, sum_dy_xmu[j]);
    }
  }
};

RETORT_SIMD_CLONES
void grad_moment_rows(const float* dy, const float* x, const float* mean, const float* relu_y, int64_t lo, int64_t hi,
                      int64_t C, double* acc) {
  const int64_t tail = channel_groups(GradMomentRows{dy, x, mean, relu_y, lo, hi, C, acc}, C);
  for (int64_t r = lo; r < hi; ++r)
    for (int64_t c = tail; c < C; ++c) {
      const float d = bn_masked_grad(dy, relu_y, r * C + c);
      acc[c] += d;
      acc[C + c] += static_cast<double>(d) * (x[r * C + c] - mean[c]);
    }
}

// dx = k (dy' - mean_dy - (x - mean) c2) of row r (one row at a time: each
// line is read once anyway).
struct InputGradRow {
  const float *dy, *x, *mean, *k, *mean_dy, *c2, *relu_y;
  float* dx;
  int64_t row_at;
  template <int NB>
  RETORT_INLINE void run(int64_t c0) const {
    Floats8 d, xr, kk, mdy, m, cc;
    for (int j = 0; j < NB; ++j) {
      const int64_t c = c0 + j * kWidth, at = row_at + c;
      load_masked_grad(d, dy, relu_y, at);
      load(xr, x + at);
      load(kk, k + c);
      load(mdy, mean_dy + c);
      load(m, mean + c);
      load(cc, c2 + c);
      const Floats8 o = kk * (d - mdy - (xr - m) * cc);
      std::memcpy(dx + at, &o, sizeof(Floats8));
    }
  }
};

RETORT_SIMD_CLONES
void input_grad_rows(const float* dy, const float* x, const float* mean, const float* k, const float* mean_dy,
                     const float* c2, const float* relu_y, float* dx, int64_t lo, int64_t hi, int64_t C) {
  for (int64_t r = lo; r < hi; ++r) {
    const int64_t tail = channel_groups(InputGradRow{dy, x, mean, k, mean_dy, c2, relu_y, dx, r * C}, C);
    for (int64_t c = tail; c < C; ++c) {
      const int64_t at = r * C + c;
      dx[at] = bn_input_grad(bn_masked_grad(dy, relu_y, at), x[at], mean[c], k[c], mean_dy[c], c2[c]);
    }
  }
}
#undef RETORT_INLINE

}  // namespace

// One pass over x: the sums of d = x - pivot and of d^2 per channel, the pivot
// being the channel's value in the first row. var = mean(d^2) - mean(d)^2
// cancels as much as the pivot is off the mean in units of the spread, k: the
// relative error is about (1 + k^2) times double's rounding, and a sample of
// M values lies within k <= sqrt(M) of their mean, so it stays far below
// float rounding (the LargeMeanSmallSpread and FirstRowFarFromTheMean tests).
// PyTorch's two passes (the mean, then the squares around it) visit x twice; in
// a training step much of each activation comes from memory, not cache, so the
// saved pass is mostly a saved read of the whole tensor. (An earlier one-pass version
// subtracted the pivot in float; a MobileNetV2 run on random images, which
// it moved, moves as much with the thread count.) A NaN or infinity in a
// channel gives a NaN variance, as in PyTorch.
void batch_norm_stats(const float* x, int64_t M, int64_t C, double* mean, double* var_biased) {
  const std::vector<double> pivot(x, x + C);
  const std::vector<double> s = reduce_rows(
      M, 2 * C, [&](int64_t lo, int64_t hi, double* acc) { shifted_moment_rows(x, pivot.data(), lo, hi, C, acc); });
  for (int64_t c = 0; c < C; ++c) {
    const double d = s[c] / static_cast<double>(M);
    mean[c] = pivot[c] + d;
    const double var = s[C + c] / static_cast<double>(M) - d * d;
    var_biased[c] = var < 0.0 ? 0.0 : var;  // rounding; NaN passes
  }
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
