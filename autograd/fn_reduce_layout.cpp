// Differentiable reductions and layout functions.
#include "autograd/function_node.h"
#include "autograd/functions.h"

namespace retort {
namespace autograd {

namespace {

// g reshaped to keep `dim` as extent 1, then broadcast to `shape`.
Tensor expand_reduced(const Tensor& g, const Shape& shape, int dim, bool keepdim, float scale) {
  std::vector<int64_t> kept = shape.vec();
  kept[dim] = 1;
  Tensor gk = keepdim ? g : g.reshape(kept);
  Tensor out = zeros(shape, DType::F32, g.device());
  ops::add_(out, gk, scale);
  return out;
}

}  // namespace

Variable sum(const Variable& x) {
  const Tensor y = ops::sum(x.value());
  if (!needs_graph({x})) return Variable(y);
  const Shape s = x.shape();
  return record("SumBackward", {x}, y, [s](const Grads& g, const Node&) {
    Tensor out = zeros(s, DType::F32, g[0].device());
    ops::add_(out, g[0]);
    return Grads{out};
  });
}

Variable mean(const Variable& x) {
  const Tensor y = ops::mean(x.value());
  if (!needs_graph({x})) return Variable(y);
  const Shape s = x.shape();
  return record("MeanBackward", {x}, y, [s](const Grads& g, const Node&) {
    Tensor out = zeros(s, DType::F32, g[0].device());
    ops::add_(out, g[0], 1.0f / static_cast<float>(s.numel()));
    return Grads{out};
  });
}

Variable sum(const Variable& x, int dim, bool keepdim) {
  const int a = x.shape().axis(dim);
  const Tensor y = ops::sum(x.value(), a, keepdim);
  if (!needs_graph({x})) return Variable(y);
  const Shape s = x.shape();
  return record("SumDimBackward", {x}, y, [s, a, keepdim](const Grads& g, const Node&) {
    return Grads{expand_reduced(g[0], s, a, keepdim, 1.0f)};
  });
}

Variable mean(const Variable& x, int dim, bool keepdim) {
  const int a = x.shape().axis(dim);
  const Tensor y = ops::mean(x.value(), a, keepdim);
  if (!needs_graph({x})) return Variable(y);
  const Shape s = x.shape();
  return record("MeanDimBackward", {x}, y, [s, a, keepdim](const Grads& g, const Node&) {
    return Grads{expand_reduced(g[0], s, a, keepdim, 1.0f / static_cast<float>(s[a]))};
  });
}

Variable max(const Variable& x, int dim, bool keepdim) {
  const int a = x.shape().axis(dim);
  ops::MaxResult r = ops::max(x.value(), a, keepdim);
  if (!needs_graph({x})) return Variable(r.values);
  const Shape s = x.shape();
  const Tensor idx = r.indices;
  return record("MaxDimBackward", {x}, r.values, [s, a, idx](const Grads& g, const Node&) {
    return Grads{ops::max_backward(g[0], idx, s, a)};
  });
}

Variable reshape(const Variable& x, const std::vector<int64_t>& dims) {
  const Tensor y = x.value().reshape(dims);
  if (!needs_graph({x})) return Variable(y);
  const std::vector<int64_t> back = x.shape().vec();
  return record("ReshapeBackward", {x}, y, [back](const Grads& g, const Node&) { return Grads{g[0].reshape(back)}; });
}

Variable permute(const Variable& x, const std::vector<int>& order) {
  const Tensor y = x.value().permute(order).contiguous();
  if (!needs_graph({x})) return Variable(y);
  std::vector<int> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) inverse[x.shape().axis(order[i])] = static_cast<int>(i);
  return record("PermuteBackward", {x}, y,
                [inverse](const Grads& g, const Node&) { return Grads{g[0].permute(inverse).contiguous()}; });
}

Variable narrow(const Variable& x, int dim, int64_t start, int64_t length) {
  const Tensor y = x.value().narrow(dim, start, length).contiguous();
  if (!needs_graph({x})) return Variable(y);
  const Shape s = x.shape();
  const int a = s.axis(dim);
  return record("NarrowBackward", {x}, y, [s, a, start, length](const Grads& g, const Node&) {
    Tensor out = zeros(s, DType::F32, g[0].device());
    Tensor window = out.narrow(a, start, length);
    ops::copy_(window, g[0]);
    return Grads{out};
  });
}

Variable cat(const std::vector<Variable>& xs, int dim) {
  std::vector<Tensor> values;
  for (const Variable& x : xs) values.push_back(x.value());
  const Tensor y = ops::cat(values, dim);
  if (!needs_graph(xs)) return Variable(y);
  std::vector<int64_t> sizes;
  const int a = y.shape().axis(dim);
  for (const Tensor& v : values) sizes.push_back(v.shape()[a]);
  return record("CatBackward", xs, y, [sizes, a](const Grads& g, const Node&) { return ops::split(g[0], sizes, a); });
}

std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int dim) {
  const std::vector<Tensor> pieces = ops::split(x.value(), sizes, dim);
  if (!needs_graph({x})) {
    std::vector<Variable> out;
    for (const Tensor& p : pieces) out.emplace_back(p);
    return out;
  }
  const int a = x.shape().axis(dim);
  std::vector<Shape> shapes;
  for (const Tensor& p : pieces) shapes.push_back(p.shape());
  return record_many("SplitBackward", {x}, pieces, [shapes, a](const Grads& g, const Node&) {
    std::vector<Tensor> parts;
    for (size_t i = 0; i < shapes.size(); ++i)
      parts.push_back(g[i].defined() ? g[i] : zeros(shapes[i], DType::F32, g[0].defined() ? g[0].device() : Device::cpu()));
    return Grads{ops::cat(parts, a)};
  });
}

Variable channel_shuffle(const Variable& x, int64_t groups) {
  const Tensor y = ops::channel_shuffle(x.value(), groups);
  if (!needs_graph({x})) return Variable(y);
  const int64_t inverse_groups = x.size(-1) / groups;  // shuffling with C/g groups undoes it
  return record("ChannelShuffleBackward", {x}, y, [inverse_groups](const Grads& g, const Node&) {
    return Grads{ops::channel_shuffle(g[0], inverse_groups)};
  });
}

Variable pad2d(const Variable& x, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  const Tensor y = ops::pad2d(x.value(), top, bottom, left, right, 0.0);
  if (!needs_graph({x})) return Variable(y);
  const int64_t h = x.size(-3), w = x.size(-2);
  return record("Pad2dBackward", {x}, y, [top, left, h, w](const Grads& g, const Node&) {
    return Grads{ops::crop2d(g[0], top, left, h, w)};
  });
}

Variable crop2d(const Variable& x, int64_t top, int64_t left, int64_t height, int64_t width) {
  const Tensor y = ops::crop2d(x.value(), top, left, height, width);
  if (!needs_graph({x})) return Variable(y);
  const int64_t bottom = x.size(-3) - top - height, right = x.size(-2) - left - width;
  return record("Crop2dBackward", {x}, y, [top, bottom, left, right](const Grads& g, const Node&) {
    return Grads{ops::pad2d(g[0], top, bottom, left, right, 0.0)};
  });
}

}  // namespace autograd
}  // namespace retort
