// Pooling front ends (NHWC).
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

namespace {

PoolGeom make_geom(const Shape& x, const Pool2dOptions& o, const char* op) {
  RETORT_CHECK(x.ndim() == 4, op << ": expected input [N, H, W, C], found " << x);
  RETORT_CHECK(o.kernel_h >= 1 && o.kernel_w >= 1 && o.stride_h >= 1 && o.stride_w >= 1,
               op << ": expected kernel and stride >= 1, found kernel (" << o.kernel_h << ", " << o.kernel_w
                  << "), stride (" << o.stride_h << ", " << o.stride_w << ")");
  RETORT_CHECK(o.pad_h >= 0 && o.pad_w >= 0 && 2 * o.pad_h <= o.kernel_h && 2 * o.pad_w <= o.kernel_w,
               op << ": expected 0 <= padding <= kernel/2, found padding (" << o.pad_h << ", " << o.pad_w
                  << ") for kernel (" << o.kernel_h << ", " << o.kernel_w << ")");
  PoolGeom g{x[0], x[1], x[2], x[3], o.kernel_h, o.kernel_w, o.stride_h, o.stride_w, o.pad_h, o.pad_w, 0, 0,
             o.count_include_pad};
  g.OH = pool_out_size(g.H, g.KH, g.SH, g.PH, o.ceil_mode);
  g.OW = pool_out_size(g.W, g.KW, g.SW, g.PW, o.ceil_mode);
  RETORT_CHECK(g.OH >= 1 && g.OW >= 1, op << ": input " << x << " is smaller than the window (" << g.KH << ", "
                                          << g.KW << ") with padding (" << g.PH << ", " << g.PW << ")");
  return g;
}

PoolGeom adaptive_geom(const Shape& x, int64_t oh, int64_t ow, const char* op) {
  RETORT_CHECK(x.ndim() == 4, op << ": expected input [N, H, W, C], found " << x);
  RETORT_CHECK(oh >= 1 && ow >= 1, op << ": expected an output size >= 1, found (" << oh << ", " << ow << ")");
  RETORT_CHECK(x[1] >= 1 && x[2] >= 1, op << ": expected a non-empty image, found " << x);
  return PoolGeom{x[0], x[1], x[2], x[3], 0, 0, 0, 0, 0, 0, oh, ow, false};
}

void check_dy(const Tensor& dy, const PoolGeom& g, const char* op) {
  require_f32(dy, op, "dy");
  const Shape expected{g.N, g.OH, g.OW, g.C};
  RETORT_CHECK(dy.shape() == expected, op << ": expected dy " << expected << ", found " << dy.shape());
}

}  // namespace

MaxPoolResult max_pool2d(const Tensor& x, const Pool2dOptions& o) {
  RETORT_PROFILE_OP("max_pool2d");
  require_f32(x, "max_pool2d", "x");
  const PoolGeom g = make_geom(x.shape(), o, "max_pool2d");
  const Tensor c = x.contiguous();
  const Shape out{g.N, g.OH, g.OW, g.C};
  MaxPoolResult r{empty(out, DType::F32, x.device()), empty(out, DType::I64, x.device())};
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::max_pool2d(g, c.data<float>(), r.y.data<float>(), r.indices.data<int64_t>(), x.device().index);
#endif
  } else {
    cpu::max_pool2d(g, c.data<float>(), r.y.data<float>(), r.indices.data<int64_t>());
  }
  return r;
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape) {
  RETORT_PROFILE_OP("max_pool2d_backward");
  RETORT_CHECK(x_shape.ndim() == 4, "max_pool2d_backward: expected x_shape [N, H, W, C], found " << x_shape);
  require_f32(dy, "max_pool2d_backward", "dy");
  RETORT_CHECK(indices.dtype() == DType::I64 && indices.shape() == dy.shape() && dy.ndim() == 4 &&
                   dy.size(0) == x_shape[0] && dy.size(3) == x_shape[3],
               "max_pool2d_backward: expected i64 indices shaped like dy " << dy.shape() << " for input " << x_shape
                                                                           << ", found " << dtype_name(indices.dtype())
                                                                           << " " << indices.shape());
  require_same_device(dy, indices, "max_pool2d_backward");
  PoolGeom g{x_shape[0], x_shape[1], x_shape[2], x_shape[3], 0, 0, 0, 0, 0, 0, dy.size(1), dy.size(2), false};
  const Tensor cdy = dy.contiguous(), ci = indices.contiguous();
  Tensor dx = empty(x_shape, DType::F32, dy.device());
  if (dy.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::max_pool2d_backward(g, cdy.data<float>(), ci.data<int64_t>(), dx.data<float>(), dy.device().index);
#endif
  } else {
    cpu::max_pool2d_backward(g, cdy.data<float>(), ci.data<int64_t>(), dx.data<float>());
  }
  return dx;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& o) {
  RETORT_PROFILE_OP("avg_pool2d");
  require_f32(x, "avg_pool2d", "x");
  const PoolGeom g = make_geom(x.shape(), o, "avg_pool2d");
  const Tensor c = x.contiguous();
  Tensor y = empty(Shape{g.N, g.OH, g.OW, g.C}, DType::F32, x.device());
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::avg_pool2d(g, c.data<float>(), y.data<float>(), x.device().index);
#endif
  } else {
    cpu::avg_pool2d(g, c.data<float>(), y.data<float>());
  }
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Pool2dOptions& o) {
  RETORT_PROFILE_OP("avg_pool2d_backward");
  const PoolGeom g = make_geom(x_shape, o, "avg_pool2d_backward");
  check_dy(dy, g, "avg_pool2d_backward");
  const Tensor c = dy.contiguous();
  Tensor dx = empty(x_shape, DType::F32, dy.device());
  if (dy.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::avg_pool2d_backward(g, c.data<float>(), dx.data<float>(), dy.device().index);
#endif
  } else {
    cpu::avg_pool2d_backward(g, c.data<float>(), dx.data<float>());
  }
  return dx;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  RETORT_PROFILE_OP("adaptive_avg_pool2d");
  require_f32(x, "adaptive_avg_pool2d", "x");
  const PoolGeom g = adaptive_geom(x.shape(), out_h, out_w, "adaptive_avg_pool2d");
  const Tensor c = x.contiguous();
  Tensor y = empty(Shape{g.N, g.OH, g.OW, g.C}, DType::F32, x.device());
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::adaptive_avg_pool2d(g, c.data<float>(), y.data<float>(), x.device().index);
#endif
  } else {
    cpu::adaptive_avg_pool2d(g, c.data<float>(), y.data<float>());
  }
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape) {
  RETORT_PROFILE_OP("adaptive_avg_pool2d_backward");
  RETORT_CHECK(dy.ndim() == 4, "adaptive_avg_pool2d_backward: expected dy [N, OH, OW, C], found " << dy.shape());
  const PoolGeom g = adaptive_geom(x_shape, dy.size(1), dy.size(2), "adaptive_avg_pool2d_backward");
  check_dy(dy, g, "adaptive_avg_pool2d_backward");
  const Tensor c = dy.contiguous();
  Tensor dx = empty(x_shape, DType::F32, dy.device());
  if (dy.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::adaptive_avg_pool2d_backward(g, c.data<float>(), dx.data<float>(), dy.device().index);
#endif
  } else {
    cpu::adaptive_avg_pool2d_backward(g, c.data<float>(), dx.data<float>());
  }
  return dx;
}

}  // namespace ops
}  // namespace retort
