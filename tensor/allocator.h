// Memory for tensor storage. The CPU allocator hands out 64-byte aligned blocks
// and keeps freed blocks in exact-size free lists, so a training loop whose
// shapes repeat allocates nothing from the OS after its first step.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/device.h"

namespace retort {

struct AllocatorStats {
  size_t current_bytes = 0;   // held by live tensors
  size_t peak_bytes = 0;      // maximum of current_bytes since the last reset
  size_t cached_bytes = 0;    // freed blocks kept for reuse
  uint64_t system_allocs = 0; // blocks obtained from the OS
  uint64_t system_frees = 0;  // blocks returned to the OS
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  // `nbytes` must be the size passed to allocate().
  virtual void deallocate(void* p, size_t nbytes) = 0;
  virtual AllocatorStats stats() const = 0;
  virtual void reset_peak() = 0;
  // Returns every cached block to the OS.
  virtual void empty_cache() = 0;
};

constexpr size_t kCpuAlignment = 64;

Allocator& cpu_allocator();
// The allocator of a device; throws for a device this build or machine lacks.
Allocator& allocator_for(const Device& d);
// Host memory for tensors that are copied to a GPU: page-locked (pinned) when
// a GPU is present, which doubles host-to-device bandwidth; otherwise the CPU
// allocator.
Allocator& pinned_host_allocator();

}  // namespace retort
