// Concatenation pieces and channel shuffle on the device: one thread per
// element, the index arithmetic from tensor/kernels/layout.h.
#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.cuh"
#include "tensor/kernels/layout.h"

namespace retort {
namespace cuda {

namespace {

// to_y: whole[slab_offset(j)] = piece[j]; otherwise piece[j] = whole[slab_offset(j)].
template <class T>
__global__ void copy_slab_kernel(T* piece, T* whole, int64_t n_i, int64_t n_total, int64_t at, int64_t inner,
                                 bool to_y, int64_t total) {
  RETORT_GRID_STRIDE(j, total) {
    const int64_t k = slab_offset(j, n_i, n_total, at, inner);
    if (to_y) whole[k] = piece[j];
    else piece[j] = whole[k];
  }
}

__global__ void channel_shuffle_kernel(const float* x, float* y, int64_t C, int64_t groups, int64_t total) {
  RETORT_GRID_STRIDE(e, total) {
    const int64_t r = e / C, k = e - r * C;
    y[e] = x[r * C + channel_shuffle_source(k, C, groups)];
  }
}

template <class T>
void launch_copy_slab(const void* x, void* y, int64_t outer, int64_t n_i, int64_t n_total, int64_t at, int64_t inner,
                      bool to_y, int device) {
  // x is the piece in both directions (written when !to_y), as in cpu::copy_slab.
  T* piece = static_cast<T*>(const_cast<void*>(x));
  T* whole = static_cast<T*>(y);
  const int64_t total = outer * n_i * inner;
  copy_slab_kernel<<<grid_for(total), 256, 0, stream(device)>>>(piece, whole, n_i, n_total, at, inner, to_y, total);
  RETORT_CUDA_LAUNCH_CHECK("copy_slab_kernel");
}

}  // namespace

void copy_slab(const void* x, void* y, size_t elem_size, int64_t outer, int64_t n_i, int64_t n_total, int64_t at,
               int64_t inner, bool to_y, int device) {
  DeviceGuard guard(device);
  if (outer * n_i * inner == 0) return;
  if (elem_size == 1) launch_copy_slab<uint8_t>(x, y, outer, n_i, n_total, at, inner, to_y, device);
  else if (elem_size == 4) launch_copy_slab<uint32_t>(x, y, outer, n_i, n_total, at, inner, to_y, device);
  else launch_copy_slab<uint64_t>(x, y, outer, n_i, n_total, at, inner, to_y, device);
}

void channel_shuffle(const float* x, float* y, int64_t rows, int64_t C, int64_t groups, int device) {
  DeviceGuard guard(device);
  const int64_t total = rows * C;
  channel_shuffle_kernel<<<grid_for(total), 256, 0, stream(device)>>>(x, y, C, groups, total);
  RETORT_CUDA_LAUNCH_CHECK("channel_shuffle_kernel");
}

}  // namespace cuda
}  // namespace retort
