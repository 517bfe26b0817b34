// VGG-BN for CIFAR, fully connected layers removed, as in RepDistiller
// models/vgg.py = mdistiller models/cifar/vgg.py (MODELS.md section 3.3): the
// zoo's vgg8, vgg11, vgg13, vgg16 and vgg19 are the batch-norm variants.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// [conv 3x3 with bias, BN, ReLU] per width, without the last ReLU (the model
// applies it, so the block's output is the stage's pre-activation): convs at
// sequence indices 0, 3, 6, ..., BNs at 1, 4, 7, ...
std::shared_ptr<Sequential> make_vgg_block(int64_t in, const std::vector<int64_t>& widths, Generator& gen);

// depth 8, 11, 13, 16 or 19 (configurations S, A, B, D, E).
std::unique_ptr<Model> make_vgg(const std::string& name, int depth, const ModelConfig& config);

}  // namespace layers
}  // namespace retort
