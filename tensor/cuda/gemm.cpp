// cuBLAS GEMM for row-major operands by the operand swap: cuBLAS is
// column-major, and a row-major matrix with leading dimension ld is, read
// column-major, its transpose with the same ld. So row-major C = op(A) op(B)
// is column-major C^T = op(B)^T op(A)^T: cublasSgemm with B first, m = N,
// n = M, and the transpose flags of B and A unchanged.
#include "tensor/cuda/gemm.h"

#include <algorithm>
#include <climits>

#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/cublas_api.h"
#include "tensor/device.h"
#include "tensor/error.h"

namespace retort {
namespace cuda {

namespace {

int to_int(int64_t v, const char* name, const cpu::GemmArgs& g) {
  RETORT_CHECK(v >= 0 && v <= INT_MAX, "cuda gemm: expected " << name << " in [0, " << INT_MAX << "], found " << v
                                                              << " (M " << g.M << ", N " << g.N << ", K " << g.K
                                                              << ")");
  return static_cast<int>(v);
}

}  // namespace

void gemm(const cpu::GemmArgs& g, int device) {
  // Row-major op(A) is M x K, op(B) is K x N: the columns of the stored
  // matrices give the smallest leading dimension each may have.
  const int64_t a_cols = g.trans_a ? g.M : g.K, b_cols = g.trans_b ? g.K : g.N;
  RETORT_CHECK(g.lda >= a_cols && g.ldb >= b_cols && g.ldc >= g.N,
               "cuda gemm: expected lda >= " << a_cols << ", ldb >= " << b_cols << ", ldc >= " << g.N << ", found "
                                             << g.lda << ", " << g.ldb << ", " << g.ldc << " (M " << g.M << ", N "
                                             << g.N << ", K " << g.K << ")");
  if (g.M == 0 || g.N == 0) return;
  const int m = to_int(g.N, "N", g), n = to_int(g.M, "M", g), k = to_int(g.K, "K", g);
  // cuBLAS requires every leading dimension >= max(1, rows of the column-major
  // operand); with K == 0 an operand has no columns and nothing of it is read,
  // so 1 is as good as any (C = beta * C, as BLAS defines k == 0).
  const int lda = to_int(std::max<int64_t>(g.lda, 1), "lda", g);
  const int ldb = to_int(std::max<int64_t>(g.ldb, 1), "ldb", g);
  const int ldc = to_int(g.ldc, "ldc", g);
  DeviceGuard guard(device);
  const cublasHandle_t handle = context(device).cublas;
  // Per call, as the TF32 switch may change between calls: CUBLAS_DEFAULT_MATH
  // keeps FP32 GEMMs in FP32; CUBLAS_TF32_TENSOR_OP_MATH lets cuBLAS use TF32
  // tensor cores (what PyTorch does with allow_tf32).
  const cublasMath_t math = cuda_allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
  RETORT_CUBLAS_CHECK(cublas::set_math_mode(handle, math), "cuda:" << device);
  // alpha and beta are host scalars (the handle's default pointer mode).
  RETORT_CUBLAS_CHECK(cublas::sgemm(handle, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  m, n, k, &g.alpha, g.B, ldb, g.A, lda, &g.beta, g.C, ldc),
                      "row-major C [" << g.M << ", " << g.N << "] = op(A) op(B), K " << g.K << ", trans_a "
                                      << g.trans_a << ", trans_b " << g.trans_b << ", lda " << g.lda << ", ldb "
                                      << g.ldb << ", ldc " << g.ldc << ", alpha " << g.alpha << ", beta " << g.beta
                                      << " on cuda:" << device);
}

}  // namespace cuda
}  // namespace retort
