// Helpers shared by the zoo's families: the reference initialisation schemes
// (MODELS.md section 1.4) applied over a module tree, the global-mean head and
// batch norm without running-statistics updates (for taps).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/init.h"
#include "layers/layers.h"
#include "tensor/ops.h"

namespace retort {
namespace layers {

// Calls f(module) on m and every descendant, in state_dict order, so RNG
// draws happen in the same order as PyTorch's `for m in self.modules()`.
template <class F>
void visit_modules(Module& m, F&& f) {
  f(m);
  for (const auto& c : m.children()) visit_modules(*c.second, f);
}

// Every convolution: weight N(0, 2/(k*k*C_out)) (Kaiming normal, fan_out), bias 0.
inline void init_convs_kaiming(Module& root, Generator& gen) {
  visit_modules(root, [&gen](Module& m) {
    if (auto* conv = dynamic_cast<Conv2d*>(&m)) {
      Tensor w = conv->weight.value();
      kaiming_normal_fan_out(w, gen);
      if (conv->bias.defined()) {
        Tensor b = conv->bias.value();
        ops::fill_(b, 0.0);
      }
    }
  });
}

// Every linear layer: weight N(0, std^2) when std > 0 (else PyTorch's default is kept), bias 0.
inline void init_linears(Module& root, float std, Generator& gen) {
  visit_modules(root, [std, &gen](Module& m) {
    if (auto* fc = dynamic_cast<Linear*>(&m)) {
      if (std > 0.0f) {
        Tensor w = fc->weight.value();
        normal_init(w, 0.0f, std, gen);
      }
      if (fc->bias.defined()) {
        Tensor b = fc->bias.value();
        ops::fill_(b, 0.0);
      }
    }
  });
}

// [N, H, W, C] -> [N, C]: the reference's last-stage average pools, which all
// cover the whole remaining map at their native input size (MODELS.md section 1.1).
inline Variable global_mean(const Variable& x) {
  return autograd::reshape(autograd::adaptive_avg_pool2d(x, 1, 1), {x.size(0), x.size(3)});
}

// bn(x) with the values the module would give in its current mode (batch
// statistics when training, running statistics in eval), but leaving the
// running statistics and the counter untouched: the statistics update goes to
// scratch copies.
inline Variable batch_norm_no_update(BatchNorm2d& bn, const Variable& x) {
  if (!bn.is_training()) return bn(x);
  Tensor mean = bn.running_mean->clone(), var = bn.running_var->clone();
  return autograd::batch_norm(x, bn.weight, bn.bias, mean, var, true, bn.momentum, bn.eps);
}

// relu(branch + shortcut) at a residual block's end. The sum before the ReLU is
// made only when asked for (the "preact" taps of feature distillation);
// otherwise one fused pass writes the output.
inline Variable residual_relu(const Variable& branch, const Variable& shortcut, Variable* preact) {
  if (preact == nullptr) return autograd::add_relu(branch, shortcut);
  *preact = autograd::add(branch, shortcut);
  return autograd::relu(*preact);
}

// Runs one stage's blocks (forward_preact(x, preact)); only the last block is
// asked for its pre-activation, and only when preact is given.
template <class Block>
Variable run_stage(const std::vector<std::shared_ptr<Block>>& blocks, Variable h, Variable* preact) {
  for (size_t i = 0; i < blocks.size(); ++i) h = blocks[i]->forward_preact(h, i + 1 == blocks.size() ? preact : nullptr);
  return h;
}

}  // namespace layers
}  // namespace retort
