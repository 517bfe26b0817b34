// Batch norm with PyTorch semantics on channels-last tensors: the channel is the
// last dimension, statistics run over all other positions (M = numel / C).
#include <cmath>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/kernels/batchnorm.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

namespace {

int64_t check_params(const Tensor& x, const std::vector<std::pair<const Tensor*, const char*>>& params, const char* op) {
  require_f32(x, op, "x");
  RETORT_CHECK(x.ndim() >= 1, op << ": expected x [..., C], found " << x.shape());
  const int64_t C = x.size(-1);
  for (const auto& p : params) {
    require_f32(*p.first, op, p.second);
    require_same_device(x, *p.first, op);
    RETORT_CHECK(p.first->ndim() == 1 && p.first->size(0) == C,
                 op << ": expected " << p.second << " [" << C << "] for x " << x.shape() << ", found "
                    << p.first->shape());
    RETORT_CHECK(p.first->is_contiguous(), op << ": expected a contiguous " << p.second);
  }
  return C;
}

}  // namespace

BatchNormOutput batch_norm_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                                 Tensor& running_var, double momentum, double eps, bool relu) {
  RETORT_PROFILE_OP("batch_norm_train");
  const int64_t C = check_params(
      x, {{&gamma, "gamma"}, {&beta, "beta"}, {&running_mean, "running_mean"}, {&running_var, "running_var"}},
      "batch_norm_train");
  const int64_t M = x.numel() / std::max<int64_t>(C, 1);
  RETORT_CHECK(M > 1, "batch_norm_train: expected more than 1 value per channel in training, found input "
                          << x.shape());
  const Tensor cx = x.contiguous();
  running_mean.bump_version();
  running_var.bump_version();
  const Device dev = x.device();
  BatchNormOutput out{empty(x.shape(), DType::F32, dev), empty(Shape{C}, DType::F32, dev),
                      empty(Shape{C}, DType::F32, dev)};
  if (dev.is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::batch_norm_train(cx.data<float>(), gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
                           running_var.data<float>(), out.y.data<float>(), out.save_mean.data<float>(),
                           out.save_invstd.data<float>(), M, C, momentum, eps, relu, dev.index);
#endif
    return out;
  }
  std::vector<double> mean(C), var(C);
  cpu::batch_norm_stats(cx.data<float>(), M, C, mean.data(), var.data());
  std::vector<float> center(C), scale(C);
  const float* g = gamma.data<float>();
  float* rm = running_mean.data<float>();
  float* rv = running_var.data<float>();
  float* save_mean = out.save_mean.data<float>();
  float* save_invstd = out.save_invstd.data<float>();
  for (int64_t c = 0; c < C; ++c) {
    const BnTrainChannel r = bn_train_channel(mean[c], var[c], M, g[c], momentum, eps, rm[c], rv[c]);
    center[c] = r.center;
    scale[c] = r.scale;
    save_mean[c] = r.save_mean;
    save_invstd[c] = r.save_invstd;
  }
  cpu::batch_norm_apply(cx.data<float>(), center.data(), scale.data(), beta.data<float>(), out.y.data<float>(), M, C,
                        relu);
  return out;
}

Tensor batch_norm_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                       const Tensor& running_var, double eps, bool relu) {
  RETORT_PROFILE_OP("batch_norm_eval");
  const int64_t C = check_params(
      x, {{&gamma, "gamma"}, {&beta, "beta"}, {&running_mean, "running_mean"}, {&running_var, "running_var"}},
      "batch_norm_eval");
  const Tensor cx = x.contiguous();
  const int64_t M = C > 0 ? x.numel() / C : 0;
  Tensor y = empty(x.shape(), DType::F32, x.device());
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::batch_norm_eval(cx.data<float>(), gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
                          running_var.data<float>(), y.data<float>(), M, C, eps, relu, x.device().index);
#endif
    return y;
  }
  std::vector<float> scale(C);
  const float *g = gamma.data<float>(), *rv = running_var.data<float>();
  for (int64_t c = 0; c < C; ++c) scale[c] = bn_eval_scale(g[c], rv[c], eps);
  cpu::batch_norm_apply(cx.data<float>(), running_mean.data<float>(), scale.data(), beta.data<float>(),
                        y.data<float>(), M, C, relu);
  return y;
}

