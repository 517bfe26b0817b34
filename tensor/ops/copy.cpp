// copy_, fill_, cast and the NCHW <-> NHWC boundary conversions.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/ops/common.h"
#include "tensor/parallel.h"
#include "tensor/profiler.h"

namespace retort {
namespace ops {

using namespace detail;

namespace {

// Copies between two tensors on the same device.
void copy_same_device(Tensor& dst, const Tensor& src) {
  const int64_t n = src.numel();
  const size_t es = dtype_size(src.dtype());
  if (dst.device().is_cpu()) {
    if (src.is_contiguous() && dst.is_contiguous()) {
      char* d = static_cast<char*>(dst.raw());
      const char* s = static_cast<const char*>(src.raw());
      parallel_for(0, n, 1 << 16, [&](int64_t lo, int64_t hi) { std::memcpy(d + lo * es, s + lo * es, (hi - lo) * es); });
    } else if (dst.is_contiguous()) {
      const char* base = static_cast<const char*>(src.storage()->data());
      cpu::strided_copy(dst.raw(), base, es, n, make_strided_index(src.shape(), src.strides(), src.offset()));
    } else {
      Tensor tmp = src.clone();  // contiguous; then scatter through dst's strides
      char* base = static_cast<char*>(dst.storage()->data());
      const StridedIndex di = make_strided_index(dst.shape(), dst.strides(), dst.offset());
      const char* s = static_cast<const char*>(tmp.raw());
      for (int64_t i = 0; i < n; ++i) std::memcpy(base + di.at(i) * es, s + i * es, es);
    }
    return;
  }
#ifdef RETORT_WITH_CUDA
  if (!dst.is_contiguous()) {
    Tensor tmp = empty(dst.shape(), dst.dtype(), dst.device());
    copy_same_device(tmp, src);
    cuda::strided_scatter(dst.storage()->data(), tmp.raw(), es, n,
                          make_strided_index(dst.shape(), dst.strides(), dst.offset()), dst.device().index);
    return;
  }
  cuda::strided_copy(dst.raw(), src.storage()->data(), es, n,
                     make_strided_index(src.shape(), src.strides(), src.offset()), dst.device().index);
#endif
}

}  // namespace

void copy_(Tensor& dst, const Tensor& src) {
  RETORT_PROFILE_OP("copy_");
  require_defined(dst, "copy_", "dst");
  require_defined(src, "copy_", "src");
  RETORT_CHECK(dst.dtype() == src.dtype(), "copy_: expected equal dtypes, found " << dtype_name(dst.dtype()) << " and "
                                                                                  << dtype_name(src.dtype()));
  require_same_shape(dst, src, "copy_");
  dst.bump_version();
  if (src.numel() == 0) return;
  if (dst.device() == src.device()) return copy_same_device(dst, src);
#ifdef RETORT_WITH_CUDA
  // Across devices: stage through contiguous buffers, then one memcpy.
  const Tensor s = src.contiguous();
  Tensor d = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype(), dst.device());
  if (s.device().is_cpu()) cuda::memcpy_h2d(d.raw(), s.raw(), s.nbytes(), d.device().index);
  else if (d.device().is_cpu()) cuda::memcpy_d2h(d.raw(), s.raw(), s.nbytes(), s.device().index);
  else cuda::memcpy_d2d(d.raw(), d.device().index, s.raw(), s.device().index, s.nbytes());
  if (!dst.is_contiguous()) copy_same_device(dst, d);
#else
  RETORT_FAIL("copy_: cannot copy from " << src.device() << " to " << dst.device() << " in a build without CUDA");
#endif
}

void fill_(Tensor& t, double value) {
  RETORT_PROFILE_OP("fill_");
  require_defined(t, "fill_", "t");
  RETORT_CHECK(t.is_contiguous(), "fill_: expected a contiguous tensor, found strides " << t.strides());
  t.bump_version();
  union {
    float f;
    int64_t i;
    uint8_t u;
  } v;
  // The conversions of cast(): truncation toward zero, saturation at the ends of the
  // range, NaN -> 0 (a plain static_cast of an out-of-range double is undefined).
  switch (t.dtype()) {
    case DType::F32: v.f = static_cast<float>(value); break;
    case DType::I64:
      v.i = std::isnan(value) ? 0
            : value >= 9.2233720368547758e18 ? INT64_MAX
            : value <= -9.2233720368547758e18 ? INT64_MIN
                                               : static_cast<int64_t>(value);
      break;
    case DType::U8: v.u = !(value > 0.0) ? 0 : (value >= 255.0 ? 255 : static_cast<uint8_t>(value)); break;
  }
  if (t.device().is_cpu()) return cpu::fill(t.raw(), dtype_size(t.dtype()), &v, t.numel());
#ifdef RETORT_WITH_CUDA
  cuda::fill(t.raw(), dtype_size(t.dtype()), &v, t.numel(), t.device().index);
#endif
}

Tensor cast(const Tensor& x, DType to) {
  RETORT_PROFILE_OP("cast");
  require_defined(x, "cast", "x");
  const Tensor c = x.contiguous();
  if (c.dtype() == to) return c.clone();
  Tensor y = empty(x.shape(), to, x.device());
  if (x.device().is_cpu()) {
    cpu::cast(c.raw(), dtype_kind(c.dtype()), y.raw(), dtype_kind(to), c.numel());
  } else {
#ifdef RETORT_WITH_CUDA
    cuda::cast(c.raw(), dtype_kind(c.dtype()), y.raw(), dtype_kind(to), c.numel(), x.device().index);
#endif
  }
  return y;
}

Tensor nchw_to_nhwc(const Tensor& x) {
  RETORT_PROFILE_OP("nchw_to_nhwc");
  require_defined(x, "nchw_to_nhwc", "x");
  require_rank(x, 4, "nchw_to_nhwc", "x");
  return x.permute({0, 2, 3, 1}).contiguous();
}

Tensor nhwc_to_nchw(const Tensor& x) {
  RETORT_PROFILE_OP("nhwc_to_nchw");
  require_defined(x, "nhwc_to_nchw", "x");
  require_rank(x, 4, "nhwc_to_nchw", "x");
  return x.permute({0, 3, 1, 2}).contiguous();
}

}  // namespace ops
}  // namespace retort
