// Optimiser updates on the device: one fused pass per element over the
// parameter, its gradient and its state, with the bodies of tensor/kernels/optim.h.
#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.cuh"

namespace retort {
namespace cuda {

namespace {

__global__ void sgd_kernel(float* p, const float* g, float* buf, int64_t n, SgdParams s) {
  RETORT_GRID_STRIDE(i, n) {
    float unused = 0.0f;
    sgd_step(s, p[i], g[i], buf ? buf[i] : unused);
  }
}

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n, AdamWParams s) {
  RETORT_GRID_STRIDE(i, n) adamw_step(s, p[i], g[i], m[i], v[i]);
}

}  // namespace

void sgd_update(float* p, const float* g, float* buf, int64_t n, const SgdParams& s, int device) {
  DeviceGuard guard(device);
  sgd_kernel<<<grid_for(n), 256, 0, stream(device)>>>(p, g, buf, n, s);
  RETORT_CUDA_LAUNCH_CHECK("sgd_kernel");
}

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWParams& s, int device) {
  DeviceGuard guard(device);
  adamw_kernel<<<grid_for(n), 256, 0, stream(device)>>>(p, g, m, v, n, s);
  RETORT_CUDA_LAUNCH_CHECK("adamw_kernel");
}

}  // namespace cuda
}  // namespace retort
