// Batch norm bodies on x viewed as [M, C] (channels last), shared by both
// backends: the per-channel arithmetic between the reductions (statistics ->
// scale, running averages; gradient sums -> coefficients), the element-wise
// passes, and the lane partials of the GPU's per-channel block reductions.
// The precision follows tensor/cpu/batchnorm.cpp and tensor/ops/batchnorm.cpp:
// sums in double, mean and variance in double, the apply passes in float.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/hd.h"

namespace retort {

// What training keeps per channel: the float centre and scale of the apply
// pass, and the saved mean and 1/sqrt(var + eps) for the backward pass.
struct BnTrainChannel {
  float center, scale, save_mean, save_invstd;
};

// From the biased batch statistics of a channel (M values): the apply
// coefficients, and the running averages updated in place with the unbiased
// variance (PyTorch).
RETORT_HD BnTrainChannel bn_train_channel(double mean, double var_biased, int64_t M, float gamma, double momentum,
                                          double eps, float& running_mean, float& running_var) {
  const double invstd = 1.0 / sqrt(var_biased + eps);
  const double unbias = static_cast<double>(M) / static_cast<double>(M - 1);
  running_mean = static_cast<float>((1.0 - momentum) * running_mean + momentum * mean);
  running_var = static_cast<float>((1.0 - momentum) * running_var + momentum * var_biased * unbias);
  BnTrainChannel r{static_cast<float>(mean), static_cast<float>(gamma * invstd), static_cast<float>(mean),
                   static_cast<float>(invstd)};
  return r;
}

// Evaluation: scale = gamma / sqrt(running_var + eps), and the plain 1/sqrt for the backward pass.
RETORT_HD float bn_eval_scale(float gamma, float running_var, double eps) {
  return static_cast<float>(gamma / sqrt(static_cast<double>(running_var) + eps));
}
RETORT_HD float bn_eval_invstd(float running_var, double eps) {
  return static_cast<float>(1.0 / sqrt(static_cast<double>(running_var) + eps));
}

// y = (x - mean)*scale + shift, then ReLU when fused (the shared functor keeps
// the unfused pair's bits and NaN rule).
RETORT_HD float bn_apply(float x, float mean, float scale, float shift, bool relu) {
  const float v = (x - mean) * scale + shift;
  return relu ? fn::Relu{}(v) : v;
}

// dy at one position, masked by ReLU's backward when relu_y (the fused output) is given.
RETORT_HD float bn_masked_grad(const float* dy, const float* relu_y, int64_t at) {
  return relu_y == nullptr ? dy[at] : fn::ReluBackward{}(dy[at], relu_y[at]);
}

// Per-channel backward coefficients from sum dy and sum dy*(x - mean). With
// batch statistics, mean and invstd depend on x and contribute the mean_dy and
// c2 terms; with running statistics they are constants (mean_dy = c2 = 0).
struct BnGradChannel {
  float dgamma, dbeta, k, mean_dy, c2;
};

RETORT_HD BnGradChannel bn_grad_channel(double sum_dy, double sum_dy_xmu, float gamma, float invstd, int64_t M,
                                        bool batch_stats) {
  BnGradChannel r{static_cast<float>(sum_dy_xmu * invstd), static_cast<float>(sum_dy), gamma * invstd, 0.0f, 0.0f};
  if (batch_stats) {
    r.mean_dy = static_cast<float>(sum_dy / M);
    r.c2 = static_cast<float>(sum_dy_xmu / M * invstd * invstd);
  }
  return r;
}

// dx = k*(dy - mean_dy - (x - mean)*c2) at one position (dy already masked).
RETORT_HD float bn_input_grad(float d, float x, float mean, float k, float mean_dy, float c2) {
  return k * (d - mean_dy - (x - mean) * c2);
}

// Lane partials of channel c over rows r = lane, lane + lanes, ... < M.
RETORT_HD double bn_lane_sum(const float* x, int64_t M, int64_t C, int64_t c, int64_t lane, int64_t lanes) {
  double acc = 0.0;
  for (int64_t r = lane; r < M; r += lanes) acc += x[r * C + c];
  return acc;
}

RETORT_HD double bn_lane_centered_square(const float* x, double mean, int64_t M, int64_t C, int64_t c, int64_t lane,
                                         int64_t lanes) {
  double acc = 0.0;
  for (int64_t r = lane; r < M; r += lanes) {
    const double d = x[r * C + c] - mean;
    acc += d * d;
  }
  return acc;
}

// sum dy and sum dy*(x - mean) (dy masked by relu_y when given), the float
// difference promoted as on the CPU.
RETORT_HD void bn_lane_grad_sums(const float* dy, const float* x, const float* relu_y, float mean, int64_t M,
                                 int64_t C, int64_t c, int64_t lane, int64_t lanes, double& sum_dy,
                                 double& sum_dy_xmu) {
  sum_dy = 0.0;
  sum_dy_xmu = 0.0;
  for (int64_t r = lane; r < M; r += lanes) {
    const float d = bn_masked_grad(dy, relu_y, r * C + c);
    sum_dy += d;
    sum_dy_xmu += static_cast<double>(d) * (x[r * C + c] - mean);
  }
}

}  // namespace retort
