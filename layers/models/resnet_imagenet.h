// ImageNet ResNet18, ResNet34 and ResNet50 in torchvision's layout and key
// names (conv1 7x7 s2 p3, bn1, max-pool 3x3 s2 p1, layer1..4 with
// `downsample.0` / `downsample.1`, fc), the teachers and student of the
// benchmark's ImageNet pairs (MODELS.md sections 3.9 and 6.2). ResNet50 has
// its stride on the 3x3 conv2, as torchvision's (and mdistiller's) code.
#pragma once
#include <memory>
#include <string>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// depth 18, 34 (BasicBlock) or 50 (Bottleneck).
std::unique_ptr<Model> make_resnet_imagenet(const std::string& name, int depth, const ModelConfig& config);

}  // namespace layers
}  // namespace retort
