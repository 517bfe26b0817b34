#include "layers/models/resnet_kuangliu.h"

#include "layers/models/common.h"
#include "layers/models/resnet_blocks.h"

namespace retort {
namespace layers {

namespace {

class ResNetKuangliu : public Model {
 public:
  ResNetKuangliu(const std::string& name, int depth, const ModelConfig& config)
      : Model(name, config, depth == 50 ? 2048 : 512, "linear") {
    RETORT_CHECK(depth == 18 || depth == 50, name << ": depth must be 18 or 50, found " << depth);
    const bool bottleneck = depth == 50;
    const int counts[4] = {bottleneck ? 3 : 2, bottleneck ? 4 : 2, bottleneck ? 6 : 2, bottleneck ? 3 : 2};
    const int64_t expansion = bottleneck ? Bottleneck::kExpansion : BasicBlock::kExpansion;
    Generator gen(config.seed);
    const DeferConvInit deferred;  // every convolution is re-initialised below
    conv1 = register_module("conv1", std::make_shared<Conv2d>(config.in_channels, 64, 3, ConvOptions{1, 1}, gen));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(64));
    int64_t in = 64;
    for (int s = 0; s < 4; ++s) {
      const int64_t planes = int64_t(64) << s;
      auto stage = std::make_shared<Sequential>();
      for (int i = 0; i < counts[s]; ++i) {
        const int64_t stride = (i == 0 && s > 0) ? 2 : 1;
        std::shared_ptr<ResidualBlock> block;
        if (bottleneck)
          block = std::make_shared<Bottleneck>(in, planes, stride, "shortcut", gen);
        else
          block = std::make_shared<BasicBlock>(in, planes, stride, "shortcut", gen);
        stage->push_back(block);
        blocks[s].push_back(block);
        in = planes * expansion;
      }
      register_module("layer" + std::to_string(s + 1), stage);
    }
    linear = register_module("linear", std::make_shared<Linear>(in, config.num_classes, true, gen));
    // Kaiming normal (fan_out) for convolutions; BN weight 1, bias 0; default linear init.
    init_convs_kaiming(*this, gen);
  }

  Variable forward_taps(const Variable& x, Taps* taps) override {
    check_input(x);
    Variable h = bn1->forward_relu((*conv1)(x));
    if (taps) taps->add("f0", h);
    for (int s = 0; s < 4; ++s) {
      Variable pre;
      h = run_stage(blocks[s], h, taps ? &pre : nullptr);
      if (taps) {
        taps->add("f" + std::to_string(s + 1), h);
        taps->add("preact" + std::to_string(s + 1), pre);
      }
    }
    Variable pooled = global_mean(h);  // the reference's AdaptiveAvgPool2d((1, 1))
    if (taps) taps->add("pooled", pooled);
    return (*linear)(pooled);
  }

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::vector<std::shared_ptr<ResidualBlock>> blocks[4];
  std::shared_ptr<Linear> linear;
};

}  // namespace

std::unique_ptr<Model> make_resnet_kuangliu(const std::string& name, int depth, const ModelConfig& config) {
  return std::make_unique<ResNetKuangliu>(name, depth, config);
}

}  // namespace layers
}  // namespace retort
