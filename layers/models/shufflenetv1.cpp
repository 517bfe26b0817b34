#include "layers/models/shufflenetv1.h"

#include "layers/models/common.h"

namespace retort {
namespace layers {

ShuffleV1Unit::ShuffleV1Unit(int64_t in, int64_t out, int64_t stride, int64_t groups, Generator& gen)
    : stride(stride), shuffle_groups(in == 24 ? 1 : groups) {
  RETORT_CHECK(stride == 1 || stride == 2, "ShuffleV1Unit: stride must be 1 or 2, found " << stride);
  const int64_t mid = out / 4;
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in, mid, 1, ConvOptions{1, 0, 1, shuffle_groups}, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(mid));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(mid, mid, 3, ConvOptions{stride, 1, 1, mid}, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(mid));
  conv3 = register_module("conv3", std::make_shared<Conv2d>(mid, out, 1, ConvOptions{1, 0, 1, groups}, gen));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(out));
}

Variable ShuffleV1Unit::forward_preact(const Variable& x, Variable* preact) {
  Variable h = bn1->forward_relu((*conv1)(x));
  if (shuffle_groups > 1) h = autograd::channel_shuffle(h, shuffle_groups);
  h = bn2->forward_relu((*conv2)(h));
  h = (*bn3)((*conv3)(h));
  if (stride == 2) {
    // PyTorch's AvgPool2d(3, stride=2, padding=1): the zero padding counts in the divisor (always 9).
    const auto pool = ops::Pool2dOptions::make(3, 2, 1, /*ceil_mode=*/false, /*count_include_pad=*/true);
    h = autograd::cat({h, autograd::avg_pool2d(x, pool)}, 3);
    if (preact) *preact = h;
    return autograd::relu(h);
  }
  return residual_relu(h, x, preact);
}

namespace {

class ShuffleNetV1 : public Model {
 public:
  ShuffleNetV1(const std::string& name, const ModelConfig& config) : Model(name, config, 960, "linear") {
    const int64_t out_planes[3] = {240, 480, 960};
    const int num_blocks[3] = {4, 8, 4};
    const int64_t groups = 3;
    // PyTorch's default initialisation throughout (the reference sets none); BN weight 1, bias 0.
    Generator gen(config.seed);
    conv1 = register_module("conv1", std::make_shared<Conv2d>(config.in_channels, 24, 1, ConvOptions{1, 0}, gen));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(24));
    int64_t in = 24;
    for (int s = 0; s < 3; ++s) {
      auto stage = std::make_shared<Sequential>();
      for (int i = 0; i < num_blocks[s]; ++i) {
        // The stride-2 unit's branch makes only what the concatenated shortcut does not bring.
        auto unit = std::make_shared<ShuffleV1Unit>(in, i == 0 ? out_planes[s] - in : out_planes[s], i == 0 ? 2 : 1,
                                                    groups, gen);
        stage->push_back(unit);
        units[s].push_back(unit);
        in = out_planes[s];
      }
      register_module("layer" + std::to_string(s + 1), stage);
    }
    linear = register_module("linear", std::make_shared<Linear>(in, config.num_classes, true, gen));
  }

  Variable forward_taps(const Variable& x, Taps* taps) override {
    check_input(x);
    Variable h = bn1->forward_relu((*conv1)(x));
    if (taps) taps->add("f0", h);
    for (int s = 0; s < 3; ++s) {
      Variable pre;
      h = run_stage(units[s], h, taps ? &pre : nullptr);
      if (taps) {
        taps->add("f" + std::to_string(s + 1), h);
        taps->add("preact" + std::to_string(s + 1), pre);
      }
    }
    // The reference's avg_pool2d(4) is a global mean at 32x32 (MODELS.md section 1.1).
    Variable pooled = global_mean(h);
    if (taps) taps->add("pooled", pooled);
    return (*linear)(pooled);
  }

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::vector<std::shared_ptr<ShuffleV1Unit>> units[3];
  std::shared_ptr<Linear> linear;
};

}  // namespace

std::unique_ptr<Model> make_shufflenetv1(const std::string& name, const ModelConfig& config) {
  return std::make_unique<ShuffleNetV1>(name, config);
}

}  // namespace layers
}  // namespace retort
