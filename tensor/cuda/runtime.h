// The CUDA runtime as the rest of retort sees it: plain C++ declarations, no
// CUDA headers, so CPU translation units can include them. Compiled only with
// RETORT_CUDA on. The device probe is lazy and never throws: no driver or no
// GPU means zero devices, and the build runs on the CPU.
#pragma once
#include <cstddef>
#include <string>

#include "tensor/allocator.h"

namespace retort {
namespace cuda {

int device_count();
// The caching allocator of device k (exact-size free lists; on out-of-memory
// the cache is freed and the allocation retried once).
Allocator& caching_allocator(int device);
// Page-locked host memory (cudaHostAlloc), cached like device memory.
Allocator& pinned_allocator();
void memcpy_h2d(void* dst, const void* src, size_t nbytes, int device);
void memcpy_d2h(void* dst, const void* src, size_t nbytes, int device);
void memcpy_d2d(void* dst, int dst_device, const void* src, int src_device, size_t nbytes);
void synchronize(int device);
// Queues the copy on the device's stream and returns: `src` (pinned host
// memory) must stay unchanged until an event recorded afterwards completes.
void memcpy_h2d_async(void* dst, const void* src, size_t nbytes, int device);
// Events: created once, recorded on the device's stream, waited for on the host.
void* event_create(int device);
void event_record(void* event, int device);
void event_wait(void* event);
void event_destroy(void* event);
// "NAME, sm_XY, N MiB" of device k.
std::string device_name(int device);
// The CUDA runtime, cuBLAS and cuDNN versions this build runs with (linked, not compiled against).
std::string library_versions();
// True when RETORT_CUDA_SYNC=1: every launch is followed by a synchronisation.
bool sync_after_launch();

}  // namespace cuda
}  // namespace retort
