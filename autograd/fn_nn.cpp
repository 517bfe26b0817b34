// Differentiable layer functions: matrix products, convolution, pooling,
// batch norm, dropout, softmax and cross-entropy.
#include "autograd/function_node.h"
#include "autograd/functions.h"

namespace retort {
namespace autograd {

Variable matmul(const Variable& a, const Variable& b, bool trans_a, bool trans_b) {
  const Tensor y = ops::matmul(a.value(), b.value(), trans_a, trans_b);
  if (!needs_graph({a, b})) return Variable(y);
  SavedTensor sa(a.value()), sb(b.value());
  return record("MatmulBackward", {a, b}, y, [sa, sb, trans_a, trans_b](const Grads& g, const Node& n) {
    const Tensor& av = sa.get("MatmulBackward");
    const Tensor& bv = sb.get("MatmulBackward");
    Grads r(2);
    // y = op(a) op(b): d op(a) = g op(b)^T, d op(b) = op(a)^T g.
    if (n.needs_input_grad(0))
      r[0] = trans_a ? ops::matmul(bv, g[0], trans_b, true) : ops::matmul(g[0], bv, false, !trans_b);
    if (n.needs_input_grad(1))
      r[1] = trans_b ? ops::matmul(g[0], av, true, trans_a) : ops::matmul(av, g[0], !trans_a, false);
    return r;
  });
}

Variable linear(const Variable& x, const Variable& w, const Variable& bias) {
  const Tensor y = ops::linear(x.value(), w.value(), bias.defined() ? bias.value() : Tensor());
  if (!needs_graph({x, w, bias})) return Variable(y);
  SavedTensor sx(x.value()), sw(w.value());
  return record("LinearBackward", {x, w, bias}, y, [sx, sw](const Grads& g, const Node& n) {
    Grads r(3);
    if (n.needs_input_grad(0)) r[0] = ops::matmul(g[0], sw.get("LinearBackward"));
    if (n.needs_input_grad(1)) r[1] = ops::matmul(g[0], sx.get("LinearBackward"), true, false);
    if (n.needs_input_grad(2)) r[2] = ops::sum(g[0], 0);
    return r;
  });
}

Variable conv2d(const Variable& x, const Variable& w, const Variable& bias, const ops::Conv2dOptions& o) {
  const Tensor y = ops::conv2d(x.value(), w.value(), bias.defined() ? bias.value() : Tensor(), o);
  if (!needs_graph({x, w, bias})) return Variable(y);
  // The input is saved only when the weight needs a gradient, the weight only when the input does.
  SavedTensor sx(w.requires_grad() ? x.value() : Tensor());
  SavedTensor sw(x.requires_grad() ? w.value() : Tensor());
  const Shape xs = x.shape(), ws = w.shape();
  return record("Conv2dBackward", {x, w, bias}, y, [sx, sw, xs, ws, o](const Grads& g, const Node& n) {
    Grads r(3);
    if (n.needs_input_grad(0)) r[0] = ops::conv2d_backward_input(g[0], sw.get("Conv2dBackward"), xs, o);
    if (n.needs_input_grad(1)) r[1] = ops::conv2d_backward_weight(g[0], sx.get("Conv2dBackward"), ws, o);
    if (n.needs_input_grad(2)) r[2] = ops::conv2d_backward_bias(g[0]);
    return r;
  });
}

Variable max_pool2d(const Variable& x, const ops::Pool2dOptions& o) {
  ops::MaxPoolResult r = ops::max_pool2d(x.value(), o);
  if (!needs_graph({x})) return Variable(r.y);
  const Tensor idx = r.indices;
  const Shape xs = x.shape();
  return record("MaxPool2dBackward", {x}, r.y, [idx, xs](const Grads& g, const Node&) {
    return Grads{ops::max_pool2d_backward(g[0], idx, xs)};
  });
}

Variable avg_pool2d(const Variable& x, const ops::Pool2dOptions& o) {
  const Tensor y = ops::avg_pool2d(x.value(), o);
  if (!needs_graph({x})) return Variable(y);
  const Shape xs = x.shape();
  return record("AvgPool2dBackward", {x}, y, [xs, o](const Grads& g, const Node&) {
    return Grads{ops::avg_pool2d_backward(g[0], xs, o)};
  });
}

Variable adaptive_avg_pool2d(const Variable& x, int64_t out_h, int64_t out_w) {
  const Tensor y = ops::adaptive_avg_pool2d(x.value(), out_h, out_w);
  if (!needs_graph({x})) return Variable(y);
  const Shape xs = x.shape();
  return record("AdaptiveAvgPool2dBackward", {x}, y, [xs](const Grads& g, const Node&) {
    return Grads{ops::adaptive_avg_pool2d_backward(g[0], xs)};
  });
}

Variable batch_norm(const Variable& x, const Variable& gamma, const Variable& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum, double eps, bool relu) {
  if (training) {
    ops::BatchNormOutput out = ops::batch_norm_train(x.value(), gamma.value(), beta.value(), running_mean, running_var,
                                                     momentum, eps, relu);
    if (!needs_graph({x, gamma, beta})) return Variable(out.y);
    SavedTensor sx(x.value()), sg(gamma.value()), sy;
    if (relu) sy = SavedTensor(out.y);
    const Tensor mean = out.save_mean, invstd = out.save_invstd;
    const char* name = relu ? "BatchNormReluBackward" : "BatchNormBackward";
    return record(name, {x, gamma, beta}, out.y, [sx, sg, sy, mean, invstd, name](const Grads& g, const Node&) {
      ops::BatchNormGrads r = ops::batch_norm_backward(g[0], sx.get(name), sg.get(name), mean, invstd,
                                                       sy.defined() ? sy.get(name) : Tensor());
      return Grads{r.dx, r.dgamma, r.dbeta};
    });
  }
  const Tensor y = ops::batch_norm_eval(x.value(), gamma.value(), beta.value(), running_mean, running_var, eps, relu);
  if (!needs_graph({x, gamma, beta})) return Variable(y);
  SavedTensor sx(x.value()), sg(gamma.value()), srm(running_mean), srv(running_var), sy;
  if (relu) sy = SavedTensor(y);
  const char* name = relu ? "BatchNormReluEvalBackward" : "BatchNormEvalBackward";
  return record(name, {x, gamma, beta}, y, [sx, sg, srm, srv, sy, eps, name](const Grads& g, const Node&) {
    ops::BatchNormGrads r = ops::batch_norm_eval_backward(g[0], sx.get(name), sg.get(name), srm.get(name),
                                                          srv.get(name), eps, sy.defined() ? sy.get(name) : Tensor());
    return Grads{r.dx, r.dgamma, r.dbeta};
  });
}

Variable dropout(const Variable& x, float p, Generator& gen, bool training) {
  if (!training || p == 0.0f) return x;
  ops::DropoutOutput out = ops::dropout(x.value(), p, gen);
  if (!needs_graph({x})) return Variable(out.y);
  const Tensor mask = out.mask;
  return record("DropoutBackward", {x}, out.y, [mask](const Grads& g, const Node&) { return Grads{ops::mul(g[0], mask)}; });
}

Variable softmax(const Variable& x, float T) {
  const Tensor y = ops::softmax(x.value(), T);
  if (!needs_graph({x})) return Variable(y);
  SavedTensor sy(y);
  return record("SoftmaxBackward", {x}, y, [sy, T](const Grads& g, const Node&) {
    return Grads{ops::softmax_backward(g[0], sy.get("SoftmaxBackward"), T)};
  });
}

Variable log_softmax(const Variable& x, float T) {
  const Tensor y = ops::log_softmax(x.value(), T);
  if (!needs_graph({x})) return Variable(y);
  SavedTensor sy(y);
  return record("LogSoftmaxBackward", {x}, y, [sy, T](const Grads& g, const Node&) {
    return Grads{ops::log_softmax_backward(g[0], sy.get("LogSoftmaxBackward"), T)};
  });
}

Variable cross_entropy(const Variable& logits, const Tensor& labels, float label_smoothing) {
  const Tensor y = ops::cross_entropy(logits.value(), labels, label_smoothing);
  if (!needs_graph({logits})) return Variable(y);
  SavedTensor sz(logits.value()), sl(labels);
  return record("CrossEntropyBackward", {logits}, y, [sz, sl, label_smoothing](const Grads& g, const Node&) {
    const float scale = g[0].to(Device::cpu()).item<float>();
    return Grads{ops::cross_entropy_backward(sz.get("CrossEntropyBackward"), sl.get("CrossEntropyBackward"),
                                             label_smoothing, scale)};
  });
}

}  // namespace autograd
}  // namespace retort
