#include "tensor/cpu/gemm.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tensor/parallel.h"

#ifdef RETORT_WITH_OPENBLAS
#include <cblas.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RETORT_X86_KERNELS 1
#endif

namespace retort {
namespace cpu {

namespace {

// Register tile of the micro-kernel and cache blocks (a KC x NC panel of B
// stays in L2, an MR x KC sliver of A in L1).
constexpr int64_t MR = 6, NR = 16;
constexpr int64_t KC = 256, MC = 72, NC = 512;

inline float elem(const float* X, int64_t ld, bool trans, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

// Packs op(A)[i0:i0+mc, k0:k0+kc] into MR-row slivers, k-major, zero-padded.
void pack_a(const GemmArgs& g, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* out) {
  for (int64_t s = 0; s < mc; s += MR) {
    const int64_t rows = std::min(MR, mc - s);
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t r = 0; r < rows; ++r) out[k * MR + r] = elem(g.A, g.lda, g.trans_a, i0 + s + r, k0 + k);
      for (int64_t r = rows; r < MR; ++r) out[k * MR + r] = 0.0f;
    }
    out += kc * MR;
  }
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] into NR-column panels, k-major, zero-padded.
void pack_b(const GemmArgs& g, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t s = 0; s < nc; s += NR) {
    const int64_t cols = std::min(NR, nc - s);
    for (int64_t k = 0; k < kc; ++k) {
      float* o = out + k * NR;
      if (!g.trans_b && cols == NR) {
        std::memcpy(o, g.B + (k0 + k) * g.ldb + j0 + s, NR * sizeof(float));
        continue;
      }
      for (int64_t c = 0; c < cols; ++c) o[c] = elem(g.B, g.ldb, g.trans_b, k0 + k, j0 + s + c);
      for (int64_t c = cols; c < NR; ++c) o[c] = 0.0f;
    }
    out += kc * NR;
  }
}

// acc[MR][NR] = sum_k a[k][r] * b[k][c]. The portable version is plain C++
// for any target; the x86-64 library is compiled for baseline SSE2 (4 lanes,
// no FMA), and even with AVX-512 enabled GCC 12 vectorises this loop nest
// poorly, so AVX2+FMA and AVX-512 versions are written with intrinsics and
// chosen at run time.
void micro_kernel_portable(int64_t kc, const float* a, const float* b, float* acc) {
  float t[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* bk = b + k * NR;
    const float* ak = a + k * MR;
    for (int64_t r = 0; r < MR; ++r) {
      const float ar = ak[r];
      for (int64_t c = 0; c < NR; ++c) t[r][c] += ar * bk[c];
    }
  }
  std::memcpy(acc, t, sizeof(t));
}

#ifdef RETORT_X86_KERNELS
static_assert(MR == 6 && NR == 16, "the SIMD micro-kernels are written for a 6 x 16 tile");

// One zmm per row; even and odd k go to separate accumulators (12 FMA chains)
// so the FMA latency is hidden.
__attribute__((target("avx512f"))) void micro_kernel_avx512(int64_t kc, const float* a, const float* b, float* acc) {
  __m512 e[MR], o[MR];
  for (int r = 0; r < MR; ++r) e[r] = o[r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 1 < kc; k += 2) {
    const __m512 b0 = _mm512_loadu_ps(b + k * NR), b1 = _mm512_loadu_ps(b + (k + 1) * NR);
    for (int r = 0; r < MR; ++r) {
      e[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[k * MR + r]), b0, e[r]);
      o[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[(k + 1) * MR + r]), b1, o[r]);
    }
  }
  if (k < kc) {
    const __m512 b0 = _mm512_loadu_ps(b + k * NR);
    for (int r = 0; r < MR; ++r) e[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[k * MR + r]), b0, e[r]);
  }
  for (int r = 0; r < MR; ++r) _mm512_storeu_ps(acc + r * NR, _mm512_add_ps(e[r], o[r]));
}

// Two ymm per row: 12 FMA chains.
__attribute__((target("avx2,fma"))) void micro_kernel_avx2(int64_t kc, const float* a, const float* b, float* acc) {
  __m256 lo[MR], hi[MR];
  for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b + k * NR), b1 = _mm256_loadu_ps(b + k * NR + 8);
    for (int r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + k * MR + r);
      lo[r] = _mm256_fmadd_ps(ar, b0, lo[r]);
      hi[r] = _mm256_fmadd_ps(ar, b1, hi[r]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_ps(acc + r * NR, lo[r]);
    _mm256_storeu_ps(acc + r * NR + 8, hi[r]);
  }
}
#endif

using MicroKernel = void (*)(int64_t, const float*, const float*, float*);

struct Isa {
  const char* name;
  MicroKernel kernel;
  bool (*supported)();
};

const Isa kIsas[] = {
#ifdef RETORT_X86_KERNELS
    {"avx512", micro_kernel_avx512, [] { return __builtin_cpu_supports("avx512f") != 0; }},
    {"avx2", micro_kernel_avx2, [] { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }},
#endif
    {"portable", micro_kernel_portable, [] { return true; }},
};

