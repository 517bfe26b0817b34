// Launch helpers of the CUDA kernels: the grid-stride loop and the block
// reduction whose order tensor/kernels/reduce.h defines (and the CPU tests replay).
#pragma once
#include <cuda_runtime.h>

#include "tensor/kernels/reduce.h"

// Element i of n for the calling thread, striding by the whole grid.
#define RETORT_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

namespace retort {
namespace cuda {

// Reduction kernels run with exactly this many threads per block (a power of two).
constexpr int kReduceThreads = 256;

// Combines one value per thread of the block with `op` in the fixed tree order
// (tree_step with half = 128, 64, ..., 1); every thread gets the result. All
// threads of the block must call it; it may be called repeatedly in a kernel.
template <class T, class Op> __device__ T block_reduce(T v, Op op) {
  __shared__ T partial[kReduceThreads];
  const int lane = static_cast<int>(threadIdx.x);
  __syncthreads();  // readers of the previous result are done
  partial[lane] = v;
  __syncthreads();
  for (int half = kReduceThreads / 2; half > 0; half >>= 1) {
    tree_step(partial, lane, half, op);
    __syncthreads();
  }
  return partial[0];
}

// Blocks for one-block-per-row kernels over `rows` rows (rows beyond the grid loop).
inline unsigned row_blocks(int64_t rows) {
  return static_cast<unsigned>(rows < 65535 ? (rows > 0 ? rows : 1) : 65535);
}

}  // namespace cuda
}  // namespace retort
