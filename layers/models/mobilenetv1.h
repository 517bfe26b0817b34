// The ImageNet MobileNetV1 that mdistiller uses as the ResNet50 student
// (MODELS.md sections 3.9 and 7.4; the DKD paper first called it
// "MobileNetV2"). Reconstructed from mdistiller's definition,
// megvii-research/mdistiller mdistiller/models/imagenet/mobilenetv1.py (commit
// fae6658): `model` is a Sequential of conv_bn(3, 32, 2) = [conv 3x3, BN, ReLU]
// and 13 conv_dw(in, out, s) = [depthwise 3x3 (s), BN, ReLU, conv 1x1, BN,
// ReLU], then AvgPool2d(7) (no parameters); the classifier is `fc`
// (1024 -> num_classes; mdistiller hard-codes 1000). Keys model.0.0.weight,
// model.0.1.*, model.{k}.0.weight, model.{k}.1.*, model.{k}.3.weight,
// model.{k}.4.*, fc.weight, fc.bias; 4,231,976 parameters at 1000 classes.
#pragma once
#include <memory>
#include <string>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// mdistiller sets no initialisation, so PyTorch's defaults apply (conv and
// linear U(-1/sqrt(fan_in), 1/sqrt(fan_in)), BN weight 1, bias 0). Taps follow
// mdistiller's feature list: f1..f4 after model.3, .5, .11, .13 (128, 256, 512,
// 1024 channels at strides 4, 8, 16, 32, aligned with the ResNets' f1..f4),
// preact1..preact4 the same points before their final ReLU, and pooled.
std::unique_ptr<Model> make_mobilenetv1(const std::string& name, const ModelConfig& config);

}  // namespace layers
}  // namespace retort
