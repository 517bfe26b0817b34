// CIFAR ResNets of fb.resnet.torch as in RepDistiller models/resnet.py
// (MODELS.md section 3.1): resnet8..110 (widths 16/16,32,64) and resnet8x4,
// resnet32x4 (32/64,128,256, with a projection already at layer1.0).
#pragma once
#include <memory>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// depth = 6n + 2; `x4` selects the wide variant.
std::unique_ptr<Model> make_resnet_cifar(const std::string& name, int depth, bool x4, const ModelConfig& config);

}  // namespace layers
}  // namespace retort
