#include "tensor/cpu/conv_direct.h"

#include <array>
#include <cstring>
#include <utility>

#include "tensor/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RETORT_X86_KERNELS 1
#endif

namespace retort {
namespace cpu {
namespace direct {

namespace {

// Tables of instantiations, indexed by rows - 1: the row count is a template
// parameter so the accumulators stay in registers.
using GatherFn = void (*)(const GatherTile&);
using WeightFn = void (*)(const WeightTile&);

template <template <int, int> class K, int NB, size_t... I>
constexpr std::array<GatherFn, sizeof...(I)> gather_table(std::index_sequence<I...>) {
  return {&K<static_cast<int>(I) + 1, NB>::run...};
}
template <template <int, int> class K, int NB, size_t... I>
constexpr std::array<WeightFn, sizeof...(I)> weight_table(std::index_sequence<I...>) {
  return {&K<static_cast<int>(I) + 1, NB>::run...};
}

// ---------------------------------------------------------------- portable

// Plain C++ for any target; the compiler vectorises the j loops.
template <int MR, int NB> struct GatherPortable {
  static void run(const GatherTile& t) {
    float acc[MR][kPanel] = {};
    static_assert(NB == 1, "the portable kernels use one panel");
    for (int64_t i = 0; i < t.ntaps; ++i) {
      const float* s = t.src + t.taps[i].offset;
      const float* w = t.w + t.taps[i].woffset;
      for (int64_t c = 0; c < t.len; ++c)
        for (int r = 0; r < MR; ++r) {
          const float a = s[r * t.src_stride + c];
          for (int64_t j = 0; j < kPanel; ++j) acc[r][j] += a * w[c * kPanel + j];
        }
    }
    for (int r = 0; r < MR; ++r) std::memcpy(t.out + r * t.out_stride, acc[r], t.cols * sizeof(float));
  }
};

template <int MR, int NB> struct WeightPortable {
  static void run(const WeightTile& t) {
    static_assert(NB == 1, "the portable kernels use one panel");
    float acc[MR][kPanel] = {};
    for (int64_t i = 0; i < t.height; ++i)
      for (int64_t k = 0; k < t.width; ++k) {
        const float* x = t.x + i * t.x_row + k * t.x_col;
        const float* dy = t.dy + i * t.dy_row + k * t.dy_col;
        for (int r = 0; r < MR; ++r)
          for (int64_t j = 0; j < t.cols; ++j) acc[r][j] += dy[r] * x[j];
      }
    for (int r = 0; r < MR; ++r)
      for (int64_t j = 0; j < t.cols; ++j) t.acc[r * t.acc_stride + j] += acc[r][j];
  }
};

#ifdef RETORT_X86_KERNELS
// ---------------------------------------------------------------- AVX-512

// Lanes [16 b, 16 b + 16) of the first `cols`.
__attribute__((target("avx512f"))) inline __mmask16 panel_mask(int64_t cols, int b) {
  const int64_t n = cols - b * kPanel;
  return n >= kPanel ? static_cast<__mmask16>(0xFFFF) : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
}

template <int MR, int NB> struct GatherAvx512 {
  __attribute__((target("avx512f"))) static void run(const GatherTile& t) {
    __m512 acc[MR][NB];
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_setzero_ps();
    for (int64_t i = 0; i < t.ntaps; ++i) {
      const float* s = t.src + t.taps[i].offset;
      const float* w = t.w + t.taps[i].woffset;
      for (int64_t c = 0; c < t.len; ++c) {
        __m512 wv[NB];
#pragma GCC unroll 2
        for (int b = 0; b < NB; ++b) wv[b] = _mm512_loadu_ps(w + b * t.panel_stride + c * kPanel);
#pragma GCC unroll 32
        for (int r = 0; r < MR; ++r) {
          const __m512 a = _mm512_set1_ps(s[r * t.src_stride + c]);
#pragma GCC unroll 2
          for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_fmadd_ps(a, wv[b], acc[r][b]);
        }
      }
    }
#pragma GCC unroll 2
    for (int b = 0; b < NB; ++b) {
      const __mmask16 m = panel_mask(t.cols, b);
#pragma GCC unroll 32
      for (int r = 0; r < MR; ++r) _mm512_mask_storeu_ps(t.out + r * t.out_stride + b * kPanel, m, acc[r][b]);
    }
  }
};

template <int MR, int NB> struct WeightAvx512 {
  __attribute__((target("avx512f"))) static void run(const WeightTile& t) {
    __m512 acc[MR][NB];
    __mmask16 m[NB];
#pragma GCC unroll 2
    for (int b = 0; b < NB; ++b) m[b] = panel_mask(t.cols, b);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_setzero_ps();
    for (int64_t i = 0; i < t.height; ++i) {
      const float* x = t.x + i * t.x_row;
      const float* dy = t.dy + i * t.dy_row;
      for (int64_t k = 0; k < t.width; ++k, x += t.x_col, dy += t.dy_col) {
        __m512 xv[NB];
#pragma GCC unroll 2
        for (int b = 0; b < NB; ++b) xv[b] = _mm512_maskz_loadu_ps(m[b], x + b * kPanel);
#pragma GCC unroll 32
        for (int r = 0; r < MR; ++r) {
          const __m512 d = _mm512_set1_ps(dy[r]);
#pragma GCC unroll 2
          for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_fmadd_ps(d, xv[b], acc[r][b]);
        }
      }
    }
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int b = 0; b < NB; ++b) {
        float* a = t.acc + r * t.acc_stride + b * kPanel;
        _mm512_mask_storeu_ps(a, m[b], _mm512_add_ps(_mm512_maskz_loadu_ps(m[b], a), acc[r][b]));
      }
  }
};

// ---------------------------------------------------------------- AVX2

// A panel is two ymm; the first `cols` lanes of half h of panel 0 as a maskload mask.
__attribute__((target("avx2"))) inline __m256i half_mask(int64_t cols, int h) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols - 8 * h)), lane);
}

