// RETORT_HD marks code shared by the CPU and the CUDA backend: __host__
// __device__ under nvcc, plain inline otherwise. Shared bodies are trivially
// copyable functors and "compute element i from a POD params struct" functions,
// so the CPU tests exercise the math and index arithmetic the GPU runs.
#pragma once

#if defined(__CUDACC__)
#define RETORT_HD __host__ __device__ __forceinline__
#else
#define RETORT_HD inline
#endif
