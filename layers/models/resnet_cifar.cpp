#include "layers/models/resnet_cifar.h"

#include "layers/init.h"
#include "layers/models/common.h"
#include "layers/models/resnet_blocks.h"

namespace retort {
namespace layers {

namespace {

class ResNetCifar : public Model {
 public:
  ResNetCifar(const std::string& name, int depth, bool x4, const ModelConfig& config)
      : Model(name, config, x4 ? 256 : 64, "fc") {
    RETORT_CHECK(depth >= 8 && (depth - 2) % 6 == 0, name << ": depth must be 6n + 2, found " << depth);
    const int n = (depth - 2) / 6;
    const int64_t w0 = x4 ? 32 : 16;
    const int64_t widths[3] = {x4 ? 64 : 16, x4 ? 128 : 32, x4 ? 256 : 64};
    Generator gen(config.seed);
    const DeferConvInit deferred;  // every convolution is re-initialised below
    conv1 = register_module("conv1", std::make_shared<Conv2d>(config.in_channels, w0, 3, ConvOptions{1, 1}, gen));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(w0));
    int64_t in = w0;
    for (int s = 0; s < 3; ++s) {
      auto stage = std::make_shared<Sequential>();
      for (int i = 0; i < n; ++i) {
        auto block = std::make_shared<BasicBlock>(in, widths[s], (i == 0 && s > 0) ? 2 : 1, "downsample", gen);
        stage->push_back(block);
        blocks[s].push_back(block);
        in = widths[s];
      }
      register_module("layer" + std::to_string(s + 1), stage);
    }
    fc = register_module("fc", std::make_shared<Linear>(in, config.num_classes, true, gen));
    // Kaiming normal (fan_out) for convolutions; BN weight 1, bias 0; default linear init.
    for (auto& p : named_parameters())
      if (p.second.ndim() == 4) {
        Tensor w = p.second.value();
        kaiming_normal_fan_out(w, gen);
      }
  }

  Variable forward_taps(const Variable& x, Taps* taps) override {
    check_input(x);
    Variable h = bn1->forward_relu((*conv1)(x));
    if (taps) taps->add("f0", h);
    for (int s = 0; s < 3; ++s) {
      Variable pre;
      h = run_stage(blocks[s], h, taps ? &pre : nullptr);
      if (taps) {
        taps->add("f" + std::to_string(s + 1), h);
        taps->add("preact" + std::to_string(s + 1), pre);
      }
    }
    // The reference's 8x8 average pool is a global mean at 32x32 (MODELS.md section 1.1).
    Variable pooled = autograd::reshape(autograd::adaptive_avg_pool2d(h, 1, 1), {h.size(0), h.size(3)});
    if (taps) taps->add("pooled", pooled);
    return (*fc)(pooled);
  }

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::vector<std::shared_ptr<BasicBlock>> blocks[3];
  std::shared_ptr<Linear> fc;
};

}  // namespace

std::unique_ptr<Model> make_resnet_cifar(const std::string& name, int depth, bool x4, const ModelConfig& config) {
  return std::make_unique<ResNetCifar>(name, depth, x4, config);
}

}  // namespace layers
}  // namespace retort
