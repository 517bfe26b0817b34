#include "layers/models/mobilenetv1.h"

#include "layers/models/common.h"

namespace retort {
namespace layers {

namespace {

std::shared_ptr<Sequential> conv_bn(int64_t in, int64_t out, int64_t stride, Generator& gen) {
  return std::make_shared<Sequential>(
      std::vector<std::shared_ptr<Module>>{std::make_shared<Conv2d>(in, out, 3, ConvOptions{stride, 1}, gen),
                                           std::make_shared<BatchNorm2d>(out), std::make_shared<ReLU>()});
}

std::shared_ptr<Sequential> conv_dw(int64_t in, int64_t out, int64_t stride, Generator& gen) {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(in, in, 3, ConvOptions{stride, 1, 1, in}, gen), std::make_shared<BatchNorm2d>(in),
      std::make_shared<ReLU>(), std::make_shared<Conv2d>(in, out, 1, ConvOptions{1, 0}, gen),
      std::make_shared<BatchNorm2d>(out), std::make_shared<ReLU>()});
}

class MobileNetV1 : public Model {
 public:
  MobileNetV1(const std::string& name, const ModelConfig& config) : Model(name, config, 1024, "fc") {
    // (in, out, stride) of the 13 depthwise-separable stages.
    const int64_t dw[13][3] = {{32, 64, 1},   {64, 128, 2},   {128, 128, 1},  {128, 256, 2}, {256, 256, 1},
                               {256, 512, 2}, {512, 512, 1},  {512, 512, 1},  {512, 512, 1}, {512, 512, 1},
                               {512, 512, 1}, {512, 1024, 2}, {1024, 1024, 1}};
    Generator gen(config.seed);
    model = register_module("model", std::make_shared<Sequential>());
    stages.push_back(conv_bn(config.in_channels, 32, 2, gen));
    for (const auto& d : dw) stages.push_back(conv_dw(d[0], d[1], d[2], gen));
    for (auto& s : stages) model->push_back(s);
    fc = register_module("fc", std::make_shared<Linear>(1024, config.num_classes, true, gen));
  }

  Variable forward_taps(const Variable& x, Taps* taps) override {
    check_input(x);
    const size_t tap_stage[4] = {3, 5, 11, 13};
    int next = 0;
    Variable h = x;
    for (size_t k = 0; k < stages.size(); ++k) {
      Sequential& stage = *stages[k];
      const bool tapped = next < 4 && k == tap_stage[next];
      for (size_t i = 0; i < stage.size(); ++i) {
        if (tapped && i + 1 == stage.size()) {  // the stage's final ReLU
          ++next;
          if (taps) taps->add("preact" + std::to_string(next), h);
        }
        h = stage[i](h);
      }
      if (tapped && taps) taps->add("f" + std::to_string(next), h);
    }
    // mdistiller's AvgPool2d(7) is a global mean at 224x224; the global mean also serves smaller inputs.
    Variable pooled = global_mean(h);
    if (taps) taps->add("pooled", pooled);
    return (*fc)(pooled);
  }

  std::shared_ptr<Sequential> model;
  std::vector<std::shared_ptr<Sequential>> stages;  // model.0 .. model.13
  std::shared_ptr<Linear> fc;
};

}  // namespace

std::unique_ptr<Model> make_mobilenetv1(const std::string& name, const ModelConfig& config) {
  return std::make_unique<MobileNetV1>(name, config);
}

}  // namespace layers
}  // namespace retort
