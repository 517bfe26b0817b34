#include "tensor/tensor.h"

#include <algorithm>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "tensor/ops.h"

#ifdef RETORT_WITH_CUDA
#include "tensor/cuda/runtime.h"
#endif

namespace retort {

Tensor::Tensor(std::shared_ptr<Storage> storage, int64_t offset, const Shape& shape, const Shape& strides,
               DType dtype)
    : storage_(std::move(storage)), offset_(offset), shape_(shape), strides_(strides), dtype_(dtype) {
  RETORT_CHECK(shape.ndim() == strides.ndim(), "tensor: shape " << shape << " and strides " << strides
                                                                 << " differ in rank");
}

Device Tensor::device() const { return storage_ ? storage_->device() : Device::cpu(); }

void* Tensor::raw() const {
  RETORT_CHECK(defined(), "tensor: expected a defined tensor, found an undefined one");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

uint64_t Tensor::version() const { return storage_ ? storage_->version() : 0; }

void Tensor::bump_version() const {
  if (storage_) storage_->bump_version();
}

void Tensor::check_dtype(DType expected, const char* what) const {
  RETORT_CHECK(dtype_ == expected, what << ": expected a " << dtype_name(expected) << " tensor, found "
                                        << dtype_name(dtype_) << " with shape " << shape_);
}

void Tensor::check_cpu(const char* what) const {
  RETORT_CHECK(device().is_cpu(), what << ": expected a CPU tensor, found one on " << device()
                                       << " (copy it with .to(Device::cpu()) first)");
}

Tensor Tensor::reshape(const std::vector<int64_t>& dims) const {
  RETORT_CHECK(defined(), "reshape: expected a defined tensor");
  std::vector<int64_t> d = dims;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i] == -1) {
      RETORT_CHECK(infer < 0, "reshape: at most one -1 is allowed, found shape with two");
      infer = static_cast<int>(i);
    } else {
      RETORT_CHECK(d[i] >= 0, "reshape: expected extents >= 0 or -1, found " << d[i]);
      known *= d[i];
    }
  }
  if (infer >= 0) {
    RETORT_CHECK(known > 0 && numel() % known == 0,
                 "reshape: cannot infer -1 for " << numel() << " elements of shape " << shape_);
    d[infer] = numel() / known;
  }
  const Shape s(d);
  RETORT_CHECK(s.numel() == numel(), "reshape: expected " << numel() << " elements (shape " << shape_
                                                          << "), found target shape " << s << " with "
                                                          << s.numel());
  const Tensor src = contiguous();
  return Tensor(src.storage_, src.offset_, s, contiguous_strides(s), dtype_);
}

Tensor Tensor::narrow(int dim, int64_t start, int64_t length) const {
  const int a = shape_.axis(dim);
  RETORT_CHECK(start >= 0 && length >= 0 && start + length <= shape_[a],
               "narrow: range [" << start << ", " << start + length << ") is outside dimension " << a
                                 << " of shape " << shape_);
  Shape s = shape_;
  s[a] = length;
  return Tensor(storage_, offset_ + start * strides_[a], s, strides_, dtype_);
}

Tensor Tensor::permute(const std::vector<int>& order) const {
  RETORT_CHECK(static_cast<int>(order.size()) == ndim(),
               "permute: expected " << ndim() << " dimensions, found " << order.size());
  Shape s = shape_, st = strides_;
  std::vector<bool> seen(ndim(), false);
  for (int i = 0; i < ndim(); ++i) {
    const int a = shape_.axis(order[i]);
    RETORT_CHECK(!seen[a], "permute: dimension " << a << " appears twice");
    seen[a] = true;
    s[i] = shape_[a];
    st[i] = strides_[a];
  }
  return Tensor(storage_, offset_, s, st, dtype_);
}

Tensor Tensor::transpose(int a, int b) const {
  std::vector<int> order(ndim());
  for (int i = 0; i < ndim(); ++i) order[i] = i;
  std::swap(order[shape_.axis(a)], order[shape_.axis(b)]);
  return permute(order);
}

Tensor Tensor::contiguous() const {
  RETORT_CHECK(defined(), "contiguous: expected a defined tensor");
  return is_contiguous() ? *this : clone();
}

Tensor Tensor::clone() const {
  RETORT_CHECK(defined(), "clone: expected a defined tensor");
  Tensor out = empty(shape_, dtype_, device());
  ops::copy_(out, *this);
  return out;
}

Tensor Tensor::to(const Device& d) const {
  RETORT_CHECK(defined(), "to: expected a defined tensor");
  if (d == device()) return *this;
  Tensor out = empty(shape_, dtype_, d);
  ops::copy_(out, *this);
  return out;
}

