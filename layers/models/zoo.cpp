#include "layers/models/zoo.h"

#include "layers/models/mobilenetv1.h"
#include "layers/models/mobilenetv2.h"
#include "layers/models/resnet_cifar.h"
#include "layers/models/resnet_imagenet.h"
#include "layers/models/resnet_kuangliu.h"
#include "layers/models/shufflenetv1.h"
#include "layers/models/shufflenetv2.h"
#include "layers/models/vgg.h"
#include "layers/models/wrn.h"
#include "tensor/text.h"

namespace retort {
namespace layers {

namespace {

ZooEntry resnet(const std::string& name, int depth, bool x4) {
  return {name, "CIFAR ResNet", 32,
          [name, depth, x4](const ModelConfig& c) { return make_resnet_cifar(name, depth, x4, c); }};
}

ZooEntry wrn(const std::string& name, int depth, int widen) {
  return {name, "WRN", 32, [name, depth, widen](const ModelConfig& c) { return make_wrn(name, depth, widen, c); }};
}

ZooEntry vgg(const std::string& name, int depth) {
  return {name, "VGG-BN", 32, [name, depth](const ModelConfig& c) { return make_vgg(name, depth, c); }};
}

ZooEntry resnet_kuangliu(const std::string& name, int depth) {
  return {name, "CIFAR ResNet (kuangliu)", 32,
          [name, depth](const ModelConfig& c) { return make_resnet_kuangliu(name, depth, c); }};
}

ZooEntry resnet_imagenet(const std::string& name, int depth) {
  return {name, "ImageNet ResNet", 224,
          [name, depth](const ModelConfig& c) { return make_resnet_imagenet(name, depth, c); }};
}

template <class Make>
ZooEntry single(const std::string& name, const std::string& family, int64_t input_size, Make make) {
  return {name, family, input_size, [name, make](const ModelConfig& c) { return make(name, c); }};
}

std::vector<ZooEntry> build_zoo() {
  return {
      resnet("resnet8", 8, false),     resnet("resnet14", 14, false),  resnet("resnet20", 20, false),
      resnet("resnet32", 32, false),   resnet("resnet44", 44, false),  resnet("resnet56", 56, false),
      resnet("resnet110", 110, false), resnet("resnet8x4", 8, true),   resnet("resnet32x4", 32, true),
      wrn("wrn_16_1", 16, 1),          wrn("wrn_16_2", 16, 2),         wrn("wrn_40_1", 40, 1),
      wrn("wrn_40_2", 40, 2),
      // Extra WRN teachers published by logit-standardization-KD (MODELS.md section 5.1).
      wrn("wrn_16_4", 16, 4),          wrn("wrn_28_2", 28, 2),         wrn("wrn_28_4", 28, 4),
      vgg("vgg8", 8),                  vgg("vgg11", 11),               vgg("vgg13", 13),
      vgg("vgg16", 16),                vgg("vgg19", 19),
      single("MobileNetV2", "MobileNetV2", 32, make_mobilenetv2_half),
      single("ShuffleV1", "ShuffleNetV1", 32, make_shufflenetv1),
      single("ShuffleV2", "ShuffleNetV2", 32, make_shufflenetv2),
      resnet_kuangliu("ResNet18", 18), resnet_kuangliu("ResNet50", 50),
      // ImageNet pairs: torchvision layouts, and mdistiller's MobileNetV1 student.
      resnet_imagenet("resnet18_imagenet", 18), resnet_imagenet("resnet34_imagenet", 34),
      resnet_imagenet("resnet50_imagenet", 50),
      single("MobileNetV1", "ImageNet MobileNetV1", 224, make_mobilenetv1),
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
