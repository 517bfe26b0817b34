// Reductions: sum, mean, max/argmax over one dimension, over everything, and
// sum_to (the adjoint of broadcasting).
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

namespace {

Shape reduced_shape(const Shape& s, int axis, bool keepdim) {
  std::vector<int64_t> d;
  for (int i = 0; i < s.ndim(); ++i) {
    if (i != axis) d.push_back(s[i]);
    else if (keepdim) d.push_back(1);
  }
  return Shape(d);
}

// sum(x) / divisor as a scalar on x's device, summed in double.
Tensor sum_all_divided(const Tensor& x, double divisor) {
  const Tensor c = x.contiguous();
  if (x.device().is_cuda()) {
    Tensor y = empty(Shape{}, DType::F32, x.device());
#ifdef RETORT_WITH_CUDA
    cuda::sum_all(c.data<float>(), c.numel(), divisor, y.data<float>(), x.device().index);
#endif
    return y;
  }
  const double s = cpu::sum_all(c.data<float>(), c.numel());
  return scalar(static_cast<float>(s / divisor));
}

}  // namespace

Tensor sum(const Tensor& x, int dim, bool keepdim) {
  RETORT_PROFILE_OP("sum");
  require_f32(x, "sum", "x");
  const int a = x.shape().axis(dim);
  const Tensor c = x.contiguous();
  Tensor y = empty(reduced_shape(x.shape(), a, keepdim), DType::F32, x.device());
  const int64_t outer = x.shape().prod(0, a), n = x.shape()[a], inner = x.shape().prod(a + 1, x.ndim());
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    if (y.numel() > 0) cuda::sum_dim(c.data<float>(), y.data<float>(), outer, n, inner, x.device().index);
#endif
  } else {
    cpu::sum_dim(c.data<float>(), y.data<float>(), outer, n, inner);
  }
  return y;
}

Tensor mean(const Tensor& x, int dim, bool keepdim) {
  RETORT_PROFILE_OP("mean");
  require_f32(x, "mean", "x");
  const int a = x.shape().axis(dim);
  RETORT_CHECK(x.shape()[a] > 0, "mean: expected a non-empty dimension " << a << ", found shape " << x.shape());
  Tensor y = sum(x, dim, keepdim);
  mul_(y, 1.0f / static_cast<float>(x.shape()[a]));
  return y;
}

Tensor sum(const Tensor& x) {
  RETORT_PROFILE_OP("sum");
  require_f32(x, "sum", "x");
  return sum_all_divided(x, 1.0);
}

Tensor mean(const Tensor& x) {
  RETORT_PROFILE_OP("mean");
  require_f32(x, "mean", "x");
  RETORT_CHECK(x.numel() > 0, "mean: expected a non-empty tensor, found shape " << x.shape());
  return sum_all_divided(x, static_cast<double>(x.numel()));
}

MaxResult max(const Tensor& x, int dim, bool keepdim) {
  RETORT_PROFILE_OP("max");
  require_f32(x, "max", "x");
  const int a = x.shape().axis(dim);
  RETORT_CHECK(x.shape()[a] > 0, "max: expected a non-empty dimension " << a << ", found shape " << x.shape());
  const Tensor c = x.contiguous();
  const Shape out = reduced_shape(x.shape(), a, keepdim);
  MaxResult r{empty(out, DType::F32, x.device()), empty(out, DType::I64, x.device())};
  const int64_t outer = x.shape().prod(0, a), n = x.shape()[a], inner = x.shape().prod(a + 1, x.ndim());
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    if (r.values.numel() > 0)
      cuda::max_dim(c.data<float>(), r.values.data<float>(), r.indices.data<int64_t>(), outer, n, inner,
                    x.device().index);
#endif
  } else {
    cpu::max_dim(c.data<float>(), r.values.data<float>(), r.indices.data<int64_t>(), outer, n, inner);
  }
  return r;
}

Tensor max_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int dim) {
  RETORT_PROFILE_OP("max_backward");
  require_f32(dy, "max_backward", "dy");
  const int a = x_shape.axis(dim);
  const int64_t outer = x_shape.prod(0, a), n = x_shape[a], inner = x_shape.prod(a + 1, x_shape.ndim());
  RETORT_CHECK(dy.numel() == outer * inner && indices.dtype() == DType::I64 && indices.numel() == dy.numel(),
               "max_backward: expected dy and i64 indices with " << outer * inner << " elements for input " << x_shape
                                                                 << " reduced over " << a << ", found dy "
                                                                 << dy.shape() << " and indices " << indices.shape());
  require_same_device(dy, indices, "max_backward");
  const Tensor g = dy.contiguous(), idx = indices.contiguous();
  if (dy.device().is_cuda()) {
    // Indices come from max() on the device; one outside [0, n) is skipped
    // there (checking would cost a copy to the host and a synchronisation).
    Tensor dx = empty(x_shape, DType::F32, dy.device());
#ifdef RETORT_WITH_CUDA
    if (dx.numel() > 0)
      cuda::max_backward(g.data<float>(), idx.data<int64_t>(), dx.data<float>(), outer, n, inner, dy.device().index);
#endif
    return dx;
  }
  Tensor dx = zeros(x_shape);
  const int64_t* ip = idx.data<int64_t>();
  const float* gp = g.data<float>();
  float* out = dx.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t k = ip[o * inner + i];
      RETORT_CHECK(k >= 0 && k < n, "max_backward: index " << k << " is outside [0, " << n << ")");
      out[(o * n + k) * inner + i] = gp[o * inner + i];
    }
  return dx;
}

Tensor argmax(const Tensor& x, int dim, bool keepdim) { return max(x, dim, keepdim).indices; }

Tensor sum_to(const Tensor& x, const Shape& shape) {
  RETORT_PROFILE_OP("sum_to");
  require_f32(x, "sum_to", "x");
  if (x.shape() == shape) return x;
  const int lead = x.ndim() - shape.ndim();
  RETORT_CHECK(lead >= 0, "sum_to: cannot reduce " << x.shape() << " to the larger rank of " << shape);
  Tensor y = x;
  // Sum the leading dimensions away, then every dimension where the target has extent 1.
  for (int i = 0; i < lead; ++i) y = sum(y, 0, false);
  for (int i = 0; i < shape.ndim(); ++i) {
    RETORT_CHECK(shape[i] == y.shape()[i] || shape[i] == 1,
                 "sum_to: " << shape << " does not broadcast to " << x.shape());
    if (shape[i] == 1 && y.shape()[i] != 1) y = sum(y, i, true);
  }
  return y;
}

int64_t count_nonfinite(const Tensor& x) {
  require_f32(x, "count_nonfinite", "x");
  const Tensor c = x.contiguous();
  if (x.device().is_cuda()) {
    int64_t bad = 0;
#ifdef RETORT_WITH_CUDA
    Tensor count = empty(Shape{}, DType::I64, x.device());
    cuda::count_nonfinite(c.data<float>(), c.numel(), count.data<int64_t>(), x.device().index);
    bad = count.to(Device::cpu()).item<int64_t>();
#endif
    return bad;
  }
  return cpu::count_nonfinite(c.data<float>(), c.numel());
}

}  // namespace ops
}  // namespace retort
