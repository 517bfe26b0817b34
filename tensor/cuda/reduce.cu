// Reductions on the device: sums over the middle axis of [outer, n, inner],
// max with indices and its backward, the sum of all elements and the count of
// non-finite values. Sums run in double like the CPU's; block reductions use
// the fixed order of launch.cuh, so results repeat run to run.
#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.cuh"

namespace retort {
namespace cuda {

namespace {

// Rows of contiguous values (inner == 1): one block per row.
__global__ void sum_rows_kernel(const float* x, float* y, int64_t outer, int64_t n) {
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const double s = block_reduce(lane_sum(x + o * n, n, 1, threadIdx.x, blockDim.x), SumOp{});
    if (threadIdx.x == 0) y[o] = static_cast<float>(s);
  }
}

// Columns (inner > 1): one thread per output, reading coalesced across i.
__global__ void sum_columns_kernel(const float* x, float* y, int64_t n, int64_t inner, int64_t total) {
  RETORT_GRID_STRIDE(j, total) y[j] = sum_dim_element(x, n, inner, j);
}

__global__ void max_dim_kernel(const float* x, float* values, int64_t* indices, int64_t n, int64_t inner,
                               int64_t total) {
  RETORT_GRID_STRIDE(j, total) max_dim_element(x, n, inner, j, values, indices);
}

__global__ void max_backward_kernel(const float* dy, const int64_t* indices, float* dx, int64_t n, int64_t inner,
                                    int64_t total) {
  RETORT_GRID_STRIDE(j, total) max_backward_element(dy, indices, dx, n, inner, j);
}

// Two-stage whole-tensor reductions: kStageBlocks blocks write one partial
// each (lane t of the grid takes elements t, t + lanes, ...), then one block
// combines the partials. The split depends only on kStageBlocks: deterministic.
constexpr int kStageBlocks = 256;

__global__ void sum_partials_kernel(const float* x, int64_t n, double* partial) {
  const int64_t lanes = int64_t(gridDim.x) * blockDim.x, lane = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const double s = block_reduce(lane_sum(x, n, 1, lane, lanes), SumOp{});
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void sum_finish_kernel(const double* partial, int parts, double divisor, float* out) {
  double v = 0.0;
  for (int k = threadIdx.x; k < parts; k += blockDim.x) v += partial[k];
  const double s = block_reduce(v, SumOp{});
  if (threadIdx.x == 0) out[0] = static_cast<float>(s / divisor);
}

__global__ void nonfinite_partials_kernel(const float* x, int64_t n, int64_t* partial) {
  const int64_t lanes = int64_t(gridDim.x) * blockDim.x, lane = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t s = block_reduce(lane_count_nonfinite(x, n, lane, lanes), SumOp{});
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void count_finish_kernel(const int64_t* partial, int parts, int64_t* out) {
  int64_t v = 0;
  for (int k = threadIdx.x; k < parts; k += blockDim.x) v += partial[k];
  const int64_t s = block_reduce(v, SumOp{});
  if (threadIdx.x == 0) out[0] = s;
}

}  // namespace

void sum_dim(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, int device) {
  DeviceGuard guard(device);
  if (inner == 1 && n >= kReduceThreads) {
    sum_rows_kernel<<<row_blocks(outer), kReduceThreads, 0, stream(device)>>>(x, y, outer, n);
    RETORT_CUDA_LAUNCH_CHECK("sum_rows_kernel");
  } else {
    const int64_t total = outer * inner;
    sum_columns_kernel<<<grid_for(total), 256, 0, stream(device)>>>(x, y, n, inner, total);
    RETORT_CUDA_LAUNCH_CHECK("sum_columns_kernel");
  }
}

void max_dim(const float* x, float* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner, int device) {
  DeviceGuard guard(device);
  const int64_t total = outer * inner;
  max_dim_kernel<<<grid_for(total), 256, 0, stream(device)>>>(x, values, indices, n, inner, total);
  RETORT_CUDA_LAUNCH_CHECK("max_dim_kernel");
}

void max_backward(const float* dy, const int64_t* indices, float* dx, int64_t outer, int64_t n, int64_t inner,
                  int device) {
  DeviceGuard guard(device);
  RETORT_CUDA_CHECK(cudaMemsetAsync(dx, 0, static_cast<size_t>(outer * n * inner) * sizeof(float), stream(device)));
  const int64_t total = outer * inner;
  max_backward_kernel<<<grid_for(total), 256, 0, stream(device)>>>(dy, indices, dx, n, inner, total);
  RETORT_CUDA_LAUNCH_CHECK("max_backward_kernel");
}

void sum_all(const float* x, int64_t n, double divisor, float* out, int device) {
  DeviceGuard guard(device);
  Workspace partial(device, kStageBlocks * sizeof(double));
  double* p = static_cast<double*>(partial.data());
  sum_partials_kernel<<<kStageBlocks, kReduceThreads, 0, stream(device)>>>(x, n, p);
  RETORT_CUDA_LAUNCH_CHECK("sum_partials_kernel");
  sum_finish_kernel<<<1, kReduceThreads, 0, stream(device)>>>(p, kStageBlocks, divisor, out);
  RETORT_CUDA_LAUNCH_CHECK("sum_finish_kernel");
}

void count_nonfinite(const float* x, int64_t n, int64_t* out, int device) {
  DeviceGuard guard(device);
  Workspace partial(device, kStageBlocks * sizeof(int64_t));
  int64_t* p = static_cast<int64_t*>(partial.data());
  nonfinite_partials_kernel<<<kStageBlocks, kReduceThreads, 0, stream(device)>>>(x, n, p);
  RETORT_CUDA_LAUNCH_CHECK("nonfinite_partials_kernel");
  count_finish_kernel<<<1, kReduceThreads, 0, stream(device)>>>(p, kStageBlocks, out);
  RETORT_CUDA_LAUNCH_CHECK("count_finish_kernel");
}

}  // namespace cuda
}  // namespace retort
