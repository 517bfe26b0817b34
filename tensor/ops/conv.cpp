// Convolution front ends: shape checks and geometry, then the device kernel.
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

#ifdef RETORT_WITH_CUDA
#include "tensor/cuda/conv.h"
#endif

namespace retort {
namespace ops {

using namespace detail;

namespace {

ConvGeom make_geom(const Shape& x, const Shape& w, const Conv2dOptions& o, const char* op) {
  RETORT_CHECK(x.ndim() == 4, op << ": expected input [N, H, W, C], found " << x);
  RETORT_CHECK(w.ndim() == 4, op << ": expected weight [O, C/groups, KH, KW], found " << w);
  RETORT_CHECK(o.groups >= 1 && o.stride_h >= 1 && o.stride_w >= 1 && o.dilation_h >= 1 && o.dilation_w >= 1 &&
                   o.pad_h >= 0 && o.pad_w >= 0,
               op << ": expected groups, strides and dilations >= 1 and padding >= 0, found groups " << o.groups
                  << ", stride (" << o.stride_h << ", " << o.stride_w << "), padding (" << o.pad_h << ", " << o.pad_w
                  << "), dilation (" << o.dilation_h << ", " << o.dilation_w << ")");
  ConvGeom g{};
  g.N = x[0];
  g.H = x[1];
  g.W = x[2];
  g.C = x[3];
  g.O = w[0];
  g.KH = w[2];
  g.KW = w[3];
  g.SH = o.stride_h;
  g.SW = o.stride_w;
  g.PH = o.pad_h;
  g.PW = o.pad_w;
  g.DH = o.dilation_h;
  g.DW = o.dilation_w;
  g.G = o.groups;
  RETORT_CHECK(g.C % g.G == 0 && g.O % g.G == 0,
               op << ": expected input channels " << g.C << " and output channels " << g.O << " divisible by groups "
                  << g.G);
  RETORT_CHECK(w[1] == g.C / g.G, op << ": expected weight [" << g.O << ", " << g.C / g.G << ", KH, KW] for input "
                                     << x << " and groups " << g.G << ", found " << w);
  g.OH = conv_out_size(g.H, g.KH, g.SH, g.PH, g.DH);
  g.OW = conv_out_size(g.W, g.KW, g.SW, g.PW, g.DW);
  RETORT_CHECK(g.OH >= 1 && g.OW >= 1, op << ": input " << x << " is smaller than the dilated kernel " << w
                                          << " with padding (" << g.PH << ", " << g.PW << ")");
  return g;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& o) {
  RETORT_PROFILE_OP("conv2d");
  require_f32(x, "conv2d", "input");
  require_f32(w, "conv2d", "weight");
  require_same_device(x, w, "conv2d");
  const ConvGeom g = make_geom(x.shape(), w.shape(), o, "conv2d");
  const float* b = nullptr;
  Tensor cbias;
  if (bias.defined()) {
    require_f32(bias, "conv2d", "bias");
    require_same_device(x, bias, "conv2d");
    RETORT_CHECK(bias.ndim() == 1 && bias.size(0) == g.O, "conv2d: expected bias [" << g.O << "], found "
                                                                                    << bias.shape());
    cbias = bias.contiguous();
    b = cbias.data<float>();
  }
  const Tensor cx = x.contiguous(), cw = w.contiguous();
  Tensor y = empty(Shape{g.N, g.OH, g.OW, g.O}, DType::F32, x.device());
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::conv2d_forward(g, cx.data<float>(), cw.data<float>(), y.data<float>(), x.device().index);
    if (b != nullptr) add_(y, cbias);  // broadcast over [N, OH, OW]
#endif
  } else {
    cpu::conv2d_forward(g, cx.data<float>(), cw.data<float>(), b, y.data<float>());
  }
  return y;
}

Tensor conv2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dOptions& o) {
  RETORT_PROFILE_OP("conv2d_backward_input");
  require_f32(dy, "conv2d_backward_input", "dy");
  require_f32(w, "conv2d_backward_input", "weight");
  require_same_device(dy, w, "conv2d_backward_input");
  const ConvGeom g = make_geom(x_shape, w.shape(), o, "conv2d_backward_input");
  const Shape expected{g.N, g.OH, g.OW, g.O};
  RETORT_CHECK(dy.shape() == expected, "conv2d_backward_input: expected dy " << expected << ", found " << dy.shape());
  const Tensor cdy = dy.contiguous(), cw = w.contiguous();
  Tensor dx = empty(x_shape, DType::F32, dy.device());
  if (dy.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::conv2d_backward_input(g, cdy.data<float>(), cw.data<float>(), dx.data<float>(), dy.device().index);
#endif
  } else {
    cpu::conv2d_backward_input(g, cdy.data<float>(), cw.data<float>(), dx.data<float>());
  }
  return dx;
}

Tensor conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape, const Conv2dOptions& o) {
  RETORT_PROFILE_OP("conv2d_backward_weight");
  require_f32(dy, "conv2d_backward_weight", "dy");
  require_f32(x, "conv2d_backward_weight", "input");
  require_same_device(dy, x, "conv2d_backward_weight");
  const ConvGeom g = make_geom(x.shape(), w_shape, o, "conv2d_backward_weight");
  const Shape expected{g.N, g.OH, g.OW, g.O};
  RETORT_CHECK(dy.shape() == expected, "conv2d_backward_weight: expected dy " << expected << ", found " << dy.shape());
  const Tensor cdy = dy.contiguous(), cx = x.contiguous();
  Tensor dw = empty(w_shape, DType::F32, dy.device());
  if (dy.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::conv2d_backward_weight(g, cdy.data<float>(), cx.data<float>(), dw.data<float>(), dy.device().index);
#endif
  } else {
    cpu::conv2d_backward_weight(g, cdy.data<float>(), cx.data<float>(), dw.data<float>());
  }
  return dw;
}

Tensor conv2d_backward_bias(const Tensor& dy) {
  RETORT_PROFILE_OP("conv2d_backward_bias");
  require_f32(dy, "conv2d_backward_bias", "dy");
  RETORT_CHECK(dy.ndim() >= 1, "conv2d_backward_bias: expected dy [..., O], found " << dy.shape());
  return sum(dy.reshape({-1, dy.size(-1)}), 0);
}

}  // namespace ops
}  // namespace retort