template <int MR, int NB> struct GatherAvx2 {
  __attribute__((target("avx2,fma"))) static void run(const GatherTile& t) {
    static_assert(NB == 1, "the AVX2 kernels use one panel (16 ymm registers)");
    __m256 lo[MR], hi[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < t.ntaps; ++i) {
      const float* s = t.src + t.taps[i].offset;
      const float* w = t.w + t.taps[i].woffset;
      for (int64_t c = 0; c < t.len; ++c) {
        const __m256 w0 = _mm256_loadu_ps(w + c * kPanel), w1 = _mm256_loadu_ps(w + c * kPanel + 8);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          const __m256 a = _mm256_broadcast_ss(s + r * t.src_stride + c);
          lo[r] = _mm256_fmadd_ps(a, w0, lo[r]);
          hi[r] = _mm256_fmadd_ps(a, w1, hi[r]);
        }
      }
    }
    const __m256i m0 = half_mask(t.cols, 0), m1 = half_mask(t.cols, 1);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      _mm256_maskstore_ps(t.out + r * t.out_stride, m0, lo[r]);
      _mm256_maskstore_ps(t.out + r * t.out_stride + 8, m1, hi[r]);
    }
  }
};

template <int MR, int NB> struct WeightAvx2 {
  __attribute__((target("avx2,fma"))) static void run(const WeightTile& t) {
    static_assert(NB == 1, "the AVX2 kernels use one panel (16 ymm registers)");
    const __m256i m0 = half_mask(t.cols, 0), m1 = half_mask(t.cols, 1);
    __m256 lo[MR], hi[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < t.height; ++i) {
      const float* x = t.x + i * t.x_row;
      const float* dy = t.dy + i * t.dy_row;
      for (int64_t k = 0; k < t.width; ++k, x += t.x_col, dy += t.dy_col) {
        const __m256 x0 = _mm256_maskload_ps(x, m0), x1 = _mm256_maskload_ps(x + 8, m1);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          const __m256 d = _mm256_broadcast_ss(dy + r);
          lo[r] = _mm256_fmadd_ps(d, x0, lo[r]);
          hi[r] = _mm256_fmadd_ps(d, x1, hi[r]);
        }
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      float* a = t.acc + r * t.acc_stride;
      _mm256_maskstore_ps(a, m0, _mm256_add_ps(_mm256_maskload_ps(a, m0), lo[r]));
      _mm256_maskstore_ps(a + 8, m1, _mm256_add_ps(_mm256_maskload_ps(a + 8, m1), hi[r]));
    }
  }
};
#endif

