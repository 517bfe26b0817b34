#include "tensor/shape.h"

#include "tensor/error.h"

namespace retort {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  RETORT_CHECK(dims.size() <= static_cast<size_t>(kMaxDims),
               "shape: expected at most " << kMaxDims << " dimensions, found " << dims.size());
  n_ = static_cast<int>(dims.size());
  for (int i = 0; i < n_; ++i) {
    RETORT_CHECK(dims[i] >= 0, "shape: expected non-negative extents, found " << dims[i] << " at dimension " << i);
    d_[i] = dims[i];
  }
}

int64_t Shape::numel() const { return prod(0, n_); }

int64_t Shape::prod(int from, int to) const {
  int64_t p = 1;
  for (int i = from; i < to; ++i) p *= d_[i];
  return p;
}

int Shape::axis(int dim) const {
  const int a = dim < 0 ? dim + n_ : dim;
  RETORT_CHECK(a >= 0 && a < n_, "dimension " << dim << " is out of range for a tensor of shape " << str());
  return a;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < n_; ++i) {
    if (i) s += ", ";
    s += std::to_string(d_[i]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (n_ != o.n_) return false;
  for (int i = 0; i < n_; ++i)
    if (d_[i] != o.d_[i]) return false;
  return true;
}

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

Shape contiguous_strides(const Shape& s) {
  Shape st = s;
  int64_t acc = 1;
  for (int i = s.ndim() - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

}  // namespace retort
