// Optimisers with PyTorch semantics (SGD: weight decay added to the gradient
// before momentum, dampening 0, optional Nesterov; AdamW: decoupled weight
// decay). Parameters are named so their state can be saved and restored.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "tensor/tensor.h"

namespace retort {
namespace optim {

using autograd::Variable;
using NamedParams = std::vector<std::pair<std::string, Variable>>;

struct OptimizerState {
  std::vector<std::pair<std::string, Tensor>> tensors;  // per-parameter buffers, "<kind>.<param name>"
  int64_t steps = 0;
  double lr = 0.0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter that has a gradient; parameters without one are skipped.
  virtual void step() = 0;
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t steps() const { return steps_; }
  const NamedParams& params() const { return params_; }

  virtual OptimizerState state() const = 0;
  // Restores state(); throws Error naming a missing or mis-shaped buffer.
  virtual void load_state(const OptimizerState& s) = 0;

 protected:
  Optimizer(NamedParams params, double lr);
  NamedParams params_;
  double lr_;
  int64_t steps_ = 0;
};

struct SgdOptions {
  double lr = 0.05;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(NamedParams params, const SgdOptions& o);
  void step() override;
  OptimizerState state() const override;
  void load_state(const OptimizerState& s) override;

 private:
  SgdOptions options_;
  std::vector<Tensor> buffers_;      // momentum buffers (undefined until first used)
};

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

class AdamW : public Optimizer {
 public:
  AdamW(NamedParams params, const AdamWOptions& o);
  void step() override;
  OptimizerState state() const override;
  void load_state(const OptimizerState& s) override;

 private:
  AdamWOptions options_;
  std::vector<Tensor> m_, v_;
};

}  // namespace optim
}  // namespace retort
