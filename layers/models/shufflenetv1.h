// ShuffleNet v1 with 3 groups, kuangliu-style, as in RepDistiller
// models/ShuffleNetv1.py = mdistiller models/cifar/ShuffleNetv1.py (MODELS.md
// section 3.5): zoo name `ShuffleV1`, out planes 240, 480, 960, blocks 4, 8, 4.
#pragma once
#include <memory>
#include <string>

#include "layers/models/model.h"

namespace retort {
namespace layers {

// conv1 1x1 (g1 groups; g1 = 1 when in = 24, the very first block, else
// `groups`) -> bn1 -> ReLU -> shuffle(g1) -> conv2 depthwise 3x3 (stride) ->
// bn2 -> ReLU (a quirk: the paper has none here) -> conv3 1x1 (`groups`
// groups) -> bn3; stride 2: ReLU(concat[branch, AvgPool 3x3 s2 p1 counting the
// padding (x)]), stride 1: ReLU(branch + x). `out` is the branch width.
class ShuffleV1Unit : public Module {
 public:
  ShuffleV1Unit(int64_t in, int64_t out, int64_t stride, int64_t groups, Generator& gen);
  Variable forward(const Variable& x) override { return forward_preact(x, nullptr); }
  // *preact (when not null) receives the input of the final ReLU.
  Variable forward_preact(const Variable& x, Variable* preact);

  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
  int64_t stride, shuffle_groups;
};

std::unique_ptr<Model> make_shufflenetv1(const std::string& name, const ModelConfig& config);

}  // namespace layers
}  // namespace retort
