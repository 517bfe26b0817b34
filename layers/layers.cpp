#include "layers/layers.h"

#include "layers/init.h"
#include "tensor/ops.h"

namespace retort {
namespace layers {

namespace {
thread_local MacCounter* g_counter = nullptr;
thread_local bool g_defer_conv_init = false;
}  // namespace

DeferConvInit::DeferConvInit() : previous_(g_defer_conv_init) { g_defer_conv_init = true; }
DeferConvInit::~DeferConvInit() { g_defer_conv_init = previous_; }
bool DeferConvInit::active() { return g_defer_conv_init; }

MacCounter::MacCounter() : previous_(g_counter) { g_counter = this; }
MacCounter::~MacCounter() { g_counter = previous_; }
void MacCounter::add(int64_t macs) {
  if (g_counter) g_counter->macs_ += macs;
}

int64_t count_macs(Module& module, const Shape& input) {
  autograd::NoGradGuard no_grad;
  const bool training = module.is_training();
  module.eval();
  MacCounter counter;
  module(autograd::Variable(zeros(input)));
  module.train(training);
  return counter.macs();
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, const ConvOptions& o, Generator& gen)
    : options{o.stride, o.stride, o.padding, o.padding, o.dilation, o.dilation, o.groups} {
  RETORT_CHECK(in > 0 && out > 0 && kernel > 0 && o.groups > 0 && in % o.groups == 0 && out % o.groups == 0,
               "Conv2d: expected positive sizes with groups dividing in and out, found in " << in << ", out " << out
                                                                                           << ", kernel " << kernel
                                                                                           << ", groups " << o.groups);
  const bool deferred = DeferConvInit::active();
  const Shape shape{out, in / o.groups, kernel, kernel};
  Tensor w = deferred ? zeros(shape) : empty(shape);
  if (!deferred) default_weight_init(w, gen);
  weight = register_parameter("weight", w);
  if (o.bias) {
    Tensor b = deferred ? zeros(Shape{out}) : empty(Shape{out});
    if (!deferred) default_bias_init(b, fan_in(w), gen);
    bias = register_parameter("bias", b);
  }
}

Variable Conv2d::forward(const Variable& x) {
  Variable y = autograd::conv2d(x, weight, bias, options);
  const Shape& w = weight.shape();
  MacCounter::add(y.size(1) * y.size(2) * w[0] * w[1] * w[2] * w[3]);
  return y;
}

BatchNorm2d::BatchNorm2d(int64_t channels, double eps, double momentum) : eps(eps), momentum(momentum) {
  weight = register_parameter("weight", ones(Shape{channels}));
  bias = register_parameter("bias", zeros(Shape{channels}));
  running_mean = register_buffer("running_mean", zeros(Shape{channels}));
  running_var = register_buffer("running_var", ones(Shape{channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros(Shape{}, DType::I64), /*host_only=*/true);
}

Variable BatchNorm2d::forward(const Variable& x) { return apply(x, false); }

Variable BatchNorm2d::forward_relu(const Variable& x) { return apply(x, true); }

Variable BatchNorm2d::apply(const Variable& x, bool relu) {
  const bool training = is_training();
  Variable y = autograd::batch_norm(x, weight, bias, *running_mean, *running_var, training, momentum, eps, relu);
  if (training) {
    num_batches_tracked->data<int64_t>()[0] += 1;
    num_batches_tracked->bump_version();
  }
  return y;
}

Linear::Linear(int64_t in, int64_t out, bool has_bias, Generator& gen) {
  RETORT_CHECK(in > 0 && out > 0, "Linear: expected positive sizes, found in " << in << ", out " << out);
  Tensor w = empty(Shape{out, in});
  default_weight_init(w, gen);
  weight = register_parameter("weight", w);
  if (has_bias) {
    Tensor b = empty(Shape{out});
    default_bias_init(b, in, gen);
    bias = register_parameter("bias", b);
  }
}

Variable Linear::forward(const Variable& x) {
  MacCounter::add(weight.size(0) * weight.size(1));
  return autograd::linear(x, weight, bias);
}

Variable Flatten::forward(const Variable& x) {
  RETORT_CHECK(x.ndim() == 4, "Flatten: expected [N, H, W, C], found " << x.shape());
  if (x.size(1) * x.size(2) == 1) return autograd::reshape(x, {x.size(0), x.size(3)});
  return autograd::reshape(autograd::permute(x, {0, 3, 1, 2}), {x.size(0), -1});
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

void Sequential::push_back(std::shared_ptr<Module> m) {
  register_module(std::to_string(modules_.size()), m);
  modules_.push_back(std::move(m));
}

Variable Sequential::forward(const Variable& x) {
  Variable h = x;
  for (size_t i = 0; i < modules_.size(); ++i) {
    // A batch norm followed by a ReLU runs as one fused pass (same values).
    auto* bn = dynamic_cast<BatchNorm2d*>(modules_[i].get());
    if (bn != nullptr && i + 1 < modules_.size() && dynamic_cast<ReLU*>(modules_[i + 1].get()) != nullptr) {
      h = bn->forward_relu(h);
      ++i;
      continue;
    }
    h = modules_[i]->forward(h);
  }
  return h;
}

}  // namespace layers
}  // namespace retort
