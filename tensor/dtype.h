// Element types. f32 for compute, i64 for labels, u8 for images; the enum stays
// open for bf16/f16.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace retort {

enum class DType : uint8_t { F32, I64, U8 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

// Lower-case name for messages: "f32", "i64", "u8".
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
  }
  return "?";
}

template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::I64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::U8; };
template <class T> constexpr DType dtype_of() { return DTypeOf<T>::value; }

}  // namespace retort
