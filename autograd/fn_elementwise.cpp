// Differentiable element-wise functions.
#include "autograd/function_node.h"
#include "autograd/functions.h"

namespace retort {
namespace autograd {

namespace {

// Gradient of a broadcast input: sum the output gradient back to its shape.
Tensor reduce_to(const Tensor& g, const Shape& shape) { return ops::sum_to(g, shape); }

// A unary function whose gradient is dy * d(x) for a derivative tensor d
// computed in the forward pass from x and y.
template <class Deriv>
Variable unary_fn(const char* name, const Variable& x, const Tensor& y, Deriv deriv) {
  if (!needs_graph({x})) return Variable(y);
  SavedTensor d(deriv(x.value(), y));
  return record(name, {x}, y, [d, name](const Grads& g, const Node&) { return Grads{ops::mul(g[0], d.get(name))}; });
}

}  // namespace

Variable add(const Variable& a, const Variable& b) {
  const Tensor y = ops::add(a.value(), b.value());
  if (!needs_graph({a, b})) return Variable(y);
  const Shape sa = a.shape(), sb = b.shape();
  return record("AddBackward", {a, b}, y, [sa, sb](const Grads& g, const Node& n) {
    return Grads{n.needs_input_grad(0) ? reduce_to(g[0], sa) : Tensor(),
                 n.needs_input_grad(1) ? reduce_to(g[0], sb) : Tensor()};
  });
}

Variable sub(const Variable& a, const Variable& b) {
  const Tensor y = ops::sub(a.value(), b.value());
  if (!needs_graph({a, b})) return Variable(y);
  const Shape sa = a.shape(), sb = b.shape();
  return record("SubBackward", {a, b}, y, [sa, sb](const Grads& g, const Node& n) {
    return Grads{n.needs_input_grad(0) ? reduce_to(g[0], sa) : Tensor(),
                 n.needs_input_grad(1) ? reduce_to(ops::neg(g[0]), sb) : Tensor()};
  });
}

Variable mul(const Variable& a, const Variable& b) {
  const Tensor y = ops::mul(a.value(), b.value());
  if (!needs_graph({a, b})) return Variable(y);
  SavedTensor sa(a.value()), sb(b.value());
  return record("MulBackward", {a, b}, y, [sa, sb](const Grads& g, const Node& n) {
    const Tensor& av = sa.get("MulBackward");
    const Tensor& bv = sb.get("MulBackward");
    return Grads{n.needs_input_grad(0) ? reduce_to(ops::mul(g[0], bv), av.shape()) : Tensor(),
                 n.needs_input_grad(1) ? reduce_to(ops::mul(g[0], av), bv.shape()) : Tensor()};
  });
}

Variable div(const Variable& a, const Variable& b) {
  const Tensor y = ops::div(a.value(), b.value());
  if (!needs_graph({a, b})) return Variable(y);
  SavedTensor sb(b.value()), sy(y);
  const Shape shape_a = a.shape();
  return record("DivBackward", {a, b}, y, [sb, sy, shape_a](const Grads& g, const Node& n) {
    const Tensor& bv = sb.get("DivBackward");
    Grads r(2);
    if (n.needs_input_grad(0)) r[0] = reduce_to(ops::div(g[0], bv), shape_a);
    // d(a/b)/db = -y/b
    if (n.needs_input_grad(1)) r[1] = reduce_to(ops::neg(ops::div(ops::mul(g[0], sy.get("DivBackward")), bv)), bv.shape());
    return r;
  });
}

namespace {

// max/min: the winner gets the gradient, ties split it in half (PyTorch).
Variable extremum(const char* name, const Variable& a, const Variable& b, bool is_max) {
  const Tensor y = is_max ? ops::maximum(a.value(), b.value()) : ops::minimum(a.value(), b.value());
  if (!needs_graph({a, b})) return Variable(y);
  SavedTensor sa(a.value()), sb(b.value());
  return record(name, {a, b}, y, [sa, sb, name, is_max](const Grads& g, const Node& n) {
    const Tensor av = sa.get(name), bv = sb.get(name);
    // weight for a: 1 where a wins, 0.5 on ties, 0 where b wins.
    const Tensor diff = is_max ? ops::sub(av, bv) : ops::sub(bv, av);
    const Tensor wa = ops::mul_scalar(ops::add_scalar(ops::sign(diff), 1.0f), 0.5f);
    Grads r(2);
    if (n.needs_input_grad(0)) r[0] = reduce_to(ops::mul(g[0], wa), av.shape());
    if (n.needs_input_grad(1)) r[1] = reduce_to(ops::mul(g[0], ops::add_scalar(ops::neg(wa), 1.0f)), bv.shape());
    return r;
  });
}

}  // namespace

Variable maximum(const Variable& a, const Variable& b) { return extremum("MaximumBackward", a, b, true); }
Variable minimum(const Variable& a, const Variable& b) { return extremum("MinimumBackward", a, b, false); }

Variable neg(const Variable& x) {
  const Tensor y = ops::neg(x.value());
  if (!needs_graph({x})) return Variable(y);
  return record("NegBackward", {x}, y, [](const Grads& g, const Node&) { return Grads{ops::neg(g[0])}; });
}

Variable exp(const Variable& x) {
  return unary_fn("ExpBackward", x, ops::exp(x.value()), [](const Tensor&, const Tensor& y) { return y; });
}

Variable log(const Variable& x) {
  return unary_fn("LogBackward", x, ops::log(x.value()),
                  [](const Tensor& xv, const Tensor&) { return ops::reciprocal(xv); });
}

Variable sqrt(const Variable& x) {
  return unary_fn("SqrtBackward", x, ops::sqrt(x.value()),
                  [](const Tensor&, const Tensor& y) { return ops::mul_scalar(ops::reciprocal(y), 0.5f); });
}

Variable abs(const Variable& x) {
  return unary_fn("AbsBackward", x, ops::abs(x.value()), [](const Tensor& xv, const Tensor&) { return ops::sign(xv); });
}

Variable relu(const Variable& x) {
  const Tensor y = ops::relu(x.value());
  if (!needs_graph({x})) return Variable(y);
  SavedTensor sy(y);
  return record("ReluBackward", {x}, y, [sy](const Grads& g, const Node&) {
    return Grads{ops::relu_backward(g[0], sy.get("ReluBackward"))};
  });
}

Variable add_relu(const Variable& a, const Variable& b) {
  const Tensor y = ops::add_relu(a.value(), b.value());
  if (!needs_graph({a, b})) return Variable(y);
  SavedTensor sy(y);
  return record("AddReluBackward", {a, b}, y, [sy](const Grads& g, const Node& n) {
    const Tensor d = ops::relu_backward(g[0], sy.get("AddReluBackward"));
    return Grads{n.needs_input_grad(0) ? d : Tensor(), n.needs_input_grad(1) ? d : Tensor()};
  });
}

Variable relu6(const Variable& x) {
  const Tensor y = ops::relu6(x.value());
  if (!needs_graph({x})) return Variable(y);
  SavedTensor sx(x.value());
  return record("Relu6Backward", {x}, y, [sx](const Grads& g, const Node&) {
    return Grads{ops::relu6_backward(g[0], sx.get("Relu6Backward"))};
  });
}

Variable sigmoid(const Variable& x) {
  const Tensor y = ops::sigmoid(x.value());
  if (!needs_graph({x})) return Variable(y);
  SavedTensor sy(y);
  return record("SigmoidBackward", {x}, y, [sy](const Grads& g, const Node&) {
    return Grads{ops::sigmoid_backward(g[0], sy.get("SigmoidBackward"))};
  });
}

Variable tanh(const Variable& x) {
  const Tensor y = ops::tanh(x.value());
  if (!needs_graph({x})) return Variable(y);
  SavedTensor sy(y);
  return record("TanhBackward", {x}, y, [sy](const Grads& g, const Node&) {
    return Grads{ops::tanh_backward(g[0], sy.get("TanhBackward"))};
  });
}

Variable square(const Variable& x) {
  return unary_fn("SquareBackward", x, ops::square(x.value()),
                  [](const Tensor& xv, const Tensor&) { return ops::mul_scalar(xv, 2.0f); });
}

Variable add_scalar(const Variable& x, float a) {
  const Tensor y = ops::add_scalar(x.value(), a);
  if (!needs_graph({x})) return Variable(y);
  return record("AddScalarBackward", {x}, y, [](const Grads& g, const Node&) { return Grads{g[0]}; });
}

Variable mul_scalar(const Variable& x, float a) {
  const Tensor y = ops::mul_scalar(x.value(), a);
  if (!needs_graph({x})) return Variable(y);
  return record("MulScalarBackward", {x}, y,
                [a](const Grads& g, const Node&) { return Grads{ops::mul_scalar(g[0], a)}; });
}

Variable pow_scalar(const Variable& x, float a) {
  return unary_fn("PowScalarBackward", x, ops::pow_scalar(x.value(), a), [a](const Tensor& xv, const Tensor&) {
    return a == 0.0f ? zeros(xv.shape(), DType::F32, xv.device()) : ops::mul_scalar(ops::pow_scalar(xv, a - 1.0f), a);
  });
}

Variable clamp(const Variable& x, float lo, float hi) {
  return unary_fn("ClampBackward", x, ops::clamp(x.value(), lo, hi), [lo, hi](const Tensor& xv, const Tensor&) {
    // 1 inside [lo, hi], 0 outside: (x == clamp(x)).
    const Tensor c = ops::clamp(xv, lo, hi);
    const Tensor d = ops::abs(ops::sub(xv, c));
    return ops::sub(ones(xv.shape(), DType::F32, xv.device()), ops::sign(d));
  });
}

}  // namespace autograd
}  // namespace retort
