// Copies, fills and dtype conversions on the CPU.
#include <cmath>
#include <cstring>

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

namespace {
constexpr int64_t kGrain = 1 << 15;

template <class T>
void strided_copy_typed(T* dst, const T* src, int64_t n, const StridedIndex& index) {
  parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = src[index.at(i)];
  });
}
}  // namespace

void strided_copy(void* dst, const void* src, size_t elem_size, int64_t n, const StridedIndex& index) {
  switch (elem_size) {
    case 1: return strided_copy_typed(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), n, index);
    case 4: return strided_copy_typed(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), n, index);
    case 8: return strided_copy_typed(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), n, index);
  }
}

void fill(void* dst, size_t elem_size, const void* value, int64_t n) {
  char* d = static_cast<char*>(dst);
  parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) std::memcpy(d + i * elem_size, value, elem_size);
  });
}

namespace {
template <class S, class D> D convert(S v) {
  if constexpr (std::is_same_v<D, uint8_t> && std::is_same_v<S, float>) {
    if (!(v > 0.0f)) return 0;  // NaN and negatives
    return v >= 255.0f ? 255 : static_cast<uint8_t>(v);
  } else if constexpr (std::is_same_v<D, uint8_t> && std::is_same_v<S, int64_t>) {
    return v < 0 ? 0 : (v > 255 ? 255 : static_cast<uint8_t>(v));
  } else if constexpr (std::is_same_v<D, int64_t> && std::is_same_v<S, float>) {
    if (std::isnan(v)) return 0;
    if (v >= 9.2233720368547758e18f) return INT64_MAX;
    if (v <= -9.2233720368547758e18f) return INT64_MIN;
    return static_cast<int64_t>(v);
  } else {
    return static_cast<D>(v);
  }
}

template <class S, class D> void cast_typed(const S* s, D* d, int64_t n) {
  parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] = convert<S, D>(s[i]);
  });
}

template <class S> void cast_from(const S* s, void* dst, int dst_kind, int64_t n) {
  switch (dst_kind) {
    case 0: return cast_typed(s, static_cast<float*>(dst), n);
    case 1: return cast_typed(s, static_cast<int64_t*>(dst), n);
    case 2: return cast_typed(s, static_cast<uint8_t*>(dst), n);
  }
}
}  // namespace

void cast(const void* src, int src_kind, void* dst, int dst_kind, int64_t n) {
  switch (src_kind) {
    case 0: return cast_from(static_cast<const float*>(src), dst, dst_kind, n);
    case 1: return cast_from(static_cast<const int64_t*>(src), dst, dst_kind, n);
    case 2: return cast_from(static_cast<const uint8_t*>(src), dst, dst_kind, n);
  }
}

}  // namespace cpu
}  // namespace retort
