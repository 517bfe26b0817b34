// Storage: one block of memory on one device, shared by every view of it. It
// carries the version counter autograd uses to detect in-place changes of
// tensors saved for backward.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/allocator.h"
#include "tensor/device.h"

namespace retort {

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  // Memory from `allocator`, which must hand out memory `device` can address.
  Storage(size_t nbytes, Device device, Allocator& allocator);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  const Device& device() const { return device_; }
  const Allocator& allocator() const { return *allocator_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
  uint64_t version_ = 0;
};

}  // namespace retort
