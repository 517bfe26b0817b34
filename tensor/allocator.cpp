#include "tensor/allocator.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/error.h"

#ifdef RETORT_WITH_CUDA
#include "tensor/cuda/runtime.h"
#endif

namespace retort {

namespace {

size_t round_up(size_t n) { return (n + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment; }

class CpuCachingAllocator final : public Allocator {
 public:
  // Freed blocks beyond this many cached bytes go back to the OS.
  static constexpr size_t kCacheLimit = size_t(2) << 30;

  ~CpuCachingAllocator() override { empty_cache(); }

  void* allocate(size_t nbytes) override {
    const size_t size = round_up(nbytes == 0 ? 1 : nbytes);
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
    void* p = std::aligned_alloc(kCpuAlignment, size);
    if (p == nullptr) {
      empty_cache();  // give the cache back and retry once
      p = std::aligned_alloc(kCpuAlignment, size);
    }
    RETORT_CHECK(p != nullptr, "cpu allocator: out of memory allocating " << size << " bytes");
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.system_allocs;
    note_alloc(size);
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    if (p == nullptr) return;
    const size_t size = round_up(nbytes == 0 ? 1 : nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.current_bytes -= size;
    if (stats_.cached_bytes + size > kCacheLimit) {
      ++stats_.system_frees;
      std::free(p);
      return;
    }
    free_[size].push_back(p);
    stats_.cached_bytes += size;
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
    for (auto& kv : free_)
      for (void* p : kv.second) {
        std::free(p);
        ++stats_.system_frees;
      }
    free_.clear();
    stats_.cached_bytes = 0;
  }

 private:
  void note_alloc(size_t size) {
    stats_.current_bytes += size;
    if (stats_.current_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.current_bytes;
  }

  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

}  // namespace

Allocator& cpu_allocator() {
  // Never destroyed: tensors with static storage duration may outlive it otherwise.
  static CpuCachingAllocator* a = new CpuCachingAllocator();
  return *a;
}

Allocator& pinned_host_allocator() {
#ifdef RETORT_WITH_CUDA
  if (cuda_available()) return cuda::pinned_allocator();
#endif
  return cpu_allocator();
}

Allocator& allocator_for(const Device& d) {
  if (d.is_cpu()) return cpu_allocator();
  check_device_usable(d);
#ifdef RETORT_WITH_CUDA
  return cuda::caching_allocator(d.index);
#else
  RETORT_FAIL("unreachable: no CUDA backend");
#endif
}

}  // namespace retort
