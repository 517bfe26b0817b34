#include "layers/models/resnet_blocks.h"

#include "layers/models/common.h"

namespace retort {
namespace layers {

void ResidualBlock::make_projection(int64_t in, int64_t out, int64_t stride, const std::string& name, Generator& gen) {
  if (stride == 1 && in == out) return;
  projection_ = register_module(name, std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                          std::make_shared<Conv2d>(in, out, 1, ConvOptions{stride, 0}, gen),
                                          std::make_shared<BatchNorm2d>(out)}));
}

BasicBlock::BasicBlock(int64_t in, int64_t planes, int64_t stride, const std::string& shortcut_name, Generator& gen) {
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in, planes, 3, ConvOptions{stride, 1}, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, ConvOptions{1, 1}, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  make_projection(in, planes * kExpansion, stride, shortcut_name, gen);
}

Variable BasicBlock::forward_preact(const Variable& x, Variable* preact) {
  const Variable h = bn1->forward_relu((*conv1)(x));
  const Variable branch = (*bn2)((*conv2)(h));
  return residual_relu(branch, shortcut(x), preact);
}

Bottleneck::Bottleneck(int64_t in, int64_t planes, int64_t stride, const std::string& shortcut_name, Generator& gen) {
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in, planes, 1, ConvOptions{1, 0}, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, ConvOptions{stride, 1}, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  conv3 = register_module("conv3", std::make_shared<Conv2d>(planes, planes * kExpansion, 1, ConvOptions{1, 0}, gen));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(planes * kExpansion));
  make_projection(in, planes * kExpansion, stride, shortcut_name, gen);
}

Variable Bottleneck::forward_preact(const Variable& x, Variable* preact) {
  Variable h = bn1->forward_relu((*conv1)(x));
  h = bn2->forward_relu((*conv2)(h));
  const Variable branch = (*bn3)((*conv3)(h));
  return residual_relu(branch, shortcut(x), preact);
}

}  // namespace layers
}  // namespace retort
