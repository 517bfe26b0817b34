// Softmax, log-softmax and cross-entropy over the last dimension.
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

namespace {

Tensor softmax_impl(const Tensor& x, float T, bool log, const char* op) {
  RETORT_PROFILE_OP(op);
  require_f32(x, op, "x");
  RETORT_CHECK(x.ndim() >= 1 && x.size(-1) > 0, op << ": expected x [..., C] with C > 0, found " << x.shape());
  RETORT_CHECK(T > 0.0f, op << ": expected a temperature > 0, found " << T);
  const Tensor c = x.contiguous();
  Tensor y = empty(x.shape(), DType::F32, x.device());
  const int64_t cols = x.size(-1), rows = x.numel() / cols;
  if (x.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    if (rows > 0) cuda::softmax_rows(c.data<float>(), y.data<float>(), rows, cols, T, log, x.device().index);
#endif
  } else {
    cpu::softmax_rows(c.data<float>(), y.data<float>(), rows, cols, T, log);
  }
  return y;
}

Tensor softmax_backward_impl(const Tensor& dy, const Tensor& y, float T, bool log, const char* op) {
  RETORT_PROFILE_OP(op);
  require_f32(dy, op, "dy");
  require_f32(y, op, "y");
  require_same_shape(dy, y, op);
  require_same_device(dy, y, op);
  RETORT_CHECK(T > 0.0f, op << ": expected a temperature > 0, found " << T);
  const Tensor cdy = dy.contiguous(), cy = y.contiguous();
  Tensor dx = empty(y.shape(), DType::F32, y.device());
  const int64_t cols = y.size(-1), rows = cols > 0 ? y.numel() / cols : 0;
  if (y.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    if (rows > 0 && cols > 0)
      cuda::softmax_backward_rows(cdy.data<float>(), cy.data<float>(), dx.data<float>(), rows, cols, T, log,
                                  y.device().index);
#endif
  } else {
    cpu::softmax_backward_rows(cdy.data<float>(), cy.data<float>(), dx.data<float>(), rows, cols, T, log);
  }
  return dx;
}

void check_ce(const Tensor& logits, const Tensor& labels, float smoothing, const char* op) {
  require_f32(logits, op, "logits");
  require_rank(logits, 2, op, "logits");
  if (labels.defined()) require_same_device(logits, labels, op);
  RETORT_CHECK(labels.defined() && labels.dtype() == DType::I64 && labels.ndim() == 1 &&
                   labels.size(0) == logits.size(0),
               op << ": expected i64 labels [" << logits.size(0) << "] for logits " << logits.shape() << ", found "
                  << (labels.defined() ? dtype_name(labels.dtype()) : "undefined") << " " << labels.shape());
  RETORT_CHECK(logits.size(0) > 0 && logits.size(1) > 0, op << ": expected a non-empty batch, found logits "
                                                            << logits.shape());
  RETORT_CHECK(smoothing >= 0.0f && smoothing <= 1.0f,
               op << ": expected label smoothing in [0, 1], found " << smoothing);
  const Tensor l = labels.contiguous().to(Device::cpu());
  const int64_t* p = l.data<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i)
    RETORT_CHECK(p[i] >= 0 && p[i] < logits.size(1), op << ": label " << p[i] << " at position " << i
                                                        << " is outside [0, " << logits.size(1) << ")");
}

}  // namespace

Tensor softmax(const Tensor& x, float T) { return softmax_impl(x, T, false, "softmax"); }
Tensor log_softmax(const Tensor& x, float T) { return softmax_impl(x, T, true, "log_softmax"); }
Tensor softmax_backward(const Tensor& dy, const Tensor& y, float T) {
  return softmax_backward_impl(dy, y, T, false, "softmax_backward");
}
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, float T) {
  return softmax_backward_impl(dy, y, T, true, "log_softmax_backward");
}

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, float label_smoothing) {
  RETORT_PROFILE_OP("cross_entropy");
  check_ce(logits, labels, label_smoothing, "cross_entropy");
  const Tensor z = logits.contiguous(), l = labels.contiguous();
  if (z.device().is_cuda()) {
    Tensor loss = empty(Shape{}, DType::F32, z.device());
#ifdef RETORT_WITH_CUDA
    cuda::cross_entropy(z.data<float>(), l.data<int64_t>(), z.size(0), z.size(1), label_smoothing, loss.data<float>(),
                        z.device().index);
#endif
    return loss;
  }
  const double loss = cpu::cross_entropy(z.data<float>(), l.data<int64_t>(), z.size(0), z.size(1), label_smoothing);
  return scalar(static_cast<float>(loss));
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels, float label_smoothing, float grad) {
  RETORT_PROFILE_OP("cross_entropy_backward");
  check_ce(logits, labels, label_smoothing, "cross_entropy_backward");
  const Tensor z = logits.contiguous(), l = labels.contiguous();
  Tensor dz = empty(z.shape(), DType::F32, z.device());
  if (z.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::cross_entropy_backward(z.data<float>(), l.data<int64_t>(), z.size(0), z.size(1), label_smoothing, grad,
                                 dz.data<float>(), z.device().index);
#endif
  } else {
    cpu::cross_entropy_backward(z.data<float>(), l.data<int64_t>(), z.size(0), z.size(1), label_smoothing, grad,
                                dz.data<float>());
  }
  return dz;
}

}  // namespace ops
}  // namespace retort
