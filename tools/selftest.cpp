// The checks of `retort selftest` and their comparison (tools/selftest.h).
#include "tools/selftest.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "autograd/variable.h"
#include "distill/objective.h"
#include "distill/step.h"
#include "layers/models/zoo.h"
#include "optim/optimizer.h"
#include "tensor/ops.h"

namespace retort {
namespace tools {

namespace {

Tensor randn_on(const Shape& s, uint64_t seed, const Device& d, float scale = 1.0f) {
  Generator g(seed);
  return ops::mul_scalar(ops::randn(s, g), scale).to(d);
}

struct ConvCase {
  const char* name;
  int64_t n, h, w, c, o, k, stride, pad, dilation, groups;
};

const ConvCase kConvCases[] = {
    {"3x3", 2, 9, 7, 5, 6, 3, 1, 1, 1, 1},       {"3x3 stride 2", 3, 8, 8, 4, 8, 3, 2, 1, 1, 1},
    {"1x1", 2, 5, 5, 8, 3, 1, 1, 0, 1, 1},       {"depthwise 3x3", 2, 7, 7, 6, 6, 3, 1, 1, 1, 6},
    {"groups 2", 1, 6, 5, 4, 6, 3, 1, 1, 1, 2},  {"5x5 dilation 2", 1, 11, 10, 3, 4, 5, 1, 4, 2, 1},
    {"7x7 stride 2", 1, 15, 15, 3, 5, 7, 2, 3, 1, 1},
};

void add_conv_checks(std::vector<Check>& checks) {
  for (const ConvCase& c : kConvCases) {
    const ops::Conv2dOptions o = ops::Conv2dOptions::make(c.stride, c.pad, c.dilation, c.groups);
    const Shape xs{c.n, c.h, c.w, c.c}, ws{c.o, c.c / c.groups, c.k, c.k};
    const std::string g = std::string(" (") + c.name + ")";
    checks.push_back({"conv2d" + g, 1e-4, 1e-4, [=](const Device& d) {
                        return std::vector<Tensor>{
                            ops::conv2d(randn_on(xs, 1, d), randn_on(ws, 2, d, 0.3f), randn_on({c.o}, 3, d), o)};
                      }});
    checks.push_back({"conv2d_backward_input" + g, 1e-4, 1e-4, [=](const Device& d) {
                        const Tensor y = ops::conv2d(randn_on(xs, 1, d), randn_on(ws, 2, d), Tensor(), o);
                        return std::vector<Tensor>{
                            ops::conv2d_backward_input(randn_on(y.shape(), 4, d), randn_on(ws, 2, d, 0.3f), xs, o)};
                      }});
    checks.push_back({"conv2d_backward_weight" + g, 1e-4, 1e-4, [=](const Device& d) {
                        const Tensor x = randn_on(xs, 1, d);
                        const Tensor y = ops::conv2d(x, randn_on(ws, 2, d), Tensor(), o);
                        return std::vector<Tensor>{ops::conv2d_backward_weight(randn_on(y.shape(), 4, d), x, ws, o)};
                      }});
  }
}

void add_tensor_checks(std::vector<Check>& checks) {
  const Shape s{3, 5, 7};
  checks.push_back({"unary (exp log sqrt tanh sigmoid relu relu6 clamp pow)", 1e-6, 1e-5, [=](const Device& d) {
                      const Tensor x = randn_on(s, 5, d), pos = ops::add_scalar(ops::abs(x), 0.1f);
                      return std::vector<Tensor>{ops::exp(x),     ops::log(pos),          ops::sqrt(pos),
                                                 ops::tanh(x),    ops::sigmoid(x),        ops::relu(x),
                                                 ops::relu6(ops::mul_scalar(x, 4.0f)), ops::clamp(x, -0.5f, 0.5f),
                                                 ops::pow_scalar(pos, 1.5f)};
                    }});
  checks.push_back({"binary and broadcast (add sub mul div max min add_relu)", 1e-6, 1e-5, [=](const Device& d) {
                      const Tensor a = randn_on(s, 6, d), b = ops::add_scalar(ops::abs(randn_on(s, 7, d)), 0.5f);
                      const Tensor row = randn_on({7}, 8, d);
                      Tensor acc = a.clone();
                      ops::add_(acc, row, 0.5f);
                      return std::vector<Tensor>{ops::add(a, b), ops::sub(a, b),     ops::mul(a, b),    ops::div(a, b),
                                                 ops::maximum(a, b), ops::minimum(a, b), ops::mul(a, row), acc,
                                                 ops::add_relu(a, ops::neg(b))};
                    }});
  checks.push_back({"activation backwards (relu relu6 sigmoid tanh)", 1e-6, 1e-5, [=](const Device& d) {
                      const Tensor x = randn_on(s, 9, d), dy = randn_on(s, 10, d);
                      return std::vector<Tensor>{ops::relu_backward(dy, ops::relu(x)), ops::relu6_backward(dy, x),
                                                 ops::sigmoid_backward(dy, ops::sigmoid(x)),
                                                 ops::tanh_backward(dy, ops::tanh(x))};
                    }});
  checks.push_back({"copy, cast, layout (transpose cat split shuffle pad crop)", 0, 0, [=](const Device& d) {
                      const Tensor x = randn_on({2, 5, 4, 6}, 11, d);
                      const std::vector<Tensor> parts = ops::split(x, {2, 4}, 3);
                      return std::vector<Tensor>{x.transpose(1, 2).contiguous(),
                                                 ops::cast(ops::mul_scalar(x, 10.0f), DType::I64),
                                                 ops::cast(ops::abs(ops::mul_scalar(x, 50.0f)), DType::U8),
                                                 ops::nhwc_to_nchw(x),
                                                 ops::nchw_to_nhwc(x),
                                                 ops::cat({x, x}, 1),
                                                 parts[1],
                                                 ops::channel_shuffle(x, 3),
                                                 ops::pad2d(x, 1, 2, 0, 3, 0.5),
                                                 ops::crop2d(x, 1, 1, 3, 2)};
                    }});
  checks.push_back({"reductions (sum mean max argmax sum_to count_nonfinite)", 1e-5, 1e-5, [=](const Device& d) {
                      const Tensor x = randn_on(s, 12, d);
                      const ops::MaxResult m = ops::max(x, 1);
                      Tensor bad = x.clone();
                      ops::fill_(bad, std::nan(""));
                      return std::vector<Tensor>{ops::sum(x, 0),      ops::sum(x, 2, true), ops::mean(x, 1), ops::sum(x),
                                                 m.values,            m.indices,            ops::argmax(x, 2),
                                                 ops::sum_to(x, Shape{1, 5, 1}),
                                                 ops::max_backward(randn_on(m.values.shape(), 13, d), m.indices, s, 1),
                                                 scalar(static_cast<float>(ops::count_nonfinite(ops::cat({x, bad}, 0))))};
                    }});
  checks.push_back({"matmul (all transposes) and linear", 1e-4, 1e-4, [=](const Device& d) {
                      const Tensor a = randn_on({13, 17}, 14, d), b = randn_on({17, 11}, 15, d);
                      return std::vector<Tensor>{
                          ops::matmul(a, b),
                          ops::matmul(a.transpose(0, 1).contiguous(), b, true, false),
                          ops::matmul(a, b.transpose(0, 1).contiguous(), false, true),
                          ops::matmul(a.transpose(0, 1).contiguous(), b.transpose(0, 1).contiguous(), true, true),
                          ops::linear(a, randn_on({9, 17}, 16, d), randn_on({9}, 17, d))};
                    }});
}

void add_nn_checks(std::vector<Check>& checks) {
  const Shape xs{3, 7, 6, 5};
  checks.push_back({"max_pool2d and backward (3x3 stride 2 pad 1, ceil)", 1e-6, 1e-6, [=](const Device& d) {
                      const Tensor x = randn_on(xs, 20, d);
                      const ops::Pool2dOptions o = ops::Pool2dOptions::make(3, 2, 1, true);
                      const ops::MaxPoolResult r = ops::max_pool2d(x, o);
                      return std::vector<Tensor>{r.y, r.indices,
                                                 ops::max_pool2d_backward(randn_on(r.y.shape(), 21, d), r.indices, xs)};
                    }});
  checks.push_back({"avg_pool2d and backward (3x3 stride 2 pad 1)", 1e-6, 1e-5, [=](const Device& d) {
                      const Tensor x = randn_on(xs, 22, d);
                      const ops::Pool2dOptions o = ops::Pool2dOptions::make(3, 2, 1, false, false);
                      const Tensor y = ops::avg_pool2d(x, o);
                      return std::vector<Tensor>{y, ops::avg_pool2d_backward(randn_on(y.shape(), 23, d), xs, o)};
                    }});
  checks.push_back({"adaptive_avg_pool2d and backward (to 1x1 and 4x3)", 1e-6, 1e-5, [=](const Device& d) {
                      const Tensor x = randn_on(xs, 24, d);
                      const Tensor y1 = ops::adaptive_avg_pool2d(x, 1, 1), y2 = ops::adaptive_avg_pool2d(x, 4, 3);
                      return std::vector<Tensor>{y1, y2,
                                                 ops::adaptive_avg_pool2d_backward(randn_on(y1.shape(), 25, d), xs),
                                                 ops::adaptive_avg_pool2d_backward(randn_on(y2.shape(), 26, d), xs)};
                    }});
  for (const bool relu : {false, true}) {
    const std::string tag = relu ? " (fused ReLU)" : "";
    checks.push_back({"batch_norm_train and backward" + tag, 1e-4, 1e-4, [=](const Device& d) {
                        const Tensor x = randn_on(xs, 27, d, 2.0f), gamma = randn_on({5}, 28, d),
                                     beta = randn_on({5}, 29, d);
                        Tensor rm = randn_on({5}, 30, d, 0.1f), rv = ops::add_scalar(ops::abs(randn_on({5}, 31, d)), 1.0f);
                        const ops::BatchNormOutput f = ops::batch_norm_train(x, gamma, beta, rm, rv, 0.1, 1e-5, relu);
                        const ops::BatchNormGrads g = ops::batch_norm_backward(randn_on(xs, 32, d), x, gamma, f.save_mean,
                                                                               f.save_invstd, relu ? f.y : Tensor());
                        return std::vector<Tensor>{f.y, f.save_mean, f.save_invstd, rm, rv, g.dx, g.dgamma, g.dbeta};
                      }});
    checks.push_back({"batch_norm_eval and backward" + tag, 1e-5, 1e-5, [=](const Device& d) {
                        const Tensor x = randn_on(xs, 33, d), gamma = randn_on({5}, 34, d), beta = randn_on({5}, 35, d);
                        const Tensor rm = randn_on({5}, 36, d, 0.1f),
                                     rv = ops::add_scalar(ops::abs(randn_on({5}, 37, d)), 0.5f);
                        const Tensor y = ops::batch_norm_eval(x, gamma, beta, rm, rv, 1e-5, relu);
                        const ops::BatchNormGrads g =
                            ops::batch_norm_eval_backward(randn_on(xs, 38, d), x, gamma, rm, rv, 1e-5, relu ? y : Tensor());
                        return std::vector<Tensor>{y, g.dx, g.dgamma, g.dbeta};
                      }});
  }
  for (const float T : {1.0f, 4.0f}) {
    const std::string tag = T == 1.0f ? " (T = 1)" : " (T = 4)";
    checks.push_back({"softmax, log_softmax and backwards" + tag, 1e-6, 1e-5, [=](const Device& d) {
                        const Tensor x = randn_on({6, 101}, 40, d, 3.0f), dy = randn_on({6, 101}, 41, d);
                        const Tensor p = ops::softmax(x, T), lp = ops::log_softmax(x, T);
                        return std::vector<Tensor>{p, lp, ops::softmax_backward(dy, p, T),
                                                   ops::log_softmax_backward(dy, lp, T)};
                      }});
  }
  checks.push_back({"cross_entropy and backward (smoothing 0 and 0.1)", 1e-6, 1e-5, [=](const Device& d) {
                      const Tensor z = randn_on({7, 13}, 42, d, 2.0f);
                      Generator g(43);
                      const Tensor labels = ops::randint({7}, 13, g).to(d);
                      return std::vector<Tensor>{ops::cross_entropy(z, labels), ops::cross_entropy(z, labels, 0.1f),
                                                 ops::cross_entropy_backward(z, labels, 0.1f, 0.5f)};
                    }});
  checks.push_back({"sgd and adamw updates", 1e-6, 1e-6, [=](const Device& d) {
                      Tensor p = randn_on({37}, 44, d), buf = randn_on({37}, 45, d), q = p.clone();
                      Tensor m = randn_on({37}, 46, d, 0.1f), v = ops::abs(randn_on({37}, 47, d, 0.1f));
                      const Tensor g = randn_on({37}, 48, d);
                      ops::sgd_update_(p, g, buf, SgdParams{0.1f, 0.9f, 5e-4f, true, false});
                      ops::adamw_update_(q, g, m, v, AdamWParams{1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0.19f, 0.0447f});
                      return std::vector<Tensor>{p, buf, q, m, v};
                    }});
  checks.push_back({"random numbers (Philox: rand, randn, randint, dropout)", 0, 0, [=](const Device& d) {
                      Generator g(49);
                      const Tensor r = ops::rand({1001}, g, d), n = ops::randn({1001}, g, d),
                                   i = ops::randint({1001}, 17, g, d);
                      const ops::DropoutOutput o = ops::dropout(randn_on({1001}, 50, d), 0.3f, g);
                      return std::vector<Tensor>{r, n, i, o.y, o.mask};
                    }});
}

// Every objective's loss and gradients on random logits (B = 8, 10 classes).
void add_objective_checks(std::vector<Check>& checks) {
  for (const distill::MethodInfo& m : distill::methods()) {
    checks.push_back({"objective " + m.name + ": loss and gradients", 1e-5, 1e-4, [&m](const Device& d) {
                        std::unique_ptr<distill::Objective> objective = m.make(m.defaults());
                        const distill::StepNeeds needs = objective->needs();
                        const Shape s{8, 10};
                        Generator g(51);
                        distill::StepInputs in;
                        in.epoch = 3;
                        in.student = autograd::Variable(randn_on(s, 52, d, 2.0f), true);
                        in.teacher = randn_on(s, 53, d, 3.0f);
                        in.labels = ops::randint({8}, 10, g).to(d);
                        if (needs.strong_view) {
                          in.student_strong = autograd::Variable(randn_on(s, 54, d, 2.0f), true);
                          in.teacher_strong = randn_on(s, 55, d, 3.0f);
                        }
                        if (needs.mixup) {
                          in.labels_b = ops::randint({8}, 10, g).to(d);
                          in.mix_lambda = 0.7;
                        }
                        if (needs.aux_samples) {
                          in.student_aux = autograd::Variable(randn_on(s, 56, d, 2.0f), true);
                          in.teacher_aux = randn_on(s, 57, d, 3.0f);
                        }
                        const distill::LossResult r = objective->compute(in);
                        r.total.backward();
                        std::vector<Tensor> out{r.total.value()};
                        for (const autograd::Variable& v : {in.student, in.student_strong, in.student_aux})
                          if (v.defined()) out.push_back(v.grad().defined() ? v.grad() : zeros(v.shape(), DType::F32, d));
                        for (const autograd::Variable& p : objective->parameters())
                          if (p.grad().defined()) out.push_back(p.grad());
                        return out;
                      }});
  }
}

// The losses of 20 SGD steps of resnet20 (batch 16, 32x32x3, 10 classes) from
// the same initial weights and batches.
std::vector<Tensor> train_losses(const Device& d) {
  auto model = layers::make_model("resnet20", layers::ModelConfig{10, 3, 0});
  model->to(d);
  model->train();
  optim::SGD sgd(model->named_parameters(), optim::SgdOptions{});
  Generator rng(60);
  distill::StepContext ctx{*model, nullptr, nullptr, rng, 0.0};
  std::vector<float> losses;
  for (int step = 0; step < 20; ++step) {
    Generator g(100 + step);
    data::Batch b;
    b.images = ops::randn({16, 32, 32, 3}, g).to(d);
    b.views = {b.images};
    b.labels = ops::randint({16}, 10, g).to(d);
    distill::StepResult r = distill::training_step(ctx, b, 1);
    sgd.zero_grad();
    r.loss.total.backward();
    sgd.step();
    losses.push_back(r.loss.total.value().to(Device::cpu()).item<float>());
  }
  return {from_vector(losses, Shape{20})};
}

}  // namespace

Outcome compare(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double atol, double rtol) {
  Outcome o;
  if (got.size() != want.size()) return {0, 0, false, "a different number of outputs"};
  for (size_t k = 0; k < got.size(); ++k) {
    const Tensor a = ops::cast(got[k].to(Device::cpu()).contiguous(), DType::F32);
    const Tensor b = ops::cast(want[k].to(Device::cpu()).contiguous(), DType::F32);
    if (got[k].dtype() != want[k].dtype() || a.shape() != b.shape())
      return {0, 0, false, "output " + std::to_string(k) + " is " + dtype_name(got[k].dtype()) + " " +
                               a.shape().str() + ", expected " + dtype_name(want[k].dtype()) + " " + b.shape().str()};
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    for (int64_t i = 0; i < a.numel(); ++i) {
      if (std::isnan(pa[i]) || std::isnan(pb[i])) {
        if (std::isnan(pa[i]) != std::isnan(pb[i])) {
          o.pass = false;
          o.why = "NaN in one result only";
        }
        continue;
      }
      const double err = std::fabs(static_cast<double>(pa[i]) - pb[i]);
      o.max_abs = std::max(o.max_abs, err);
      if (std::fabs(pb[i]) > 1e-6) o.max_rel = std::max(o.max_rel, err / std::fabs(pb[i]));
      if (!(err <= atol + rtol * std::fabs(pb[i]))) o.pass = false;
    }
  }
  return o;
}

std::vector<Check> selftest_checks() {
  std::vector<Check> checks;
  add_tensor_checks(checks);
  add_conv_checks(checks);
  add_nn_checks(checks);
  add_objective_checks(checks);
  checks.push_back({"train resnet20, 20 SGD steps: losses", 1e-4, 2e-3, train_losses});
  return checks;
}

}  // namespace tools
}  // namespace retort
