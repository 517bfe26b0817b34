// Element-wise front ends: unary maps, broadcasting binary ops, in-place updates.
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {

const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {"neg",  "exp",     "log",  "sqrt",   "rsqrt",      "abs",        "sign",
                                "relu", "relu6",   "sigmoid", "tanh", "square",    "reciprocal", "add_scalar",
                                "mul_scalar", "pow_scalar", "clamp"};
  return names[static_cast<int>(op)];
}

const char* binary_op_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "maximum", "minimum", "relu_backward",
                                "relu6_backward", "sigmoid_backward", "tanh_backward", "add_relu"};
  return names[static_cast<int>(op)];
}

namespace ops {

using namespace detail;

namespace {

// The broadcast shape of a and b (NumPy rules), or an error naming both.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.ndim(), b.ndim());
  std::vector<int64_t> out(n);
  for (int i = 0; i < n; ++i) {
    const int ia = i - (n - a.ndim()), ib = i - (n - b.ndim());
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    RETORT_CHECK(da == db || da == 1 || db == 1,
                 op << ": shapes " << a << " and " << b << " do not broadcast (dimension " << i << ": " << da
                    << " vs " << db << ")");
    out[i] = da == 1 ? db : da;
  }
  return Shape(out);
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x, float a, float b) {
  const char* name = unary_op_name(op);
  RETORT_PROFILE_OP(name);
  require_f32(x, name, "x");
  const Tensor c = x.contiguous();
  Tensor y = empty(x.shape(), DType::F32, x.device());
  if (x.device().is_cpu()) {
    cpu::unary(op, a, b, c.data<float>(), y.data<float>(), c.numel());
  } else {
#ifdef RETORT_WITH_CUDA
    cuda::unary(op, a, b, c.data<float>(), y.data<float>(), c.numel(), x.device().index);
#endif
  }
  return y;
}

Tensor neg(const Tensor& x) { return unary(UnaryOp::Neg, x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::Exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::Log, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::Sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary(UnaryOp::Rsqrt, x); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::Abs, x); }
Tensor sign(const Tensor& x) { return unary(UnaryOp::Sign, x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::Relu, x); }
Tensor relu6(const Tensor& x) { return unary(UnaryOp::Relu6, x); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::Sigmoid, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::Tanh, x); }
Tensor square(const Tensor& x) { return unary(UnaryOp::Square, x); }
Tensor reciprocal(const Tensor& x) { return unary(UnaryOp::Reciprocal, x); }
Tensor add_scalar(const Tensor& x, float a) { return unary(UnaryOp::AddScalar, x, a); }
Tensor mul_scalar(const Tensor& x, float a) { return unary(UnaryOp::MulScalar, x, a); }
Tensor pow_scalar(const Tensor& x, float a) { return unary(UnaryOp::PowScalar, x, a); }

Tensor clamp(const Tensor& x, float lo, float hi) {
  RETORT_CHECK(lo <= hi, "clamp: expected lo <= hi, found lo " << lo << " and hi " << hi);
  return unary(UnaryOp::Clamp, x, lo, hi);
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  RETORT_PROFILE_OP(name);
  require_f32(a, name, "a");
  require_f32(b, name, "b");
  require_same_device(a, b, name);
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  if (a.shape() == b.shape()) {
    Tensor y = empty(a.shape(), DType::F32, a.device());
    if (a.device().is_cpu()) {
      cpu::binary(op, ca.data<float>(), cb.data<float>(), y.data<float>(), y.numel());
    } else {
#ifdef RETORT_WITH_CUDA
      cuda::binary(op, ca.data<float>(), cb.data<float>(), y.data<float>(), y.numel(), a.device().index);
#endif
    }
    return y;
  }
  RETORT_CHECK(op <= BinaryOp::Minimum, name << ": expected equal shapes, found " << a.shape() << " and " << b.shape());
  const Shape out = broadcast_shape(a.shape(), b.shape(), name);
  Tensor y = empty(out, DType::F32, a.device());
  const StridedIndex ia = make_broadcast_index(a.shape(), out), ib = make_broadcast_index(b.shape(), out);
  if (a.device().is_cpu()) {
    cpu::binary_broadcast(op, ca.data<float>(), ia, cb.data<float>(), ib, y.data<float>(), y.numel());
  } else {
#ifdef RETORT_WITH_CUDA
    cuda::binary_broadcast(op, ca.data<float>(), ia, cb.data<float>(), ib, y.data<float>(), y.numel(),
                           a.device().index);
#endif
  }
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Minimum, a, b); }
Tensor relu_backward(const Tensor& dy, const Tensor& y) { return binary(BinaryOp::ReluBackward, dy, y); }
Tensor relu6_backward(const Tensor& dy, const Tensor& x) { return binary(BinaryOp::Relu6Backward, dy, x); }
Tensor sigmoid_backward(const Tensor& dy, const Tensor& y) { return binary(BinaryOp::SigmoidBackward, dy, y); }
Tensor tanh_backward(const Tensor& dy, const Tensor& y) { return binary(BinaryOp::TanhBackward, dy, y); }
Tensor add_relu(const Tensor& a, const Tensor& b) { return binary(BinaryOp::AddRelu, a, b); }

void add_(Tensor& a, const Tensor& b, float alpha) {
  RETORT_PROFILE_OP("add_");
  require_f32(a, "add_", "a");
  require_f32(b, "add_", "b");
  require_same_device(a, b, "add_");
  RETORT_CHECK(a.is_contiguous(), "add_: expected a contiguous destination, found strides " << a.strides());
  const Shape out = broadcast_shape(a.shape(), b.shape(), "add_");
  RETORT_CHECK(out == a.shape(), "add_: " << b.shape() << " does not broadcast to the destination " << a.shape());
  const Tensor cb = b.contiguous();
  a.bump_version();
  const StridedIndex ib = make_broadcast_index(b.shape(), a.shape());
  if (a.device().is_cpu()) {
    cpu::add_inplace(a.data<float>(), cb.data<float>(), ib, alpha, a.numel(), a.shape() == b.shape());
  } else {
#ifdef RETORT_WITH_CUDA
    cuda::add_inplace(a.data<float>(), cb.data<float>(), ib, alpha, a.numel(), a.device().index);
#endif
  }
}

void mul_(Tensor& a, float s) {
  RETORT_PROFILE_OP("mul_");
  require_f32(a, "mul_", "a");
  RETORT_CHECK(a.is_contiguous(), "mul_: expected a contiguous tensor, found strides " << a.strides());
  a.bump_version();
  if (a.device().is_cpu()) {
    cpu::scale_inplace(a.data<float>(), s, a.numel());
  } else {
#ifdef RETORT_WITH_CUDA
    cuda::unary(UnaryOp::MulScalar, s, 0.0f, a.data<float>(), a.data<float>(), a.numel(), a.device().index);
#endif
  }
}

}  // namespace ops
}  // namespace retort
