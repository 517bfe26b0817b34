// Error checks for CUDA calls and kernel launches (CUDA translation units only).
// Every runtime call goes through RETORT_CUDA_CHECK; every <<<...>>> launch is
// followed by RETORT_CUDA_LAUNCH_CHECK (tests/check_launches.sh enforces it).
#pragma once
#include <cuda_runtime.h>

#include "tensor/cuda/runtime.h"
#include "tensor/error.h"

#define RETORT_CUDA_CHECK(call)                                                                         \
  do {                                                                                                  \
    const cudaError_t retort_err_ = (call);                                                             \
    RETORT_CHECK(retort_err_ == cudaSuccess, "CUDA call " << #call << " failed: "                       \
                                                          << cudaGetErrorName(retort_err_) << " ("      \
                                                          << cudaGetErrorString(retort_err_) << ")");   \
  } while (0)

// After a launch: report launch errors, and with RETORT_CUDA_SYNC=1 also the
// asynchronous faults of this kernel, pinned to the launch site.
#define RETORT_CUDA_LAUNCH_CHECK(kernel_name)                                                          \
  do {                                                                                                 \
    RETORT_CUDA_CHECK(cudaGetLastError());                                                             \
    if (::retort::cuda::sync_after_launch()) {                                                         \
      const cudaError_t retort_sync_ = cudaDeviceSynchronize();                                        \
      RETORT_CHECK(retort_sync_ == cudaSuccess, "CUDA kernel " << kernel_name << " failed: "           \
                                                                << cudaGetErrorName(retort_sync_) << " (" \
                                                                << cudaGetErrorString(retort_sync_) << ")"); \
    }                                                                                                  \
  } while (0)

namespace retort {
namespace cuda {

// Makes `device` current for the lifetime of the guard.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    RETORT_CUDA_CHECK(cudaGetDevice(&previous_));
    if (device != previous_) RETORT_CUDA_CHECK(cudaSetDevice(device));
    changed_ = device != previous_;
  }
  ~DeviceGuard() {
    if (changed_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

// Blocks of 256 threads covering n elements (grid-stride loops handle the rest).
inline unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + 255) / 256;
  return static_cast<unsigned>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

}  // namespace cuda
}  // namespace retort
