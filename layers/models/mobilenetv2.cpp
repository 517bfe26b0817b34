#include "layers/models/mobilenetv2.h"

#include "layers/models/common.h"

namespace retort {
namespace layers {

InvertedResidual::InvertedResidual(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio, Generator& gen)
    : use_residual(stride == 1 && in == out) {
  const int64_t hidden = in * expand_ratio;
  conv =
      register_module("conv", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                  std::make_shared<Conv2d>(in, hidden, 1, ConvOptions{1, 0}, gen),
                                  std::make_shared<BatchNorm2d>(hidden),
                                  std::make_shared<ReLU>(),
                                  std::make_shared<Conv2d>(hidden, hidden, 3, ConvOptions{stride, 1, 1, hidden}, gen),
                                  std::make_shared<BatchNorm2d>(hidden),
                                  std::make_shared<ReLU>(),
                                  std::make_shared<Conv2d>(hidden, out, 1, ConvOptions{1, 0}, gen),
                                  std::make_shared<BatchNorm2d>(out),
                              }));
}

Variable InvertedResidual::forward(const Variable& x) {
  Variable h = (*conv)(x);
  return use_residual ? autograd::add(x, h) : h;
}

namespace {

std::shared_ptr<Sequential> conv_bn_relu(int64_t in, int64_t out, int64_t kernel, int64_t stride, Generator& gen) {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(in, out, kernel, ConvOptions{stride, kernel / 2}, gen),
      std::make_shared<BatchNorm2d>(out), std::make_shared<ReLU>()});
}

class MobileNetV2 : public Model {
 public:
  MobileNetV2(const std::string& name, const ModelConfig& config) : Model(name, config, 1280, "classifier.0") {
    const int64_t T = 6;
    const double width = 0.5;
    // (t, c, n, s) per stage.
    const int64_t settings[7][4] = {{1, 16, 1, 1}, {T, 24, 2, 1},  {T, 32, 3, 2}, {T, 64, 4, 2},
                                    {T, 96, 3, 1}, {T, 160, 3, 2}, {T, 320, 1, 1}};
    Generator gen(config.seed);
    const DeferConvInit deferred;  // every convolution is re-initialised below
    int64_t in = static_cast<int64_t>(32 * width);
    conv1 = register_module("conv1", conv_bn_relu(config.in_channels, in, 3, 2, gen));
    auto blocks = register_module("blocks", std::make_shared<Sequential>());
    for (int s = 0; s < 7; ++s) {
      const int64_t out = static_cast<int64_t>(settings[s][1] * width);
      stages[s] = std::make_shared<Sequential>();
      for (int64_t i = 0; i < settings[s][2]; ++i) {
        stages[s]->push_back(
            std::make_shared<InvertedResidual>(in, out, i == 0 ? settings[s][3] : 1, settings[s][0], gen));
        in = out;
      }
      blocks->push_back(stages[s]);
    }
    // 1280 is scaled only for width multipliers above 1.
    conv2 = register_module("conv2", conv_bn_relu(in, 1280, 1, 1, gen));
    classifier = register_module("classifier", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                                   std::make_shared<Linear>(1280, config.num_classes, true, gen)}));
    // Convolutions N(0, 2/(k*k*C_out)) (depthwise: C_out = channels); BN 1, 0; linear N(0, 0.01^2), bias 0.
    init_convs_kaiming(*this, gen);
    init_linears(*this, 0.01f, gen);
  }

  Variable forward_taps(const Variable& x, Taps* taps) override {
    check_input(x);
    Variable h = (*conv1)(x);
    if (taps) taps->add("f0", h);
    // f1..f4 follow blocks 1, 2, 4 and 6 (the reference's feature list); there are no preact taps.
    const int tap_after[4] = {1, 2, 4, 6};
    int next = 0;
    for (int s = 0; s < 7; ++s) {
      h = (*stages[s])(h);
      if (next < 4 && s == tap_after[next]) {
        ++next;
        if (taps) taps->add("f" + std::to_string(next), h);
      }
    }
    // The reference's AvgPool2d(2, ceil_mode) covers the whole 2x2 map at 32x32.
    Variable pooled = global_mean((*conv2)(h));
    if (taps) taps->add("pooled", pooled);
    return (*classifier)(pooled);
  }

  std::shared_ptr<Sequential> conv1, conv2, classifier;
  std::shared_ptr<Sequential> stages[7];
};

}  // namespace

std::unique_ptr<Model> make_mobilenetv2_half(const std::string& name, const ModelConfig& config) {
  return std::make_unique<MobileNetV2>(name, config);
}

}  // namespace layers
}  // namespace retort