// The kernel gemm_builtin uses: by default the first in kIsas this CPU runs.
const Isa*& current_isa() {
  static const Isa* isa = [] {
    for (const Isa& i : kIsas)
      if (i.supported()) return &i;
    return &kIsas[0];
  }();
  return isa;
}

void scale_c(const GemmArgs& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    float* c = g.C + i * g.ldc;
    if (g.beta == 0.0f) std::fill(c, c + g.N, 0.0f);
    else if (g.beta != 1.0f)
      for (int64_t j = 0; j < g.N; ++j) c[j] *= g.beta;
  }
}

}  // namespace

void gemm_builtin(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  scale_c(g);
  if (g.K <= 0 || g.alpha == 0.0f) return;
  thread_local std::vector<float> apack, bpack;
  apack.resize(MC * KC);
  bpack.resize(KC * ((NC + NR - 1) / NR) * NR);
  float acc[MR * NR];
  const MicroKernel kernel = current_isa()->kernel;
  for (int64_t j0 = 0; j0 < g.N; j0 += NC) {
    const int64_t nc = std::min(NC, g.N - j0);
    for (int64_t k0 = 0; k0 < g.K; k0 += KC) {
      const int64_t kc = std::min(KC, g.K - k0);
      pack_b(g, k0, kc, j0, nc, bpack.data());
      for (int64_t i0 = 0; i0 < g.M; i0 += MC) {
        const int64_t mc = std::min(MC, g.M - i0);
        pack_a(g, i0, mc, k0, kc, apack.data());
        for (int64_t js = 0; js < nc; js += NR) {
          const int64_t cols = std::min(NR, nc - js);
          for (int64_t is = 0; is < mc; is += MR) {
            const int64_t rows = std::min(MR, mc - is);
            kernel(kc, apack.data() + is * kc, bpack.data() + js * kc, acc);
            for (int64_t r = 0; r < rows; ++r) {
              float* c = g.C + (i0 + is + r) * g.ldc + j0 + js;
              for (int64_t q = 0; q < cols; ++q) c[q] += g.alpha * acc[r * NR + q];
            }
          }
        }
      }
    }
  }
}

void gemm(const GemmArgs& g) {
#ifdef RETORT_WITH_OPENBLAS
  static const bool pinned = (blas_single_threaded(), true);
  (void)pinned;
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0) {
    scale_c(g);
    return;
  }
  cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(g.M), static_cast<blasint>(g.N), static_cast<blasint>(g.K), g.alpha, g.A,
              static_cast<blasint>(g.lda), g.B, static_cast<blasint>(g.ldb), g.beta, g.C,
              static_cast<blasint>(g.ldc));
#else
  gemm_builtin(g);
#endif
}

void gemm_parallel(const GemmArgs& g) {
  const int threads = num_threads();
  const double flops = 2.0 * g.M * g.N * g.K;
  if (threads <= 1 || flops < 2e6 || in_parallel_region()) return gemm(g);
  if (g.M >= g.N) {
    parallel_for(0, g.M, 1, [&](int64_t lo, int64_t hi) {
      GemmArgs s = g;
      s.M = hi - lo;
      s.A = g.trans_a ? g.A + lo : g.A + lo * g.lda;
      s.C = g.C + lo * g.ldc;
      gemm(s);
    });
  } else {
    parallel_for(0, g.N, 1, [&](int64_t lo, int64_t hi) {
      GemmArgs s = g;
      s.N = hi - lo;
      s.B = g.trans_b ? g.B + lo * g.ldb : g.B + lo;
      s.C = g.C + lo;
      gemm(s);
    });
  }
}

const char* gemm_builtin_isa() { return current_isa()->name; }

bool gemm_builtin_isa_supported(const char* name) {
  for (const Isa& i : kIsas)
    if (std::strcmp(i.name, name) == 0) return i.supported();
  return false;
}

void set_gemm_builtin_isa(const char* name) {
  for (const Isa& i : kIsas)
    if (std::strcmp(i.name, name) == 0 && i.supported()) {
      current_isa() = &i;
      return;
    }
  RETORT_FAIL("built-in GEMM: expected a kernel this CPU runs (avx512, avx2 or portable), found '" << name << "'");
}

const char* gemm_backend() {
#ifdef RETORT_WITH_OPENBLAS
  return "openblas";
#else
  return "builtin";
#endif
}

void blas_single_threaded() {
#ifdef RETORT_WITH_OPENBLAS
  openblas_set_num_threads(1);
#endif
}

const char* blas_better_coretype() {
#if defined(RETORT_WITH_OPENBLAS) && defined(__x86_64__)
  const std::string core = openblas_get_corename();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Penryn" || core == "Nehalem" ||
                       core == "Unknown" || core == "Katmai" || core == "Northwood";
  if (!generic) return nullptr;
  // OpenBLAS's SkylakeX kernels use AVX-512 VL/BW/DQ (Xeon Phi has only F).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

}  // namespace cpu
}  // namespace retort