// ---------------------------------------------------------------- dispatch

// Row limits keep the accumulators within the registers: 32 zmm, 16 ymm;
// the portable kernel's 4 x 16 floats are 16 SSE registers.
// The gather tile reads each row through its own pointer (general-purpose
// registers), so it stops at 12 rows; the weight tile reads one pointer.
constexpr int kAvx512Rows1 = 12, kAvx512Rows2 = 12, kAvx512WeightRows1 = 16, kAvx2Rows = 6, kPortableRows = 4;

const auto kGatherPortable = gather_table<GatherPortable, 1>(std::make_index_sequence<kPortableRows>());
const auto kWeightPortable = weight_table<WeightPortable, 1>(std::make_index_sequence<kPortableRows>());

void gather_portable(const GatherTile& t, int rows, int) { kGatherPortable[rows - 1](t); }
void weight_portable(const WeightTile& t, int rows, int) { kWeightPortable[rows - 1](t); }

#ifdef RETORT_X86_KERNELS
const auto kGather512x1 = gather_table<GatherAvx512, 1>(std::make_index_sequence<kAvx512Rows1>());
const auto kGather512x2 = gather_table<GatherAvx512, 2>(std::make_index_sequence<kAvx512Rows2>());
const auto kWeight512x1 = weight_table<WeightAvx512, 1>(std::make_index_sequence<kAvx512WeightRows1>());
const auto kWeight512x2 = weight_table<WeightAvx512, 2>(std::make_index_sequence<kAvx512Rows2>());
const auto kGatherAvx2 = gather_table<GatherAvx2, 1>(std::make_index_sequence<kAvx2Rows>());
const auto kWeightAvx2 = weight_table<WeightAvx2, 1>(std::make_index_sequence<kAvx2Rows>());

void gather_avx512(const GatherTile& t, int rows, int nb) {
  (nb == 2 ? kGather512x2[rows - 1] : kGather512x1[rows - 1])(t);
}
void weight_avx512(const WeightTile& t, int rows, int nb) {
  (nb == 2 ? kWeight512x2[rows - 1] : kWeight512x1[rows - 1])(t);
}
void gather_avx2(const GatherTile& t, int rows, int) { kGatherAvx2[rows - 1](t); }
void weight_avx2(const WeightTile& t, int rows, int) { kWeightAvx2[rows - 1](t); }
#endif

const Kernels kKernels[] = {
#ifdef RETORT_X86_KERNELS
    {"avx512", 2, {kAvx512Rows1, kAvx512Rows2}, {kAvx512WeightRows1, kAvx512Rows2}, gather_avx512, weight_avx512},
    {"avx2", 1, {kAvx2Rows, kAvx2Rows}, {kAvx2Rows, kAvx2Rows}, gather_avx2, weight_avx2},
#endif
    {"portable", 1, {kPortableRows, kPortableRows}, {kPortableRows, kPortableRows}, gather_portable,
     weight_portable},
};

}  // namespace

const Kernels& kernels_for(const char* isa) {
  for (const Kernels& k : kKernels)
    if (std::strcmp(k.isa, isa) == 0) return k;
  RETORT_FAIL("built-in convolution: no kernels for '" << isa << "'");
  return kKernels[0];
}

}  // namespace direct
}  // namespace cpu
}  // namespace retort
