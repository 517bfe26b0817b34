// Matrix products.
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/profiler.h"

#ifdef RETORT_WITH_CUDA
#include "tensor/cuda/gemm.h"
#endif

namespace retort {
namespace ops {

using namespace detail;

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  RETORT_PROFILE_OP("matmul");
  require_f32(a, "matmul", "a");
  require_f32(b, "matmul", "b");
  require_rank(a, 2, "matmul", "a");
  require_rank(b, 2, "matmul", "b");
  require_same_device(a, b, "matmul");
  const int64_t M = trans_a ? a.size(1) : a.size(0), Ka = trans_a ? a.size(0) : a.size(1);
  const int64_t Kb = trans_b ? b.size(1) : b.size(0), N = trans_b ? b.size(0) : b.size(1);
  RETORT_CHECK(Ka == Kb, "matmul: inner sizes differ: op(a) is [" << M << ", " << Ka << "], op(b) is [" << Kb << ", "
                                                                  << N << "] (a " << a.shape() << ", b " << b.shape()
                                                                  << ")");
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  Tensor y = empty(Shape{M, N}, DType::F32, a.device());
  const cpu::GemmArgs args{trans_a, trans_b, M, N, Ka, 1.0f, ca.data<float>(), a.size(1), cb.data<float>(),
                           b.size(1), 0.0f, y.data<float>(), N};
  if (a.device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
    cuda::gemm(args, a.device().index);
#endif
  } else {
    cpu::gemm_parallel(args);
  }
  return y;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  RETORT_PROFILE_OP("linear");
  require_f32(x, "linear", "x");
  require_f32(w, "linear", "w");
  require_rank(x, 2, "linear", "x");
  require_rank(w, 2, "linear", "w");
  RETORT_CHECK(x.size(1) == w.size(1), "linear: expected x with " << w.size(1) << " features for weight " << w.shape()
                                                                  << ", found x " << x.shape());
  Tensor y = matmul(x, w, false, true);
  if (bias.defined()) {
    require_f32(bias, "linear", "bias");
    RETORT_CHECK(bias.ndim() == 1 && bias.size(0) == w.size(0),
                 "linear: expected bias [" << w.size(0) << "], found " << bias.shape());
    add_(y, bias);
  }
  return y;
}

}  // namespace ops
}  // namespace retort
