// The per-device CUDA context (CUDA translation units only): one stream, and the
// cuBLAS and cuDNN handles bound to it. Every kernel, library call and copy of
// a device goes to its stream, so work on a device is ordered and a buffer the
// caching allocator hands out again is never still in use by earlier work.
// Created on first use of the device, never destroyed (the CUDA runtime may be
// gone at static destruction time). Ops on a device are issued from one host
// thread at a time (the training loop's): the handles carry per-call state
// (cuBLAS math mode, the cuDNN descriptors' math type) and are not locked.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#ifdef RETORT_WITH_CUDNN
#include <cudnn.h>
#endif

#include <cstddef>
#include <sstream>
#include <string>

#include "tensor/cuda/check.h"

namespace retort {
namespace cuda {

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
#ifdef RETORT_WITH_CUDNN
  cudnnHandle_t cudnn = nullptr;
#endif
};

// The context of `device`. Library calls and launches on it need the device
// current (DeviceGuard); the context does not change the current device.
Context& context(int device);
inline cudaStream_t stream(int device) { return context(device).stream; }

// Scratch memory from the device's caching allocator, returned to the cache at
// scope exit (safe with one stream: later work on the stream runs after the
// work that used it).
class Workspace {
 public:
  Workspace(int device, size_t nbytes);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* data() const { return data_; }
  size_t size() const { return nbytes_; }

 private:
  int device_;
  size_t nbytes_;
  void* data_ = nullptr;
};

const char* cublas_status_name(cublasStatus_t s);

}  // namespace cuda
}  // namespace retort

// Checks a cuBLAS call; `what` is streamed into the message (shapes, operands).
#define RETORT_CUBLAS_CHECK(call, what)                                                                \
  do {                                                                                                 \
    const cublasStatus_t retort_st_ = (call);                                                          \
    RETORT_CHECK(retort_st_ == CUBLAS_STATUS_SUCCESS, "cuBLAS call " << #call << " failed with "       \
                                                                     << ::retort::cuda::cublas_status_name(retort_st_) \
                                                                     << " for " << what);              \
  } while (0)

#ifdef RETORT_WITH_CUDNN
// Checks a cuDNN call; `what` is streamed into the message (shapes, algorithm).
#define RETORT_CUDNN_CHECK(call, what)                                                                 \
  do {                                                                                                 \
    const cudnnStatus_t retort_st_ = (call);                                                           \
    RETORT_CHECK(retort_st_ == CUDNN_STATUS_SUCCESS, "cuDNN call " << #call << " failed with "         \
                                                                   << cudnnGetErrorString(retort_st_) << " for " \
                                                                   << what);                           \
  } while (0)
#endif