namespace {

// Gradients for y = gamma * (x - mean) * invstd + beta. With `batch_stats`, mean
// and invstd ([C], on x's device) are functions of x (training); otherwise
// constants (evaluation).
BatchNormGrads bn_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                           const Tensor& invstd, bool batch_stats, const Tensor& relu_y, const char* op) {
  require_f32(dy, op, "dy");
  require_same_shape(dy, x, op);
  require_same_device(dy, x, op);
  const int64_t C = x.size(-1), M = C > 0 ? x.numel() / C : 0;
  const Tensor cdy = dy.contiguous(), cx = x.contiguous();
  Tensor cry;
  if (relu_y.defined()) {
    require_f32(relu_y, op, "relu_y");
    require_same_shape(relu_y, x, op);
    require_same_device(relu_y, x, op);
    cry = relu_y.contiguous();
  }
  const float* ry = cry.defined() ? cry.data<float>() : nullptr;
  const Device dev = x.device();
  BatchNormGrads r{empty(x.shape(), DType::F32, dev), empty(Shape{C}, DType::F32, dev),
                   empty(Shape{C}, DType::F32, dev)};
  if (dev.is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::batch_norm_backward(cdy.data<float>(), cx.data<float>(), gamma.data<float>(), mean.data<float>(),
                              invstd.data<float>(), ry, batch_stats, r.dx.data<float>(), r.dgamma.data<float>(),
                              r.dbeta.data<float>(), M, C, dev.index);
#endif
    return r;
  }
  const float* mu = mean.data<float>();
  std::vector<double> sum_dy(C), sum_dy_xmu(C);
  cpu::batch_norm_reduce_grad(cdy.data<float>(), cx.data<float>(), mu, M, C, sum_dy.data(), sum_dy_xmu.data(), ry);
  std::vector<float> k(C), mean_dy(C), c2(C);
  const float* g = gamma.data<float>();
  const float* is = invstd.data<float>();
  for (int64_t c = 0; c < C; ++c) {
    const BnGradChannel q = bn_grad_channel(sum_dy[c], sum_dy_xmu[c], g[c], is[c], M, batch_stats);
    r.dgamma.data<float>()[c] = q.dgamma;
    r.dbeta.data<float>()[c] = q.dbeta;
    k[c] = q.k;
    mean_dy[c] = q.mean_dy;
    c2[c] = q.c2;
  }
  cpu::batch_norm_input_grad(cdy.data<float>(), cx.data<float>(), mu, k.data(), mean_dy.data(), c2.data(),
                             r.dx.data<float>(), M, C, ry);
  return r;
}

}  // namespace

BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& save_mean,
                                   const Tensor& save_invstd, const Tensor& relu_y) {
  RETORT_PROFILE_OP("batch_norm_backward");
  check_params(x, {{&gamma, "gamma"}, {&save_mean, "save_mean"}, {&save_invstd, "save_invstd"}},
               "batch_norm_backward");
  return bn_backward(dy, x, gamma, save_mean, save_invstd, true, relu_y, "batch_norm_backward");
}

BatchNormGrads batch_norm_eval_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                        const Tensor& running_mean, const Tensor& running_var, double eps,
                                        const Tensor& relu_y) {
  RETORT_PROFILE_OP("batch_norm_eval_backward");
  const int64_t C = check_params(x, {{&gamma, "gamma"}, {&running_mean, "running_mean"}, {&running_var, "running_var"}},
                                 "batch_norm_eval_backward");
  Tensor invstd = empty(Shape{C}, DType::F32, x.device());
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::batch_norm_invstd(running_var.data<float>(), invstd.data<float>(), C, eps, x.device().index);
#endif
  } else {
    const float* rv = running_var.data<float>();
    for (int64_t c = 0; c < C; ++c) invstd.data<float>()[c] = bn_eval_invstd(rv[c], eps);
  }
  return bn_backward(dy, x, gamma, running_mean, invstd, false, relu_y, "batch_norm_eval_backward");
}

}  // namespace ops
}  // namespace retort
