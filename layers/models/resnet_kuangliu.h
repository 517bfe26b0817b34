// kuangliu-style CIFAR ResNet18 and ResNet50 as in RepDistiller
// models/resnetv2.py = mdistiller models/cifar/resnetv2.py (MODELS.md section
// 3.7): a 3x3 stem without max-pool, four stages (maps 32, 16, 8, 4), the
// projection named `shortcut.0` / `shortcut.1`, an adaptive pool and `linear`.
#pragma once
#include <memory>
#include <string>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// depth 18 (BasicBlock, 2-2-2-2) or 50 (Bottleneck, 3-4-6-3).
std::unique_ptr<Model> make_resnet_kuangliu(const std::string& name, int depth, const ModelConfig& config);

}  // namespace layers
}  // namespace retort
