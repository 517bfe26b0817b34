// Post-activation residual blocks shared by three ResNet families: the CIFAR
// ResNets of fb.resnet.torch (MODELS.md section 3.1), kuangliu's CIFAR
// ResNet18/50 (section 3.7) and torchvision's ImageNet ResNets. The blocks are
// the same computation; only the projection shortcut's name differs:
// `downsample` (fb.resnet.torch, torchvision) or `shortcut` (kuangliu).
#pragma once
#include <memory>
#include <string>

#include "layers/layers.h"

namespace retort {
namespace layers {

// A residual block that can also report the input of its final ReLU.
class ResidualBlock : public Module {
 public:
  Variable forward(const Variable& x) override { return forward_preact(x, nullptr); }
  // Returns the block's output; *preact (when not null) receives the input of the final ReLU.
  virtual Variable forward_preact(const Variable& x, Variable* preact) = 0;

 protected:
  // conv 1x1 (stride) -> BN, registered under `name`, when stride != 1 or in != out.
  void make_projection(int64_t in, int64_t out, int64_t stride, const std::string& name, Generator& gen);
  Variable shortcut(const Variable& x) { return projection_ ? (*projection_)(x) : x; }

 private:
  std::shared_ptr<Sequential> projection_;
};

// conv1 3x3 (stride) -> bn1 -> ReLU -> conv2 3x3 -> bn2 -> + shortcut -> ReLU.
class BasicBlock : public ResidualBlock {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock(int64_t in, int64_t planes, int64_t stride, const std::string& shortcut_name, Generator& gen);
  Variable forward_preact(const Variable& x, Variable* preact) override;

  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
};

// conv1 1x1 -> bn1 -> ReLU -> conv2 3x3 (the stride is here, as in kuangliu's
// and torchvision's code) -> bn2 -> ReLU -> conv3 1x1 (4 * planes) -> bn3 -> + shortcut -> ReLU.
class Bottleneck : public ResidualBlock {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t in, int64_t planes, int64_t stride, const std::string& shortcut_name, Generator& gen);
  Variable forward_preact(const Variable& x, Variable* preact) override;

  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
};

}  // namespace layers
}  // namespace retort
