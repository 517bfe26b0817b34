// cuBLAS, loaded on first use. Linking libcublas made every process of a CUDA
// build map libcublasLt and its initialised data at start-up: 150 MiB of
// resident memory before the first op, also in runs that never touch a GPU.
// The five entry points retort calls are looked up in libcublas.so.<major of
// the headers> when the first GPU context (or `retort info`) needs them; a
// missing library or symbol is a retort::Error naming it.
#pragma once
#include <cublas_v2.h>

namespace retort {
namespace cuda {
namespace cublas {

cublasStatus_t create(cublasHandle_t* handle);
cublasStatus_t set_stream(cublasHandle_t handle, cudaStream_t stream);
cublasStatus_t set_math_mode(cublasHandle_t handle, cublasMath_t mode);
cublasStatus_t sgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                     const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta, float* C,
                     int ldc);
cublasStatus_t get_property(libraryPropertyType type, int* value);

}  // namespace cublas
}  // namespace cuda
}  // namespace retort
