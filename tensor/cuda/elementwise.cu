// Element-wise, copy, cast and random kernels: grid-stride loops over the
// shared functors and index maps of tensor/kernels/, on the device's stream.
#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.cuh"

namespace retort {
namespace cuda {

namespace {

template <class T> __global__ void strided_copy_kernel(T* dst, const T* src, int64_t n, StridedIndex index) {
  RETORT_GRID_STRIDE(i, n) dst[i] = src[index.at(i)];
}

template <class T> __global__ void strided_scatter_kernel(T* dst, const T* src, int64_t n, StridedIndex index) {
  RETORT_GRID_STRIDE(i, n) dst[index.at(i)] = src[i];
}

template <class T> __global__ void fill_kernel(T* dst, T value, int64_t n) {
  RETORT_GRID_STRIDE(i, n) dst[i] = value;
}

template <class S, class D> __device__ D convert(S v) {
  if constexpr (std::is_same<D, uint8_t>::value && std::is_same<S, float>::value) {
    if (!(v > 0.0f)) return 0;
    return v >= 255.0f ? 255 : static_cast<uint8_t>(v);
  } else if constexpr (std::is_same<D, uint8_t>::value && std::is_same<S, int64_t>::value) {
    return v < 0 ? 0 : (v > 255 ? 255 : static_cast<uint8_t>(v));
  } else if constexpr (std::is_same<D, int64_t>::value && std::is_same<S, float>::value) {
    if (v != v) return 0;
    if (v >= 9.2233720368547758e18f) return INT64_MAX;
    if (v <= -9.2233720368547758e18f) return INT64_MIN;
    return static_cast<int64_t>(v);
  } else {
    return static_cast<D>(v);
  }
}

template <class S, class D> __global__ void cast_kernel(const S* src, D* dst, int64_t n) {
  RETORT_GRID_STRIDE(i, n) dst[i] = convert<S, D>(src[i]);
}

template <class F> __global__ void unary_kernel(F f, const float* x, float* y, int64_t n) {
  RETORT_GRID_STRIDE(i, n) y[i] = f(x[i]);
}

template <class F> __global__ void binary_kernel(F f, const float* a, const float* b, float* y, int64_t n) {
  RETORT_GRID_STRIDE(i, n) y[i] = f(a[i], b[i]);
}

template <class F>
__global__ void broadcast_kernel(F f, const float* a, StridedIndex ia, const float* b, StridedIndex ib, float* y,
                                 int64_t n) {
  RETORT_GRID_STRIDE(i, n) y[i] = f(a[ia.at(i)], b[ib.at(i)]);
}

__global__ void add_inplace_kernel(float* a, const float* b, StridedIndex ib, float alpha, int64_t n) {
  RETORT_GRID_STRIDE(i, n) a[i] += alpha * b[ib.at(i)];
}

__global__ void uniform_kernel(float* y, int64_t n, float lo, float hi, PhiloxState s) {
  RETORT_GRID_STRIDE(i, n) y[i] = philox_uniform_range(philox_at(s, i).v[0], lo, hi);  // the CPU body
}

__global__ void normal_kernel(float* y, int64_t n, float mean, float std, PhiloxState s) {
  RETORT_GRID_STRIDE(i, n) {
    const Philox4 r = philox_at(s, i);
    y[i] = mean + std * philox_normal(r.v[0], r.v[1]);
  }
}

__global__ void dropout_kernel(float* mask, int64_t n, float p, float keep_scale, PhiloxState s) {
  RETORT_GRID_STRIDE(i, n) mask[i] = philox_uniform(philox_at(s, i).v[0]) < p ? 0.0f : keep_scale;
}

__global__ void randint_kernel(int64_t* y, int64_t n, int64_t high, PhiloxState s) {
  RETORT_GRID_STRIDE(i, n) y[i] = philox_randint(philox_at(s, i), high);
}

template <class S> void cast_from(const S* src, void* dst, int dst_kind, int64_t n, cudaStream_t st) {
  switch (dst_kind) {
    case 0:
      cast_kernel<<<grid_for(n), 256, 0, st>>>(src, static_cast<float*>(dst), n);
      RETORT_CUDA_LAUNCH_CHECK("cast_kernel");
      break;
    case 1:
      cast_kernel<<<grid_for(n), 256, 0, st>>>(src, static_cast<int64_t*>(dst), n);
      RETORT_CUDA_LAUNCH_CHECK("cast_kernel");
      break;
    default:
      cast_kernel<<<grid_for(n), 256, 0, st>>>(src, static_cast<uint8_t*>(dst), n);
      RETORT_CUDA_LAUNCH_CHECK("cast_kernel");
      break;
  }
}

}  // namespace

void strided_copy(void* dst, const void* src, size_t elem_size, int64_t n, const StridedIndex& index, int device) {
  DeviceGuard guard(device);
  if (elem_size == 1) {
    strided_copy_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), n, index);
  } else if (elem_size == 4) {
    strided_copy_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), n, index);
  } else {
    strided_copy_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), n, index);
  }
  RETORT_CUDA_LAUNCH_CHECK("strided_copy_kernel");
}

