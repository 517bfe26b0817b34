#include "layers/models/zoo.h"

#include "layers/models/resnet_cifar.h"
#include "tensor/text.h"

namespace retort {
namespace layers {

namespace {

ZooEntry resnet(const std::string& name, int depth, bool x4) {
  return {name, "CIFAR ResNet", 32,
          [name, depth, x4](const ModelConfig& c) { return make_resnet_cifar(name, depth, x4, c); }};
}

std::vector<ZooEntry> build_zoo() {
  return {
      resnet("resnet8", 8, false),     resnet("resnet14", 14, false),  resnet("resnet20", 20, false),
      resnet("resnet32", 32, false),   resnet("resnet44", 44, false),  resnet("resnet56", 56, false),
      resnet("resnet110", 110, false), resnet("resnet8x4", 8, true),   resnet("resnet32x4", 32, true),
  };
}

}  // namespace

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = build_zoo();
  return entries;
}

const ZooEntry& find_model(const std::string& name) {
  std::vector<std::string> names;
  for (const ZooEntry& e : zoo()) {
    if (e.name == name) return e;
    names.push_back(e.name);
  }
  RETORT_FAIL("unknown model '" << name << "'" << did_you_mean(name, names) << "; `retort models` lists them");
}

std::unique_ptr<Model> make_model(const std::string& name, const ModelConfig& config) {
  return find_model(name).make(config);
}

}  // namespace layers
}  // namespace retort
