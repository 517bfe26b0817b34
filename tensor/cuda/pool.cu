// Pooling on the device (NHWC): one thread per output element for the forward
// passes and per input element for the gathering backward passes, from the
// bodies of tensor/kernels/pool.h. Max pooling's backward runs one thread per
// (image, channel) in the CPU's order, since the front end gives no window.
#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.cuh"

namespace retort {
namespace cuda {

namespace {

__global__ void max_pool_kernel(PoolGeom g, const float* x, float* y, int64_t* arg, int64_t total) {
  RETORT_GRID_STRIDE(e, total) max_pool_element(g, x, y, arg, e);
}

__global__ void max_pool_backward_kernel(PoolGeom g, const float* dy, const int64_t* arg, float* dx, int64_t pairs) {
  RETORT_GRID_STRIDE(nc, pairs) max_pool_backward_channel(g, dy, arg, dx, nc);
}

__global__ void avg_pool_kernel(PoolGeom g, const float* x, float* y, int64_t total) {
  RETORT_GRID_STRIDE(e, total) avg_pool_element(g, x, y, e);
}

__global__ void avg_pool_backward_kernel(PoolGeom g, const float* dy, float* dx, int64_t total) {
  RETORT_GRID_STRIDE(e, total) avg_pool_backward_element(g, dy, dx, e);
}

__global__ void adaptive_avg_pool_kernel(PoolGeom g, const float* x, float* y, int64_t total) {
  RETORT_GRID_STRIDE(e, total) adaptive_avg_pool_element(g, x, y, e);
}

__global__ void adaptive_avg_pool_backward_kernel(PoolGeom g, const float* dy, float* dx, int64_t total) {
  RETORT_GRID_STRIDE(e, total) adaptive_avg_pool_backward_element(g, dy, dx, e);
}

int64_t out_elements(const PoolGeom& g) { return g.N * g.OH * g.OW * g.C; }
int64_t in_elements(const PoolGeom& g) { return g.N * g.H * g.W * g.C; }

}  // namespace

void max_pool2d(const PoolGeom& g, const float* x, float* y, int64_t* arg, int device) {
  DeviceGuard guard(device);
  const int64_t total = out_elements(g);
  max_pool_kernel<<<grid_for(total), 256, 0, stream(device)>>>(g, x, y, arg, total);
  RETORT_CUDA_LAUNCH_CHECK("max_pool_kernel");
}

void max_pool2d_backward(const PoolGeom& g, const float* dy, const int64_t* arg, float* dx, int device) {
  DeviceGuard guard(device);
  RETORT_CUDA_CHECK(cudaMemsetAsync(dx, 0, static_cast<size_t>(in_elements(g)) * sizeof(float), stream(device)));
  const int64_t pairs = g.N * g.C;
  max_pool_backward_kernel<<<grid_for(pairs), 256, 0, stream(device)>>>(g, dy, arg, dx, pairs);
  RETORT_CUDA_LAUNCH_CHECK("max_pool_backward_kernel");
}

void avg_pool2d(const PoolGeom& g, const float* x, float* y, int device) {
  DeviceGuard guard(device);
  const int64_t total = out_elements(g);
  avg_pool_kernel<<<grid_for(total), 256, 0, stream(device)>>>(g, x, y, total);
  RETORT_CUDA_LAUNCH_CHECK("avg_pool_kernel");
}

void avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx, int device) {
  DeviceGuard guard(device);
  const int64_t total = in_elements(g);
  avg_pool_backward_kernel<<<grid_for(total), 256, 0, stream(device)>>>(g, dy, dx, total);
  RETORT_CUDA_LAUNCH_CHECK("avg_pool_backward_kernel");
}

void adaptive_avg_pool2d(const PoolGeom& g, const float* x, float* y, int device) {
  DeviceGuard guard(device);
  const int64_t total = out_elements(g);
  adaptive_avg_pool_kernel<<<grid_for(total), 256, 0, stream(device)>>>(g, x, y, total);
  RETORT_CUDA_LAUNCH_CHECK("adaptive_avg_pool_kernel");
}

void adaptive_avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx, int device) {
  DeviceGuard guard(device);
  const int64_t total = in_elements(g);
  adaptive_avg_pool_backward_kernel<<<grid_for(total), 256, 0, stream(device)>>>(g, dy, dx, total);
  RETORT_CUDA_LAUNCH_CHECK("adaptive_avg_pool_backward_kernel");
}

}  // namespace cuda
}  // namespace retort
