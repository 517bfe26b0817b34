// Optimiser updates, one element at a time, shared by both backends. PyTorch's
// semantics: weight decay is added to the gradient before momentum (SGD) or
// applied to the weight directly (AdamW).
#pragma once
#include <cmath>

#include "tensor/kernels/hd.h"

namespace retort {

struct SgdParams {
  float lr, momentum, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer starts as the first gradient
};

// p, g, buf at one position; buf is only touched with momentum != 0.
RETORT_HD void sgd_step(const SgdParams& s, float& p, float g, float& buf) {
  float d = g + s.weight_decay * p;
  if (s.momentum != 0.0f) {
    buf = s.first_step ? d : s.momentum * buf + d;  // dampening 0
    d = s.nesterov ? d + s.momentum * buf : buf;
  }
  p -= s.lr * d;
}

struct AdamWParams {
  float lr, beta1, beta2, eps, weight_decay;
  float bias_correction1, bias_correction2_sqrt;  // 1 - beta1^t, sqrt(1 - beta2^t)
};

RETORT_HD void adamw_step(const AdamWParams& s, float& p, float g, float& m, float& v) {
  p *= 1.0f - s.lr * s.weight_decay;
  m = s.beta1 * m + (1.0f - s.beta1) * g;
  v = s.beta2 * v + (1.0f - s.beta2) * g * g;
  const float denom = sqrtf(v) / s.bias_correction2_sqrt + s.eps;
  p -= (s.lr / s.bias_correction1) * m / denom;
}

}  // namespace retort