template <class T> T Tensor::item() const {
  check_cpu("item");
  check_dtype(dtype_of<T>(), "item");
  RETORT_CHECK(numel() == 1, "item: expected a tensor with one element, found shape " << shape_);
  return *data<T>();
}

template <class T> std::vector<T> Tensor::to_vector() const {
  check_cpu("to_vector");
  check_dtype(dtype_of<T>(), "to_vector");
  const Tensor c = contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + numel());
}

template float Tensor::item<float>() const;
template int64_t Tensor::item<int64_t>() const;
template uint8_t Tensor::item<uint8_t>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

namespace {

template <class T>
void print_values(std::ostream& os, const T* p, const Shape& s, int dim, int64_t base, int64_t edge) {
  const int64_t n = s[dim];
  const int64_t stride = s.prod(dim + 1, s.ndim());
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * edge && i == edge) {
      os << "..., ";
      i = n - edge;
    }
    if (dim + 1 == s.ndim()) {
      if constexpr (std::is_same_v<T, float>) os << p[base + i];
      else os << static_cast<int64_t>(p[base + i]);
    } else {
      print_values(os, p, s, dim + 1, base + i * stride, edge);
    }
    if (i + 1 < n) os << ", ";
  }
  os << "]";
}

}  // namespace

std::string Tensor::str(int64_t edge_items) const {
  std::ostringstream os;
  if (!defined()) return "tensor(undefined)";
  os << "tensor(";
  if (device().is_cpu()) {
    const Tensor c = contiguous();
    os << std::setprecision(6);
    if (ndim() == 0) {
      if (dtype_ == DType::F32) os << *c.data<float>();
      else if (dtype_ == DType::I64) os << *c.data<int64_t>();
      else os << int(*c.data<uint8_t>());
    } else if (numel() == 0) {
      os << "[]";
    } else if (dtype_ == DType::F32) {
      print_values(os, c.data<float>(), shape_, 0, 0, edge_items);
    } else if (dtype_ == DType::I64) {
      print_values(os, c.data<int64_t>(), shape_, 0, 0, edge_items);
    } else {
      print_values(os, c.data<uint8_t>(), shape_, 0, 0, edge_items);
    }
    os << ", ";
  }
  os << "shape=" << shape_ << ", dtype=" << dtype_name(dtype_) << ", device=" << device() << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

Tensor empty(const Shape& shape, DType dtype, const Device& device) {
  const size_t nbytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  auto storage = std::make_shared<Storage>(nbytes, device);
  return Tensor(std::move(storage), 0, shape, contiguous_strides(shape), dtype);
}

Tensor empty_pinned(const Shape& shape, DType dtype) {
  const size_t nbytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  auto storage = std::make_shared<Storage>(nbytes, Device::cpu(), pinned_host_allocator());
  return Tensor(std::move(storage), 0, shape, contiguous_strides(shape), dtype);
}

Tensor to_device_nonblocking(const Tensor& x, const Device& d) {
#ifdef RETORT_WITH_CUDA
  const bool pinned = x.defined() && x.device().is_cpu() && &x.storage()->allocator() == &pinned_host_allocator();
  if (pinned && d.is_cuda() && x.is_contiguous() && x.numel() > 0) {
    Tensor out = empty(x.shape(), x.dtype(), d);
    cuda::memcpy_h2d_async(out.raw(), x.raw(), x.nbytes(), d.index);
    return out;
  }
#endif
  return x.to(d);
}

Tensor full(const Shape& shape, double value, DType dtype, const Device& device) {
  Tensor t = empty(shape, dtype, device);
  ops::fill_(t, value);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, const Device& device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, const Device& device) { return full(shape, 1.0, dtype, device); }
Tensor scalar(float value, const Device& device) { return full(Shape{}, value, DType::F32, device); }

Tensor arange(int64_t n, DType dtype, const Device& device) {
  RETORT_CHECK(n >= 0, "arange: expected n >= 0, found " << n);
  Tensor t = empty(Shape{n}, dtype, Device::cpu());
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == DType::F32) t.data<float>()[i] = static_cast<float>(i);
    else if (dtype == DType::I64) t.data<int64_t>()[i] = i;
    else t.data<uint8_t>()[i] = static_cast<uint8_t>(i);
  }
  return t.to(device);
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, const Device& device) {
  RETORT_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
               "from_vector: expected " << shape.numel() << " values for shape " << shape << ", found "
                                        << values.size());
  Tensor t = empty(shape, dtype_of<T>(), Device::cpu());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t.to(device);
}

template Tensor from_vector<float>(const std::vector<float>&, const Shape&, const Device&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, const Device&);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&, const Device&);

}  // namespace retort
