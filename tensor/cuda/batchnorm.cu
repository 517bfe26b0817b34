// Batch norm on the device with the CPU's semantics (tensor/ops/batchnorm.cpp):
// statistics in double, here in two passes (the mean, then the squares around
// it; the CPU takes one pass of sums around a pivot, bandwidth being scarcer
// there), one
// block per channel reducing in launch.cuh's fixed order; the per-channel
// arithmetic and the element-wise passes are the bodies of
// tensor/kernels/batchnorm.h. x is [M, C], channels last.
#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.cuh"
#include "tensor/kernels/batchnorm.h"

namespace retort {
namespace cuda {

namespace {

// Statistics of channel c, running averages, and the apply coefficients.
__global__ void bn_stats_kernel(const float* x, const float* gamma, float* running_mean, float* running_var,
                                float* center, float* scale, float* save_mean, float* save_invstd, int64_t M,
                                int64_t C, double momentum, double eps) {
  const int64_t lane = threadIdx.x, lanes = blockDim.x;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const double mean = block_reduce(bn_lane_sum(x, M, C, c, lane, lanes), SumOp{}) / static_cast<double>(M);
    const double var =
        block_reduce(bn_lane_centered_square(x, mean, M, C, c, lane, lanes), SumOp{}) / static_cast<double>(M);
    if (threadIdx.x == 0) {
      const BnTrainChannel r = bn_train_channel(mean, var, M, gamma[c], momentum, eps, running_mean[c], running_var[c]);
      center[c] = r.center;
      scale[c] = r.scale;
      save_mean[c] = r.save_mean;
      save_invstd[c] = r.save_invstd;
    }
  }
}

__global__ void bn_eval_scale_kernel(const float* gamma, const float* running_var, float* scale, int64_t C,
                                     double eps) {
  RETORT_GRID_STRIDE(c, C) scale[c] = bn_eval_scale(gamma[c], running_var[c], eps);
}

__global__ void bn_invstd_kernel(const float* var, float* invstd, int64_t C, double eps) {
  RETORT_GRID_STRIDE(c, C) invstd[c] = bn_eval_invstd(var[c], eps);
}

__global__ void bn_apply_kernel(const float* x, const float* mean, const float* scale, const float* shift, float* y,
                                int64_t C, int64_t total, bool relu) {
  RETORT_GRID_STRIDE(e, total) {
    const int64_t c = e % C;
    y[e] = bn_apply(x[e], mean[c], scale[c], shift[c], relu);
  }
}

// Gradient sums of channel c and its coefficients: dgamma, dbeta and (k, mean_dy, c2) for the input gradient.
__global__ void bn_grad_sums_kernel(const float* dy, const float* x, const float* relu_y, const float* gamma,
                                    const float* mean, const float* invstd, bool batch_stats, float* dgamma,
                                    float* dbeta, float* coef, int64_t M, int64_t C) {
  const int64_t lane = threadIdx.x, lanes = blockDim.x;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double sum_dy, sum_dy_xmu;
    bn_lane_grad_sums(dy, x, relu_y, mean[c], M, C, c, lane, lanes, sum_dy, sum_dy_xmu);
    sum_dy = block_reduce(sum_dy, SumOp{});
    sum_dy_xmu = block_reduce(sum_dy_xmu, SumOp{});
    if (threadIdx.x == 0) {
      const BnGradChannel r = bn_grad_channel(sum_dy, sum_dy_xmu, gamma[c], invstd[c], M, batch_stats);
      dgamma[c] = r.dgamma;
      dbeta[c] = r.dbeta;
      coef[c] = r.k;
      coef[C + c] = r.mean_dy;
      coef[2 * C + c] = r.c2;
    }
  }
}

__global__ void bn_input_grad_kernel(const float* dy, const float* x, const float* relu_y, const float* mean,
                                     const float* coef, float* dx, int64_t C, int64_t total) {
  RETORT_GRID_STRIDE(e, total) {
    const int64_t c = e % C;
    dx[e] = bn_input_grad(bn_masked_grad(dy, relu_y, e), x[e], mean[c], coef[c], coef[C + c], coef[2 * C + c]);
  }
}

}  // namespace

void batch_norm_train(const float* x, const float* gamma, const float* beta, float* running_mean, float* running_var,
                      float* y, float* save_mean, float* save_invstd, int64_t M, int64_t C, double momentum,
                      double eps, bool relu, int device) {
  DeviceGuard guard(device);
  Workspace coef(device, static_cast<size_t>(2 * C) * sizeof(float));
  float* center = static_cast<float*>(coef.data());
  float* scale = center + C;
  bn_stats_kernel<<<row_blocks(C), kReduceThreads, 0, stream(device)>>>(x, gamma, running_mean, running_var, center,
                                                                         scale, save_mean, save_invstd, M, C,
                                                                         momentum, eps);
  RETORT_CUDA_LAUNCH_CHECK("bn_stats_kernel");
  const int64_t total = M * C;
  bn_apply_kernel<<<grid_for(total), 256, 0, stream(device)>>>(x, center, scale, beta, y, C, total, relu);
  RETORT_CUDA_LAUNCH_CHECK("bn_apply_kernel");
}

void batch_norm_eval(const float* x, const float* gamma, const float* beta, const float* running_mean,
                     const float* running_var, float* y, int64_t M, int64_t C, double eps, bool relu, int device) {
  DeviceGuard guard(device);
  if (C == 0) return;
  Workspace scale_ws(device, static_cast<size_t>(C) * sizeof(float));
  float* scale = static_cast<float*>(scale_ws.data());
  bn_eval_scale_kernel<<<grid_for(C), 256, 0, stream(device)>>>(gamma, running_var, scale, C, eps);
  RETORT_CUDA_LAUNCH_CHECK("bn_eval_scale_kernel");
  const int64_t total = M * C;
  bn_apply_kernel<<<grid_for(total), 256, 0, stream(device)>>>(x, running_mean, scale, beta, y, C, total, relu);
  RETORT_CUDA_LAUNCH_CHECK("bn_apply_kernel");
}

void batch_norm_invstd(const float* var, float* invstd, int64_t C, double eps, int device) {
  DeviceGuard guard(device);
  bn_invstd_kernel<<<grid_for(C), 256, 0, stream(device)>>>(var, invstd, C, eps);
  RETORT_CUDA_LAUNCH_CHECK("bn_invstd_kernel");
}

void batch_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean, const float* invstd,
                         const float* relu_y, bool batch_stats, float* dx, float* dgamma, float* dbeta, int64_t M,
                         int64_t C, int device) {
  DeviceGuard guard(device);
  if (C == 0) return;
  Workspace coef_ws(device, static_cast<size_t>(3 * C) * sizeof(float));
  float* coef = static_cast<float*>(coef_ws.data());
  bn_grad_sums_kernel<<<row_blocks(C), kReduceThreads, 0, stream(device)>>>(dy, x, relu_y, gamma, mean, invstd,
                                                                             batch_stats, dgamma, dbeta, coef, M, C);
  RETORT_CUDA_LAUNCH_CHECK("bn_grad_sums_kernel");
  const int64_t total = M * C;
  bn_input_grad_kernel<<<grid_for(total), 256, 0, stream(device)>>>(dy, x, relu_y, mean, coef, dx, C, total);
  RETORT_CUDA_LAUNCH_CHECK("bn_input_grad_kernel");
}

}  // namespace cuda
}  // namespace retort
