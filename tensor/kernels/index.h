// Index maps shared by both backends: the offset of element i of a strided (or
// broadcast, stride 0) view, for copies and broadcasting binary ops.
#pragma once
#include <cstdint>

#include "tensor/kernels/hd.h"
#include "tensor/shape.h"

namespace retort {

struct StridedIndex {
  int ndim = 0;
  int64_t offset = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride[kMaxDims] = {};

  // Offset (in elements) of the i-th element in row-major order of `shape`.
  RETORT_HD int64_t at(int64_t i) const {
    int64_t off = offset;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t q = i / shape[d];
      off += (i - q * shape[d]) * stride[d];
      i = q;
    }
    return off;
  }
};

// Index of a view: `shape` with `strides` starting at `offset`.
inline StridedIndex make_strided_index(const Shape& shape, const Shape& strides, int64_t offset) {
  StridedIndex s;
  s.ndim = shape.ndim();
  s.offset = offset;
  for (int d = 0; d < s.ndim; ++d) {
    s.shape[d] = shape[d];
    s.stride[d] = strides[d];
  }
  return s;
}

// Index of a contiguous tensor of shape `in` read as if broadcast to `out`
// (NumPy rules; `in` is right-aligned against `out`, extent-1 dims repeat).
inline StridedIndex make_broadcast_index(const Shape& in, const Shape& out) {
  StridedIndex s;
  s.ndim = out.ndim();
  const Shape st = contiguous_strides(in);
  const int lead = out.ndim() - in.ndim();
  for (int d = 0; d < s.ndim; ++d) {
    s.shape[d] = out[d];
    const int di = d - lead;
    s.stride[d] = (di < 0 || in[di] == 1) ? 0 : st[di];
  }
  return s;
}

}  // namespace retort
