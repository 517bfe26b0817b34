#include "layers/models/vgg.h"

#include "layers/models/common.h"

namespace retort {
namespace layers {

std::shared_ptr<Sequential> make_vgg_block(int64_t in, const std::vector<int64_t>& widths, Generator& gen) {
  RETORT_CHECK(!widths.empty(), "make_vgg_block: expected at least one width");
  auto block = std::make_shared<Sequential>();
  for (size_t j = 0; j < widths.size(); ++j) {
    block->push_back(std::make_shared<Conv2d>(in, widths[j], 3, ConvOptions{1, 1, 1, 1, /*bias=*/true}, gen));
    block->push_back(std::make_shared<BatchNorm2d>(widths[j]));
    if (j + 1 < widths.size()) block->push_back(std::make_shared<ReLU>());
    in = widths[j];
  }
  return block;
}

namespace {

std::vector<std::vector<int64_t>> vgg_config(const std::string& name, int depth) {
  switch (depth) {
    case 8:  // S
      return {{64}, {128}, {256}, {512}, {512}};
    case 11:  // A
      return {{64}, {128}, {256, 256}, {512, 512}, {512, 512}};
    case 13:  // B
      return {{64, 64}, {128, 128}, {256, 256}, {512, 512}, {512, 512}};
    case 16:  // D
      return {{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
    case 19:  // E
      return {{64, 64}, {128, 128}, {256, 256, 256, 256}, {512, 512, 512, 512}, {512, 512, 512, 512}};
    default:
      RETORT_FAIL(name << ": VGG depth must be 8, 11, 13, 16 or 19, found " << depth);
  }
}

class Vgg : public Model {
 public:
  Vgg(const std::string& name, int depth, const ModelConfig& config) : Model(name, config, 512, "classifier") {
    const auto cfg = vgg_config(name, depth);
    Generator gen(config.seed);
    const DeferConvInit deferred;  // every convolution is re-initialised below
    int64_t in = config.in_channels;
    for (int b = 0; b < 5; ++b) {
      blocks[b] = register_module("block" + std::to_string(b), make_vgg_block(in, cfg[b], gen));
      in = cfg[b].back();
    }
    classifier = register_module("classifier", std::make_shared<Linear>(512, config.num_classes, true, gen));
    // Convolutions N(0, 2/(k*k*C_out)) with bias 0; BN weight 1, bias 0; linear N(0, 0.01^2), bias 0.
    init_convs_kaiming(*this, gen);
    init_linears(*this, 0.01f, gen);
  }

  Variable forward_taps(const Variable& x, Taps* taps) override {
    check_input(x);
    const auto pool = ops::Pool2dOptions::make(2, 2);
    // The reference pools after block3 only when the input height is exactly 64.
    const bool pool3 = x.size(1) == 64;
    Variable h = autograd::relu((*blocks[0])(x));
    if (taps) taps->add("f0", h);
    for (int b = 1; b < 5; ++b) {
      if (b < 4 || pool3) h = autograd::max_pool2d(h, pool);
      Variable pre = (*blocks[b])(h);
      h = autograd::relu(pre);
      if (taps) {
        taps->add("f" + std::to_string(b), h);
        taps->add("preact" + std::to_string(b), pre);
      }
    }
    Variable pooled = global_mean(h);  // the reference's AdaptiveAvgPool2d((1, 1))
    if (taps) taps->add("pooled", pooled);
    return (*classifier)(pooled);
  }

  std::shared_ptr<Sequential> blocks[5];
  std::shared_ptr<Linear> classifier;
};

}  // namespace

std::unique_ptr<Model> make_vgg(const std::string& name, int depth, const ModelConfig& config) {
  return std::make_unique<Vgg>(name, depth, config);
}

}  // namespace layers
}  // namespace retort
