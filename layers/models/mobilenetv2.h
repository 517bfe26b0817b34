// MobileNetV2 x0.5 for CIFAR (zoo name `MobileNetV2`, constructor
// `mobile_half` = mobilenetv2_T_w(T = 6, W = 0.5)), from "Knowledge
// Distillation via Route Constrained Optimization", as in RepDistiller
// models/mobilenetv2.py = mdistiller models/cifar/mobilenetv2.py (MODELS.md
// section 3.4). ReLU, not ReLU6; the expansion conv exists even for t = 1.
#pragma once
#include <memory>
#include <string>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// conv = [0 conv 1x1 in -> in*t, 1 BN, 2 ReLU, 3 depthwise 3x3 (stride), 4 BN,
// 5 ReLU, 6 conv 1x1 in*t -> out, 7 BN]; the input is added when stride = 1 and in = out.
class InvertedResidual : public Module {
 public:
  InvertedResidual(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio, Generator& gen);
  Variable forward(const Variable& x) override;

  std::shared_ptr<Sequential> conv;
  bool use_residual;
};

std::unique_ptr<Model> make_mobilenetv2_half(const std::string& name, const ModelConfig& config);

}  // namespace layers
}  // namespace retort
