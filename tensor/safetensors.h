// safetensors files: an 8-byte little-endian header length N, N bytes of JSON
// mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
// (plus an optional "__metadata__" string -> string map), then the data buffer,
// row-major and little-endian, offsets relative to its start.
//
// Readers validate every field against the file before trusting it; each
// problem is an Error naming the file, the tensor and what was expected.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace retort {
namespace safetensors {

// Larger headers are refused before anything is allocated (the reference
// implementation uses the same limit).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

using retort::NamedTensor;

using Metadata = std::vector<std::pair<std::string, std::string>>;

struct Contents {
  std::vector<NamedTensor> tensors;  // in header order, on the CPU
  Metadata metadata;                 // in header order
  std::vector<std::string> upcast;   // names read from F16/BF16 and converted to f32
  // The tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
};

// Reads F32, I64 and U8 as f32, i64 and u8; F16 and BF16 become f32 (listed in
// `upcast`); other dtypes are an Error. `source_name` prefixes every message.
Contents parse(const uint8_t* data, size_t size, const std::string& source_name);
Contents load(const std::string& path);

// Tensors may live on any device and have any strides; names must be unique.
// Keys are written in the given order and the data buffer starts 8-byte aligned.
std::string serialize(const std::vector<NamedTensor>& tensors, const Metadata& metadata = {});
// serialize() written through write_file_atomic().
void save(const std::string& path, const std::vector<NamedTensor>& tensors, const Metadata& metadata = {});

}  // namespace safetensors
}  // namespace retort
