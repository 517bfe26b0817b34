// ShuffleNet v2 x1, kuangliu-style, as in RepDistiller models/ShuffleNetv2.py
// = mdistiller models/cifar/ShuffleNetv2.py (MODELS.md section 3.6): zoo name
// `ShuffleV2`, out channels 116, 232, 464 -> 1024, basic blocks 3, 7, 3.
#pragma once
#include <memory>
#include <string>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// Split x into x1 = channels [0, C/2) and x2 = [C/2, C); b = ReLU(bn3(conv3(
// bn2(conv2(ReLU(bn1(conv1(x2)))))))) with conv1 1x1, conv2 depthwise 3x3,
// conv3 1x1; output shuffle2(concat[x1, b]).
class ShuffleV2BasicBlock : public Module {
 public:
  ShuffleV2BasicBlock(int64_t channels, Generator& gen);
  Variable forward(const Variable& x) override { return forward_preact(x, nullptr); }
  // *preact (when not null) receives concat[x1, bn3 output], not shuffled (MODELS.md section 4.2).
  Variable forward_preact(const Variable& x, Variable* preact);

  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
};

// shuffle2(concat[left, right]), mid = out/2: left = ReLU(bn2(conv2(bn1(conv1(x)))))
// with conv1 depthwise 3x3 stride 2, conv2 1x1 in -> mid; right =
// ReLU(bn5(conv5(bn4(conv4(ReLU(bn3(conv3(x)))))))) with conv3 1x1 in -> mid,
// conv4 depthwise 3x3 stride 2, conv5 1x1.
class ShuffleV2DownBlock : public Module {
 public:
  ShuffleV2DownBlock(int64_t in, int64_t out, Generator& gen);
  Variable forward(const Variable& x) override;

  std::shared_ptr<Conv2d> conv1, conv2, conv3, conv4, conv5;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3, bn4, bn5;
};

// The head keeps the reference's fixed 4x4 average pool (a global mean at
// 28x28 and 32x32 input): a head map of any other size is an Error naming the
// model and the input size, where the reference would feed its classifier a
// wrongly sized vector (64x64) or pool only part of the map.
std::unique_ptr<Model> make_shufflenetv2(const std::string& name, const ModelConfig& config);

}  // namespace layers
}  // namespace retort
