// Batch norm with PyTorch semantics on channels-last tensors: the channel is the
// last dimension, statistics run over all other positions (M = numel / C).
#include <cmath>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

namespace {

int64_t check_params(const Tensor& x, const std::vector<std::pair<const Tensor*, const char*>>& params, const char* op) {
  require_f32(x, op, "x");
  require_cpu_kernel(x, op);
  RETORT_CHECK(x.ndim() >= 1, op << ": expected x [..., C], found " << x.shape());
  const int64_t C = x.size(-1);
  for (const auto& p : params) {
    require_f32(*p.first, op, p.second);
    RETORT_CHECK(p.first->ndim() == 1 && p.first->size(0) == C,
                 op << ": expected " << p.second << " [" << C << "] for x " << x.shape() << ", found "
                    << p.first->shape());
    RETORT_CHECK(p.first->is_contiguous(), op << ": expected a contiguous " << p.second);
  }
  return C;
}

Tensor from_doubles(const std::vector<double>& v) {
  Tensor t = empty(Shape{static_cast<int64_t>(v.size())});
  float* p = t.data<float>();
  for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<float>(v[i]);
  return t;
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
  std::vector<double> mean(C), var(C), invstd(C);
  cpu::batch_norm_stats(cx.data<float>(), M, C, mean.data(), var.data());
  std::vector<float> center(C), scale(C);
  const float* g = gamma.data<float>();
  const float* b = beta.data<float>();
  float* rm = running_mean.data<float>();
  float* rv = running_var.data<float>();
  const double unbias = static_cast<double>(M) / static_cast<double>(M - 1);
  for (int64_t c = 0; c < C; ++c) {
    invstd[c] = 1.0 / std::sqrt(var[c] + eps);
    center[c] = static_cast<float>(mean[c]);
    scale[c] = static_cast<float>(g[c] * invstd[c]);
    rm[c] = static_cast<float>((1.0 - momentum) * rm[c] + momentum * mean[c]);
    rv[c] = static_cast<float>((1.0 - momentum) * rv[c] + momentum * var[c] * unbias);
  }
  running_mean.bump_version();
  running_var.bump_version();
  BatchNormOutput out{empty(x.shape()), from_doubles(mean), from_doubles(invstd)};
  cpu::batch_norm_apply(cx.data<float>(), center.data(), scale.data(), b, out.y.data<float>(), M, C, relu);
  return out;
}

Tensor batch_norm_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                       const Tensor& running_var, double eps, bool relu) {
  RETORT_PROFILE_OP("batch_norm_eval");
  const int64_t C = check_params(
      x, {{&gamma, "gamma"}, {&beta, "beta"}, {&running_mean, "running_mean"}, {&running_var, "running_var"}},
      "batch_norm_eval");
  const Tensor cx = x.contiguous();
  std::vector<float> scale(C);
  const float *g = gamma.data<float>(), *b = beta.data<float>();
  const float *rm = running_mean.data<float>(), *rv = running_var.data<float>();
  for (int64_t c = 0; c < C; ++c) scale[c] = static_cast<float>(g[c] / std::sqrt(static_cast<double>(rv[c]) + eps));
  Tensor y = empty(x.shape());
  cpu::batch_norm_apply(cx.data<float>(), rm, scale.data(), b, y.data<float>(), C > 0 ? x.numel() / C : 0, C, relu);
  return y;
}

namespace {

// Gradients for y = gamma * (x - mean) * invstd + beta. With `batch_stats`, mean
// and invstd are functions of x (training); otherwise constants (evaluation).
BatchNormGrads bn_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const std::vector<float>& mean,
                           const std::vector<float>& invstd, bool batch_stats, const Tensor& relu_y, const char* op) {
  require_f32(dy, op, "dy");
  require_same_shape(dy, x, op);
  const int64_t C = x.size(-1), M = C > 0 ? x.numel() / C : 0;
  const Tensor cdy = dy.contiguous(), cx = x.contiguous();
  Tensor cry;
  if (relu_y.defined()) {
    require_f32(relu_y, op, "relu_y");
    require_same_shape(relu_y, x, op);
    cry = relu_y.contiguous();
  }
  const float* ry = cry.defined() ? cry.data<float>() : nullptr;
  std::vector<double> sum_dy(C), sum_dy_xmu(C);
  cpu::batch_norm_reduce_grad(cdy.data<float>(), cx.data<float>(), mean.data(), M, C, sum_dy.data(),
                              sum_dy_xmu.data(), ry);
  BatchNormGrads r{empty(x.shape()), empty(Shape{C}), empty(Shape{C})};
  std::vector<float> k(C), mean_dy(C, 0.0f), c2(C, 0.0f);
  const float* g = gamma.data<float>();
  for (int64_t c = 0; c < C; ++c) {
    r.dgamma.data<float>()[c] = static_cast<float>(sum_dy_xmu[c] * invstd[c]);
    r.dbeta.data<float>()[c] = static_cast<float>(sum_dy[c]);
    k[c] = g[c] * invstd[c];
    if (batch_stats) {
      mean_dy[c] = static_cast<float>(sum_dy[c] / M);
      c2[c] = static_cast<float>(sum_dy_xmu[c] / M * invstd[c] * invstd[c]);
    }
  }
  cpu::batch_norm_input_grad(cdy.data<float>(), cx.data<float>(), mean.data(), k.data(), mean_dy.data(), c2.data(),
                             r.dx.data<float>(), M, C, ry);
  return r;
}

}  // namespace

BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& save_mean,
                                   const Tensor& save_invstd, const Tensor& relu_y) {
  RETORT_PROFILE_OP("batch_norm_backward");
  check_params(x, {{&gamma, "gamma"}, {&save_mean, "save_mean"}, {&save_invstd, "save_invstd"}},
               "batch_norm_backward");
  return bn_backward(dy, x, gamma, save_mean.to_vector<float>(), save_invstd.to_vector<float>(), true, relu_y,
                     "batch_norm_backward");
}

BatchNormGrads batch_norm_eval_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                        const Tensor& running_mean, const Tensor& running_var, double eps,
                                        const Tensor& relu_y) {
  RETORT_PROFILE_OP("batch_norm_eval_backward");
  const int64_t C = check_params(x, {{&gamma, "gamma"}, {&running_mean, "running_mean"}, {&running_var, "running_var"}},
                                 "batch_norm_eval_backward");
  std::vector<float> invstd(C);
  const float* rv = running_var.data<float>();
  for (int64_t c = 0; c < C; ++c) invstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rv[c]) + eps));
  return bn_backward(dy, x, gamma, running_mean.to_vector<float>(), invstd, false, relu_y,
                     "batch_norm_eval_backward");
}

}  // namespace ops
}  // namespace retort
