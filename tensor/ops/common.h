// Checks shared by the op front ends. Each names the op and what it found.
#pragma once
#include "tensor/tensor.h"

#ifdef RETORT_WITH_CUDA
#include "tensor/cuda/kernels.h"
#endif

namespace retort {
namespace ops {
namespace detail {

inline void require_defined(const Tensor& t, const char* op, const char* name) {
  RETORT_CHECK(t.defined(), op << ": expected a defined tensor for " << name << ", found an undefined one");
}

inline void require_f32(const Tensor& t, const char* op, const char* name) {
  require_defined(t, op, name);
  RETORT_CHECK(t.dtype() == DType::F32, op << ": expected " << name << " to be f32, found " << dtype_name(t.dtype())
                                           << " with shape " << t.shape());
}

inline void require_rank(const Tensor& t, int rank, const char* op, const char* name) {
  RETORT_CHECK(t.ndim() == rank, op << ": expected " << name << " of rank " << rank << ", found shape " << t.shape());
}

inline void require_same_device(const Tensor& a, const Tensor& b, const char* op) {
  RETORT_CHECK(a.device() == b.device(), op << ": expected tensors on one device, found " << a.device() << " and "
                                            << b.device());
}

inline void require_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  RETORT_CHECK(a.shape() == b.shape(), op << ": expected equal shapes, found " << a.shape() << " and " << b.shape());
}

inline int dtype_kind(DType t) { return t == DType::F32 ? 0 : (t == DType::I64 ? 1 : 2); }

}  // namespace detail
}  // namespace ops
}  // namespace retort