void strided_scatter(void* dst, const void* src, size_t elem_size, int64_t n, const StridedIndex& index, int device) {
  DeviceGuard guard(device);
  if (elem_size == 1) {
    strided_scatter_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), n, index);
  } else if (elem_size == 4) {
    strided_scatter_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), n, index);
  } else {
    strided_scatter_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), n, index);
  }
  RETORT_CUDA_LAUNCH_CHECK("strided_scatter_kernel");
}

void fill(void* dst, size_t elem_size, const void* value, int64_t n, int device) {
  DeviceGuard guard(device);
  if (elem_size == 1) {
    fill_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint8_t*>(dst), *static_cast<const uint8_t*>(value), n);
  } else if (elem_size == 4) {
    fill_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint32_t*>(dst), *static_cast<const uint32_t*>(value), n);
  } else {
    fill_kernel<<<grid_for(n), 256, 0, stream(device)>>>(static_cast<uint64_t*>(dst), *static_cast<const uint64_t*>(value), n);
  }
  RETORT_CUDA_LAUNCH_CHECK("fill_kernel");
}

void cast(const void* src, int src_kind, void* dst, int dst_kind, int64_t n, int device) {
  DeviceGuard guard(device);
  if (src_kind == 0) cast_from(static_cast<const float*>(src), dst, dst_kind, n, stream(device));
  else if (src_kind == 1) cast_from(static_cast<const int64_t*>(src), dst, dst_kind, n, stream(device));
  else cast_from(static_cast<const uint8_t*>(src), dst, dst_kind, n, stream(device));
}

void unary(UnaryOp op, float a, float b, const float* x, float* y, int64_t n, int device) {
  DeviceGuard guard(device);
  visit_unary(op, a, b, [&](auto f) {
    unary_kernel<<<grid_for(n), 256, 0, stream(device)>>>(f, x, y, n);
    RETORT_CUDA_LAUNCH_CHECK("unary_kernel");
  });
}

void binary(BinaryOp op, const float* a, const float* b, float* y, int64_t n, int device) {
  DeviceGuard guard(device);
  visit_binary(op, [&](auto f) {
    binary_kernel<<<grid_for(n), 256, 0, stream(device)>>>(f, a, b, y, n);
    RETORT_CUDA_LAUNCH_CHECK("binary_kernel");
  });
}

void binary_broadcast(BinaryOp op, const float* a, const StridedIndex& ia, const float* b, const StridedIndex& ib,
                      float* y, int64_t n, int device) {
  DeviceGuard guard(device);
  visit_binary(op, [&](auto f) {
    broadcast_kernel<<<grid_for(n), 256, 0, stream(device)>>>(f, a, ia, b, ib, y, n);
    RETORT_CUDA_LAUNCH_CHECK("broadcast_kernel");
  });
}

void add_inplace(float* a, const float* b, const StridedIndex& ib, float alpha, int64_t n, int device) {
  DeviceGuard guard(device);
  add_inplace_kernel<<<grid_for(n), 256, 0, stream(device)>>>(a, b, ib, alpha, n);
  RETORT_CUDA_LAUNCH_CHECK("add_inplace_kernel");
}

void uniform(float* y, int64_t n, float lo, float hi, const PhiloxState& s, int device) {
  DeviceGuard guard(device);
  uniform_kernel<<<grid_for(n), 256, 0, stream(device)>>>(y, n, lo, hi, s);
  RETORT_CUDA_LAUNCH_CHECK("uniform_kernel");
}

void normal(float* y, int64_t n, float mean, float std, const PhiloxState& s, int device) {
  DeviceGuard guard(device);
  normal_kernel<<<grid_for(n), 256, 0, stream(device)>>>(y, n, mean, std, s);
  RETORT_CUDA_LAUNCH_CHECK("normal_kernel");
}

void dropout_mask(float* mask, int64_t n, float p, const PhiloxState& s, int device) {
  DeviceGuard guard(device);
  dropout_kernel<<<grid_for(n), 256, 0, stream(device)>>>(mask, n, p, 1.0f / (1.0f - p), s);
  RETORT_CUDA_LAUNCH_CHECK("dropout_kernel");
}

void randint(int64_t* y, int64_t n, int64_t high, const PhiloxState& s, int device) {
  DeviceGuard guard(device);
  randint_kernel<<<grid_for(n), 256, 0, stream(device)>>>(y, n, high, s);
  RETORT_CUDA_LAUNCH_CHECK("randint_kernel");
}

}  // namespace cuda
}  // namespace retort
