// Per-device contexts: a stream created once per device with the cuBLAS and
// cuDNN handles bound to it.
#include "tensor/cuda/context.h"

#include <memory>
#include <mutex>
#include <vector>

#include "tensor/cuda/cublas_api.h"
#include "tensor/cuda/runtime.h"

namespace retort {
namespace cuda {

namespace {

std::unique_ptr<Context> create_context(int device) {
  auto ctx = std::make_unique<Context>();
  ctx->device = device;
  // A blocking stream: it also orders against the legacy default stream, which
  // cudaMemcpy and any library call without a stream use.
  RETORT_CUDA_CHECK(cudaStreamCreate(&ctx->stream));
  RETORT_CUBLAS_CHECK(cublas::create(&ctx->cublas), "cuda:" << device);
  RETORT_CUBLAS_CHECK(cublas::set_stream(ctx->cublas, ctx->stream), "cuda:" << device);
  // FP32 GEMMs stay FP32 (no TF32) unless --allow-tf32; set per call in gemm.
  RETORT_CUBLAS_CHECK(cublas::set_math_mode(ctx->cublas, CUBLAS_DEFAULT_MATH), "cuda:" << device);
#ifdef RETORT_WITH_CUDNN
  RETORT_CUDNN_CHECK(cudnnCreate(&ctx->cudnn), "cuda:" << device);
  RETORT_CUDNN_CHECK(cudnnSetStream(ctx->cudnn, ctx->stream), "cuda:" << device);
#endif
  return ctx;
}

}  // namespace

Context& context(int device) {
  static std::mutex mu;
  static auto* contexts = new std::vector<std::unique_ptr<Context>>();  // never destroyed
  RETORT_CHECK(device >= 0 && device < device_count(),
               "cuda context: expected a device index below " << device_count() << ", found " << device);
  std::lock_guard<std::mutex> lock(mu);
  if (contexts->empty()) contexts->resize(device_count());
  auto& slot = (*contexts)[device];
  if (!slot) {
    DeviceGuard guard(device);  // handles belong to the device current at creation
    slot = create_context(device);
  }
  return *slot;
}

Workspace::Workspace(int device, size_t nbytes) : device_(device), nbytes_(nbytes) {
  if (nbytes_ > 0) data_ = caching_allocator(device_).allocate(nbytes_);
}

Workspace::~Workspace() {
  if (data_ != nullptr) caching_allocator(device_).deallocate(data_, nbytes_);
}

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "an unknown cuBLAS status";
  }
}

}  // namespace cuda
}  // namespace retort
