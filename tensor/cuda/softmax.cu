// Row softmax / log-softmax and cross-entropy on the device: one block per row;
// the lanes reduce the row maximum and sums in double (launch.cuh's fixed
// order), then write their columns with the bodies of tensor/kernels/softmax.h.
#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.cuh"
#include "tensor/kernels/softmax.h"

namespace retort {
namespace cuda {

namespace {

// The row's maximum of x/T and log sum exp(x/T - max), on every lane.
__device__ void row_logsumexp(const float* xr, int64_t cols, double T, double& m, double& lse) {
  const int64_t lane = threadIdx.x, lanes = blockDim.x;
  m = block_reduce(softmax_lane_max(xr, cols, T, lane, lanes), MaxOp{});
  lse = log(block_reduce(softmax_lane_expsum(xr, cols, T, m, lane, lanes), SumOp{}));
}

__global__ void softmax_kernel(const float* x, float* y, int64_t rows, int64_t cols, double T, bool log_out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    double m, lse;
    row_logsumexp(xr, cols, T, m, lse);
    for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) y[r * cols + k] = softmax_out(xr[k], T, m, lse, log_out);
  }
}

__global__ void softmax_backward_kernel(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols,
                                        double invT, bool log_out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* d = dy + r * cols;
    const float* yr = y + r * cols;
    const double s =
        block_reduce(softmax_backward_lane_sum(d, yr, cols, log_out, threadIdx.x, blockDim.x), SumOp{});
    for (int64_t k = threadIdx.x; k < cols; k += blockDim.x)
      dx[r * cols + k] = softmax_backward_out(d[k], yr[k], s, invT, log_out);
  }
}

// Per-row losses into row_loss (double), averaged by ce_mean_kernel.
__global__ void ce_rows_kernel(const float* logits, const int64_t* labels, int64_t rows, int64_t cols,
                               float smoothing, double* row_loss) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* z = logits + r * cols;
    double m, lse;
    row_logsumexp(z, cols, 1.0, m, lse);
    double sum_logp = 0.0;
    if (smoothing > 0.0f) sum_logp = block_reduce(ce_lane_sum_logp(z, cols, m, lse, threadIdx.x, blockDim.x), SumOp{});
    if (threadIdx.x == 0) row_loss[r] = ce_row_loss(z[labels[r]], m, lse, sum_logp, cols, smoothing);
  }
}

__global__ void ce_mean_kernel(const double* row_loss, int64_t rows, float* loss) {
  double v = 0.0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) v += row_loss[r];
  const double total = block_reduce(v, SumOp{});
  if (threadIdx.x == 0) loss[0] = static_cast<float>(total / static_cast<double>(rows));
}

__global__ void ce_backward_kernel(const float* logits, const int64_t* labels, int64_t rows, int64_t cols,
                                   float smoothing, double scale, float* dlogits) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* z = logits + r * cols;
    double m, lse;
    row_logsumexp(z, cols, 1.0, m, lse);
    const int64_t label = labels[r];
    for (int64_t k = threadIdx.x; k < cols; k += blockDim.x)
      dlogits[r * cols + k] = ce_grad(z[k], m, lse, k == label, smoothing, cols, scale);
  }
}

}  // namespace

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, float T, bool log, int device) {
  DeviceGuard guard(device);
  softmax_kernel<<<row_blocks(rows), kReduceThreads, 0, stream(device)>>>(x, y, rows, cols, T, log);
  RETORT_CUDA_LAUNCH_CHECK("softmax_kernel");
}

void softmax_backward_rows(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols, float T, bool log,
                           int device) {
  DeviceGuard guard(device);
  softmax_backward_kernel<<<row_blocks(rows), kReduceThreads, 0, stream(device)>>>(dy, y, dx, rows, cols, 1.0 / T,
                                                                                   log);
  RETORT_CUDA_LAUNCH_CHECK("softmax_backward_kernel");
}

void cross_entropy(const float* logits, const int64_t* labels, int64_t rows, int64_t cols, float smoothing,
                   float* loss, int device) {
  DeviceGuard guard(device);
  Workspace row_loss(device, static_cast<size_t>(rows) * sizeof(double));
  double* rl = static_cast<double*>(row_loss.data());
  ce_rows_kernel<<<row_blocks(rows), kReduceThreads, 0, stream(device)>>>(logits, labels, rows, cols, smoothing, rl);
  RETORT_CUDA_LAUNCH_CHECK("ce_rows_kernel");
  ce_mean_kernel<<<1, kReduceThreads, 0, stream(device)>>>(rl, rows, loss);
  RETORT_CUDA_LAUNCH_CHECK("ce_mean_kernel");
}

void cross_entropy_backward(const float* logits, const int64_t* labels, int64_t rows, int64_t cols, float smoothing,
                            float grad, float* dlogits, int device) {
  DeviceGuard guard(device);
  const double scale = static_cast<double>(grad) / static_cast<double>(rows);
  ce_backward_kernel<<<row_blocks(rows), kReduceThreads, 0, stream(device)>>>(logits, labels, rows, cols, smoothing,
                                                                              scale, dlogits);
  RETORT_CUDA_LAUNCH_CHECK("ce_backward_kernel");
}

}  // namespace cuda
}  // namespace retort
