#include "layers/models/wrn.h"

#include "layers/models/common.h"

namespace retort {
namespace layers {

WrnBlock::WrnBlock(int64_t in, int64_t out, int64_t stride, Generator& gen) {
  // With in == out the raw input is added to the residual, which only fits at stride 1.
  RETORT_CHECK(in != out || stride == 1, "WrnBlock: an identity shortcut needs stride 1, found " << stride);
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(in));
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in, out, 3, ConvOptions{stride, 1}, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(out));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(out, out, 3, ConvOptions{1, 1}, gen));
  if (in != out)
    convShortcut = register_module("convShortcut", std::make_shared<Conv2d>(in, out, 1, ConvOptions{stride, 0}, gen));
}

Variable WrnBlock::forward(const Variable& x) {
  Variable a = bn1->forward_relu(x);
  Variable r = (*conv2)(bn2->forward_relu((*conv1)(a)));
  return autograd::add(convShortcut ? (*convShortcut)(a) : x, r);
}

namespace {

// The reference's NetworkBlock: a module holding the group's blocks as `layer`.
class WrnGroup : public Module {
 public:
  WrnGroup(int n, int64_t in, int64_t out, int64_t stride, Generator& gen) {
    layer = register_module("layer", std::make_shared<Sequential>());
    for (int i = 0; i < n; ++i) {
      auto block = std::make_shared<WrnBlock>(i == 0 ? in : out, out, i == 0 ? stride : 1, gen);
      layer->push_back(block);
      blocks.push_back(block);
    }
  }
  Variable forward(const Variable& x) override { return (*layer)(x); }

  std::shared_ptr<Sequential> layer;
  std::vector<std::shared_ptr<WrnBlock>> blocks;
};

class WideResNet : public Model {
 public:
  WideResNet(const std::string& name, int depth, int widen, const ModelConfig& config, bool bn_parity)
      : Model(name, config, 64 * int64_t(widen), "fc"), bn_parity_(bn_parity) {
    RETORT_CHECK(depth >= 10 && (depth - 4) % 6 == 0 && widen >= 1,
                 name << ": expected depth = 6n + 4 (n >= 1) and widen factor >= 1, found depth " << depth << ", widen "
                      << widen);
    const int n = (depth - 4) / 6;
    const int64_t widths[4] = {16, 16 * int64_t(widen), 32 * int64_t(widen), 64 * int64_t(widen)};
    Generator gen(config.seed);
    const DeferConvInit deferred;  // every convolution is re-initialised below
    conv1 =
        register_module("conv1", std::make_shared<Conv2d>(config.in_channels, widths[0], 3, ConvOptions{1, 1}, gen));
    for (int g = 0; g < 3; ++g)
      groups[g] = register_module("block" + std::to_string(g + 1),
                                  std::make_shared<WrnGroup>(n, widths[g], widths[g + 1], g == 0 ? 1 : 2, gen));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(widths[3]));
    fc = register_module("fc", std::make_shared<Linear>(widths[3], config.num_classes, true, gen));
    // Convolutions N(0, 2/(k*k*C_out)); BN weight 1, bias 0; linear default weight, bias 0.
    init_convs_kaiming(*this, gen);
    init_linears(*this, 0.0f, gen);
  }

  Variable forward_taps(const Variable& x, Taps* taps) override {
    check_input(x);
    Variable f[4];
    f[0] = (*conv1)(x);
    for (int g = 0; g < 3; ++g) f[g + 1] = (*groups[g])(f[g]);
    Variable pooled = global_mean(bn1->forward_relu(f[3]));
    Variable logits = (*fc)(pooled);
    if (!taps && !bn_parity_) return logits;
    // The preact taps: f1, f2 through the next group's first bn1, f3 through the final bn1.
    BatchNorm2d* pre_bn[3] = {groups[1]->blocks[0]->bn1.get(), groups[2]->blocks[0]->bn1.get(), bn1.get()};
    Variable pre[3];
    for (int i = 0; i < 3; ++i)
      pre[i] = bn_parity_ ? (*pre_bn[i])(f[i + 1]) : batch_norm_no_update(*pre_bn[i], f[i + 1]);
    if (taps) {
      for (int i = 0; i < 4; ++i) taps->add("f" + std::to_string(i), f[i]);
      for (int i = 0; i < 3; ++i) taps->add("preact" + std::to_string(i + 1), pre[i]);
      taps->add("pooled", pooled);
    }
    return logits;
  }

 private:
  bool bn_parity_;
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<WrnGroup> groups[3];
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<Linear> fc;
};

}  // namespace

std::unique_ptr<Model> make_wrn(const std::string& name, int depth, int widen, const ModelConfig& config,
                                bool mdistiller_bn_parity) {
  return std::make_unique<WideResNet>(name, depth, widen, config, mdistiller_bn_parity);
}

}  // namespace layers
}  // namespace retort
