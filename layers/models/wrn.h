// Pre-activation Wide ResNets (Zagoruyko & Komodakis; Wei Yang's code) as in
// RepDistiller models/wrn.py = mdistiller models/cifar/wrn.py (MODELS.md
// section 3.2): wrn_<depth>_<k>, depth = 6n + 4, widths 16 / 16k, 32k, 64k.
#pragma once
#include <memory>
#include <string>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// a = ReLU(bn1(x)); r = conv2(ReLU(bn2(conv1(a)))); output = x + r when
// in == out, else convShortcut(a) + r (the quirk: the projection consumes the
// pre-activated input). No activation after the addition.
class WrnBlock : public Module {
 public:
  WrnBlock(int64_t in, int64_t out, int64_t stride, Generator& gen);
  Variable forward(const Variable& x) override;

  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<Conv2d> conv1, conv2, convShortcut;  // convShortcut only when in != out
};

// Any depth = 6n + 4 (n >= 1) and widen factor k >= 1, e.g. the extra teachers
// wrn_28_2, wrn_16_4, wrn_28_4 (MODELS.md section 5.1). The preact taps pass
// f1, f2, f3 through block2.layer.0.bn1, block3.layer.0.bn1 and the final bn1
// (MODELS.md section 4.2) without touching their running statistics, unless
// `mdistiller_bn_parity` is set: then, as in mdistiller, every forward runs
// those three BN modules a second time (in training mode their running
// statistics are updated twice per step and num_batches_tracked grows by 2).
std::unique_ptr<Model> make_wrn(const std::string& name, int depth, int widen, const ModelConfig& config,
                                bool mdistiller_bn_parity = false);

}  // namespace layers
}  // namespace retort
