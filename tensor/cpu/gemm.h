// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, with
// op(X) = X or X^T. Through OpenBLAS when the build has it (pinned to one
// thread: retort parallelises around its calls), otherwise through the
// built-in blocked kernel, which is always compiled so tests compare the two.
#pragma once
#include <cstdint>

namespace retort {
namespace cpu {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t M = 0, N = 0, K = 0;
  float alpha = 1.0f;
  const float* A = nullptr;
  int64_t lda = 0;
  const float* B = nullptr;
  int64_t ldb = 0;
  float beta = 0.0f;  // 0 means C is overwritten and never read
  float* C = nullptr;
  int64_t ldc = 0;
};

// Single-threaded, through the configured backend.
void gemm(const GemmArgs& g);
// Single-threaded, always the built-in kernel.
void gemm_builtin(const GemmArgs& g);
// The micro-kernel of gemm_builtin: "avx512", "avx2" (with FMA) or
// "portable" (plain C++); the best this CPU runs unless set. It also picks the
// built-in convolution's tile kernels (conv_direct.h). Setting one the CPU
// lacks, or an unknown name, is an Error that changes nothing.
const char* gemm_builtin_isa();
bool gemm_builtin_isa_supported(const char* name);
void set_gemm_builtin_isa(const char* name);
// Splits the rows (or, for few rows, the columns) of C across the thread team.
void gemm_parallel(const GemmArgs& g);

// "openblas" or "builtin".
const char* gemm_backend();
// Makes the BLAS run each call on the calling thread (no-op without a BLAS).
void blas_single_threaded();
// The OPENBLAS_CORETYPE that would suit this CPU when the BLAS did not
// recognise it and fell back to an SSE3 kernel (OpenBLAS 0.3.21 does so on
// Sapphire Rapids, 1.6x slower); nullptr when the BLAS chose well. OpenBLAS
// reads the variable only when it loads, so the binary re-executes itself.
const char* blas_better_coretype();

}  // namespace cpu
}  // namespace retort
