// The model zoo's name table: an explicit list (no static registration) from
// canonical zoo names (MODELS.md section 3.8) to factories.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/models/model.h"

namespace retort {
namespace layers {

struct ZooEntry {
  std::string name;    // canonical zoo name, e.g. "resnet32x4", "MobileNetV2"
  std::string family;  // e.g. "CIFAR ResNet", "ImageNet ResNet"
  int64_t input_size;  // default square input: 32 (CIFAR) or 224 (ImageNet)
  std::function<std::unique_ptr<Model>(const ModelConfig&)> make;
};

const std::vector<ZooEntry>& zoo();
// Throws Error naming the unknown model and the nearest known name.
const ZooEntry& find_model(const std::string& name);
std::unique_ptr<Model> make_model(const std::string& name, const ModelConfig& config = ModelConfig());

}  // namespace layers
}  // namespace retort
