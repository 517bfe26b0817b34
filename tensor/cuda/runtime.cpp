// Device probe, caching allocator and copies for the CUDA backend.
#include "tensor/cuda/runtime.h"

#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/cuda/check.h"
#include "tensor/cuda/context.h"
#include "tensor/cuda/cublas_api.h"

namespace retort {
namespace cuda {

int device_count() {
  // Probed once; a missing driver or GPU is "0 devices", never an error.
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error of the failed probe
      return 0;
    }
    return n;
  }();
  return count;
}

bool sync_after_launch() {
  static const bool sync = [] {
    const char* v = std::getenv("RETORT_CUDA_SYNC");
    return v != nullptr && v[0] == '1';
  }();
  return sync;
}

namespace {

// Device memory of one GPU, or (pinned) page-locked host memory, which the DMA
// engines read directly: copies from it skip the driver's staging buffer.
class CudaCachingAllocator final : public Allocator {
 public:
  CudaCachingAllocator(int device, bool pinned) : device_(device), pinned_(pinned) {}

  void* allocate(size_t nbytes) override {
    const size_t size = round_up(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= size;
        note_alloc(size);
        return p;
      }
    }
    DeviceGuard guard(device_);
    void* p = nullptr;
    cudaError_t err = system_alloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      empty_cache();
      err = system_alloc(&p, size);
    }
    RETORT_CHECK(err == cudaSuccess, (pinned_ ? "pinned host" : "cuda:" + std::to_string(device_))
                                         << " allocator: " << (pinned_ ? "cudaHostAlloc" : "cudaMalloc") << " of "
                                         << size << " bytes failed: " << cudaGetErrorName(err) << " ("
                                         << cudaGetErrorString(err) << ")");
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.system_allocs;
    note_alloc(size);
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    if (p == nullptr) return;
    const size_t size = round_up(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.current_bytes -= size;
    stats_.cached_bytes += size;
    free_[size].push_back(p);
  }

  AllocatorStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes = stats_.current_bytes;
  }

  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    DeviceGuard guard(device_);
    // A block enters the cache when the host drops it, possibly while kernels
    // (or, for pinned blocks, copies) queued earlier still use it.
    RETORT_CUDA_CHECK(cudaDeviceSynchronize());
    for (auto& kv : free_)
      for (void* p : kv.second) {
        if (pinned_) RETORT_CUDA_CHECK(cudaFreeHost(p));
        else RETORT_CUDA_CHECK(cudaFree(p));
        ++stats_.system_frees;
      }
    free_.clear();
    stats_.cached_bytes = 0;
  }

 private:
  static size_t round_up(size_t n) { return ((n == 0 ? 1 : n) + 511) / 512 * 512; }
  cudaError_t system_alloc(void** p, size_t size) const {
    return pinned_ ? cudaHostAlloc(p, size, cudaHostAllocDefault) : cudaMalloc(p, size);
  }
  void note_alloc(size_t size) {
    stats_.current_bytes += size;
    if (stats_.current_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.current_bytes;
  }

  int device_;
  bool pinned_;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

}  // namespace

Allocator& caching_allocator(int device) {
  static std::mutex mu;
  // Never destroyed: the CUDA runtime may be gone at static destruction time.
  static auto* allocators = new std::vector<std::unique_ptr<CudaCachingAllocator>>();
  std::lock_guard<std::mutex> lock(mu);
  RETORT_CHECK(device >= 0 && device < device_count(),
               "cuda allocator: expected a device index below " << device_count() << ", found " << device);
  if (allocators->empty()) allocators->resize(device_count());
  auto& slot = (*allocators)[device];
  if (!slot) slot = std::make_unique<CudaCachingAllocator>(device, false);
  return *slot;
}

Allocator& pinned_allocator() {
  // A freed block may be handed out again at once: whoever queues an
  // asynchronous copy from a block (to_device_nonblocking) keeps the block
  // until a fence says the copy is done (the loader's slots do).
  static auto* allocator = new CudaCachingAllocator(0, true);  // never destroyed
  return *allocator;
}

// Copies go on the device's stream, after the kernels queued there; a copy to
// the host waits for it so the caller can read the bytes.
void memcpy_h2d(void* dst, const void* src, size_t nbytes, int device) {
  DeviceGuard guard(device);
  RETORT_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream(device)));
  RETORT_CUDA_CHECK(cudaStreamSynchronize(stream(device)));  // the host buffer may be freed on return
}

void memcpy_h2d_async(void* dst, const void* src, size_t nbytes, int device) {
  DeviceGuard guard(device);
  RETORT_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream(device)));
}

void* event_create(int device) {
  DeviceGuard guard(device);
  cudaEvent_t e = nullptr;
  RETORT_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

void event_record(void* event, int device) {
  DeviceGuard guard(device);
  RETORT_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), stream(device)));
}

void event_wait(void* event) { RETORT_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event))); }

void event_destroy(void* event) { cudaEventDestroy(static_cast<cudaEvent_t>(event)); }

void memcpy_d2h(void* dst, const void* src, size_t nbytes, int device) {
  DeviceGuard guard(device);
  RETORT_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, stream(device)));
  RETORT_CUDA_CHECK(cudaStreamSynchronize(stream(device)));
}

void memcpy_d2d(void* dst, int dst_device, const void* src, int src_device, size_t nbytes) {
  DeviceGuard guard(dst_device);
  if (dst_device == src_device) {
    RETORT_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, stream(dst_device)));
  } else {
    synchronize(src_device);  // the source's pending writes first
    RETORT_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, nbytes, stream(dst_device)));
    // The copy reads src from another device's stream; src may go back to its
    // device's cache (and be rewritten there) as soon as the caller returns.
    RETORT_CUDA_CHECK(cudaStreamSynchronize(stream(dst_device)));
  }
}

std::string device_name(int device) {
  cudaDeviceProp p{};
  RETORT_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  return std::string(p.name) + ", sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.totalGlobalMem >> 20) + " MiB";
}

std::string library_versions() {
  // None of these needs a GPU or the driver.
  int runtime = 0;
  RETORT_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  int major = 0, minor = 0, patch = 0;
  RETORT_CUBLAS_CHECK(cublas::get_property(MAJOR_VERSION, &major), "cuBLAS version");
  RETORT_CUBLAS_CHECK(cublas::get_property(MINOR_VERSION, &minor), "cuBLAS version");
  RETORT_CUBLAS_CHECK(cublas::get_property(PATCH_LEVEL, &patch), "cuBLAS version");
  std::string v = "CUDA runtime " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
                  ", cuBLAS " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
#ifdef RETORT_WITH_CUDNN
  const size_t cudnn = cudnnGetVersion();  // major*10000 + minor*100 + patch since cuDNN 9
  v += ", cuDNN " + std::to_string(cudnn / 10000) + "." + std::to_string(cudnn % 10000 / 100) + "." +
       std::to_string(cudnn % 100);
#else
  v += ", no cuDNN (im2col and depthwise kernels)";
#endif
  return v;
}

void synchronize(int device) {
  DeviceGuard guard(device);
  RETORT_CUDA_CHECK(cudaStreamSynchronize(stream(device)));
}

}  // namespace cuda
}  // namespace retort
