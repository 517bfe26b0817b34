// The building blocks of the zoo: convolution, batch norm, linear, activations,
// pooling, flatten, channel shuffle and Sequential. Parameter names, shapes and
// defaults are PyTorch's. Activations are NHWC.
#pragma once
#include <memory>
#include <vector>

#include "autograd/functions.h"
#include "layers/module.h"
#include "tensor/rng.h"

namespace retort {
namespace layers {

struct ConvOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = false;  // the zoo's convolutions have no bias except VGG's
};

// While alive (on this thread), Conv2d skips PyTorch's default initialisation
// and starts at zero, drawing nothing from its Generator: for model
// constructors that re-initialise every convolution afterwards (the random
// draws are most of a big model's construction time).
class DeferConvInit {
 public:
  DeferConvInit();
  ~DeferConvInit();
  DeferConvInit(const DeferConvInit&) = delete;
  DeferConvInit& operator=(const DeferConvInit&) = delete;
  static bool active();

 private:
  bool previous_;
};

// weight [out, in/groups, k, k], optional bias [out]; PyTorch's default init
// (zeros under DeferConvInit).
class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, const ConvOptions& o, Generator& gen);
  Variable forward(const Variable& x) override;
  Variable weight, bias;  // bias undefined without one
  ops::Conv2dOptions options;
};

// Per-channel batch norm with PyTorch semantics (eps 1e-5, momentum 0.1):
// weight = 1, bias = 0, running_mean = 0, running_var = 1, num_batches_tracked = 0.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  // Training mode: batch statistics, running statistics updated, counter + 1.
  // Evaluation mode: running statistics.
  Variable forward(const Variable& x) override;
  // relu(forward(x)) fused into one pass forward and backward (same values).
  Variable forward_relu(const Variable& x);
  Variable weight, bias;
  Tensor* running_mean;
  Tensor* running_var;
  Tensor* num_batches_tracked;  // i64 [], kept on the CPU
  double eps, momentum;

 private:
  Variable apply(const Variable& x, bool relu);
};

// y = x w^T + b, weight [out, in]; PyTorch's default init.
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias, Generator& gen);
  Variable forward(const Variable& x) override;
  Variable weight, bias;
};

class ReLU : public Module {
 public:
  Variable forward(const Variable& x) override { return autograd::relu(x); }
};

class ReLU6 : public Module {
 public:
  Variable forward(const Variable& x) override { return autograd::relu6(x); }
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const ops::Pool2dOptions& o) : options(o) {}
  Variable forward(const Variable& x) override { return autograd::max_pool2d(x, options); }
  ops::Pool2dOptions options;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const ops::Pool2dOptions& o) : options(o) {}
  Variable forward(const Variable& x) override { return autograd::avg_pool2d(x, options); }
  ops::Pool2dOptions options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  AdaptiveAvgPool2d(int64_t out_h, int64_t out_w) : out_h(out_h), out_w(out_w) {}
  Variable forward(const Variable& x) override { return autograd::adaptive_avg_pool2d(x, out_h, out_w); }
  int64_t out_h, out_w;
};

// [N, H, W, C] -> [N, C*H*W] in PyTorch's (C, H, W) order, so a Linear layer
// after it keeps PyTorch's weight layout; with H = W = 1 it is a plain view.
class Flatten : public Module {
 public:
  Variable forward(const Variable& x) override;
};

// Channel shuffle with g groups on the last (channel) dimension (MODELS.md section 1.3).
class ChannelShuffle : public Module {
 public:
  explicit ChannelShuffle(int64_t groups) : groups(groups) {}
  Variable forward(const Variable& x) override { return autograd::channel_shuffle(x, groups); }
  int64_t groups;
};

// Children named "0", "1", ... applied in order.
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  void push_back(std::shared_ptr<Module> m);
  Variable forward(const Variable& x) override;
  size_t size() const { return modules_.size(); }
  Module& operator[](size_t i) const { return *modules_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

// Counts the multiply-accumulates of convolutions and linear layers while alive
// (MODELS.md's MAC convention: C_out * (C_in/groups) * k^2 * H_out * W_out, and in * out).
class MacCounter {
 public:
  MacCounter();
  ~MacCounter();
  int64_t macs() const { return macs_; }
  static void add(int64_t macs);  // no-op when no counter is active

 private:
  int64_t macs_ = 0;
  MacCounter* previous_;
};

// Multiply-accumulates of one forward pass on zeros of `input` ([N, H, W, C]),
// in evaluation mode without a graph; the module's mode is restored.
int64_t count_macs(Module& module, const Shape& input);

}  // namespace layers
}  // namespace retort
