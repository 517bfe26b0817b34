// Tensor: a typed, shaped view of a Storage on one device. Views (reshape,
// narrow, permute) share storage; kernels take contiguous inputs and the op
// front ends call contiguous() where needed. Image activations are NHWC.
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace retort {

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, int64_t offset, const Shape& shape, const Shape& strides, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t size(int dim) const { return shape_[shape_.axis(dim)]; }
  int ndim() const { return shape_.ndim(); }
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const;
  int64_t offset() const { return offset_; }  // in elements
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;

  // Pointer to the first element (a device pointer for CUDA tensors). Checks the dtype.
  template <class T> T* data() const {
    check_dtype(dtype_of<T>(), "data<T>()");
    return static_cast<T*>(raw());
  }
  void* raw() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // Version counter of the storage: bumped by every in-place op.
  uint64_t version() const;
  void bump_version() const;

  // Views. reshape() accepts one -1 and copies when the tensor is not contiguous.
  Tensor reshape(const std::vector<int64_t>& dims) const;
  Tensor narrow(int dim, int64_t start, int64_t length) const;
  Tensor permute(const std::vector<int>& order) const;
  Tensor transpose(int a, int b) const;

  Tensor contiguous() const;  // self when already contiguous
  Tensor clone() const;       // always a new contiguous copy
  Tensor to(const Device& d) const;  // self when already there

  // Host access (CPU tensors only).
  template <class T> T item() const;
  template <class T> std::vector<T> to_vector() const;
  std::string str(int64_t edge_items = 3) const;

  void check_dtype(DType expected, const char* what) const;
  void check_cpu(const char* what) const;

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;
  Shape shape_;
  Shape strides_;
  DType dtype_ = DType::F32;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// A tensor with its name: state_dict entries, safetensors contents.
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Factories. Memory from empty() is uninitialised.
Tensor empty(const Shape& shape, DType dtype = DType::F32, const Device& device = Device::cpu());
// A CPU tensor in pinned host memory when a GPU is present (pinned_host_allocator):
// for batches on their way to the GPU.
Tensor empty_pinned(const Shape& shape, DType dtype = DType::F32);
// Like x.to(d), except that a contiguous pinned CPU tensor (empty_pinned) is
// copied to a GPU without waiting: the copy is queued before any later work on
// d, and x must stay unchanged until a DeviceFence recorded on d after this
// call has been waited for.
Tensor to_device_nonblocking(const Tensor& x, const Device& d);
Tensor zeros(const Shape& shape, DType dtype = DType::F32, const Device& device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::F32, const Device& device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::F32, const Device& device = Device::cpu());
Tensor scalar(float value, const Device& device = Device::cpu());  // shape [], f32
// 0, 1, ..., n-1.
Tensor arange(int64_t n, DType dtype = DType::F32, const Device& device = Device::cpu());
// Copies host values into a new tensor; values.size() must equal shape.numel().
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, const Device& device = Device::cpu());

}  // namespace retort
