#include "layers/models/shufflenetv2.h"

#include "layers/models/common.h"

namespace retort {
namespace layers {

namespace {
std::shared_ptr<Conv2d> pointwise(int64_t in, int64_t out, Generator& gen) {
  return std::make_shared<Conv2d>(in, out, 1, ConvOptions{1, 0}, gen);
}
std::shared_ptr<Conv2d> depthwise(int64_t channels, int64_t stride, Generator& gen) {
  return std::make_shared<Conv2d>(channels, channels, 3, ConvOptions{stride, 1, 1, channels}, gen);
}
std::shared_ptr<BatchNorm2d> bn(int64_t channels) { return std::make_shared<BatchNorm2d>(channels); }
}  // namespace

ShuffleV2BasicBlock::ShuffleV2BasicBlock(int64_t channels, Generator& gen) {
  const int64_t half = channels / 2;  // the reference's int(C * 0.5)
  conv1 = register_module("conv1", pointwise(half, half, gen));
  bn1 = register_module("bn1", bn(half));
  conv2 = register_module("conv2", depthwise(half, 1, gen));
  bn2 = register_module("bn2", bn(half));
  conv3 = register_module("conv3", pointwise(half, half, gen));
  bn3 = register_module("bn3", bn(half));
}

Variable ShuffleV2BasicBlock::forward_preact(const Variable& x, Variable* preact) {
  const int64_t half = conv1->weight.size(1);
  RETORT_CHECK(x.ndim() == 4 && x.size(3) == 2 * half,
               "ShuffleV2BasicBlock: expected [N, H, W, " << 2 * half << "], found " << x.shape());
  std::vector<Variable> parts = autograd::split(x, {half, half}, 3);
  Variable b = bn1->forward_relu((*conv1)(parts[1]));
  b = (*bn3)((*conv3)((*bn2)((*conv2)(b))));
  if (preact) *preact = autograd::cat({parts[0], b}, 3);
  return autograd::channel_shuffle(autograd::cat({parts[0], autograd::relu(b)}, 3), 2);
}

ShuffleV2DownBlock::ShuffleV2DownBlock(int64_t in, int64_t out, Generator& gen) {
  const int64_t mid = out / 2;
  conv1 = register_module("conv1", depthwise(in, 2, gen));
  bn1 = register_module("bn1", bn(in));
  conv2 = register_module("conv2", pointwise(in, mid, gen));
  bn2 = register_module("bn2", bn(mid));
  conv3 = register_module("conv3", pointwise(in, mid, gen));
  bn3 = register_module("bn3", bn(mid));
  conv4 = register_module("conv4", depthwise(mid, 2, gen));
  bn4 = register_module("bn4", bn(mid));
  conv5 = register_module("conv5", pointwise(mid, mid, gen));
  bn5 = register_module("bn5", bn(mid));
}

Variable ShuffleV2DownBlock::forward(const Variable& x) {
  Variable left = bn2->forward_relu((*conv2)((*bn1)((*conv1)(x))));
  Variable right = bn3->forward_relu((*conv3)(x));
  right = bn5->forward_relu((*conv5)((*bn4)((*conv4)(right))));
  return autograd::channel_shuffle(autograd::cat({left, right}, 3), 2);
}

namespace {

class ShuffleNetV2 : public Model {
 public:
  ShuffleNetV2(const std::string& name, const ModelConfig& config) : Model(name, config, 1024, "linear") {
    const int64_t out_channels[4] = {116, 232, 464, 1024};
    const int num_blocks[3] = {3, 7, 3};
    // PyTorch's default initialisation throughout (the reference sets none); BN weight 1, bias 0.
    Generator gen(config.seed);
    conv1 = register_module("conv1", pointwise(config.in_channels, 24, gen));
    bn1 = register_module("bn1", bn(24));
    int64_t in = 24;
    for (int s = 0; s < 3; ++s) {
      auto stage = std::make_shared<Sequential>();
      down[s] = std::make_shared<ShuffleV2DownBlock>(in, out_channels[s], gen);
      stage->push_back(down[s]);
      for (int i = 0; i < num_blocks[s]; ++i) {
        auto block = std::make_shared<ShuffleV2BasicBlock>(out_channels[s], gen);
        stage->push_back(block);
        blocks[s].push_back(block);
      }
      in = out_channels[s];
      register_module("layer" + std::to_string(s + 1), stage);
    }
    conv2 = register_module("conv2", pointwise(in, out_channels[3], gen));
    bn2 = register_module("bn2", bn(out_channels[3]));
    linear = register_module("linear", std::make_shared<Linear>(out_channels[3], config.num_classes, true, gen));
  }

  Variable forward_taps(const Variable& x, Taps* taps) override {
    check_input(x);
    Variable h = bn1->forward_relu((*conv1)(x));
    if (taps) taps->add("f0", h);
    for (int s = 0; s < 3; ++s) {
      Variable pre;
      h = (*down[s])(h);
      h = run_stage(blocks[s], h, taps ? &pre : nullptr);
      if (taps) {
        taps->add("f" + std::to_string(s + 1), h);
        taps->add("preact" + std::to_string(s + 1), pre);
      }
    }
    h = bn2->forward_relu((*conv2)(h));
    RETORT_CHECK(h.size(1) == 4 && h.size(2) == 4,
                 name() << ": the head's fixed 4x4 average pool needs a 4x4 map (input 25x25 to 32x32), but input "
                        << x.size(1) << "x" << x.size(2) << " gives " << h.size(1) << "x" << h.size(2)
                        << " (MODELS.md section 3.6)");
    Variable pooled = global_mean(h);
    if (taps) taps->add("pooled", pooled);
    return (*linear)(pooled);
  }

  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<ShuffleV2DownBlock> down[3];
  std::vector<std::shared_ptr<ShuffleV2BasicBlock>> blocks[3];
  std::shared_ptr<Linear> linear;
};

}  // namespace

std::unique_ptr<Model> make_shufflenetv2(const std::string& name, const ModelConfig& config) {
  return std::make_unique<ShuffleNetV2>(name, config);
}

}  // namespace layers
}  // namespace retort
