// Every fuzz target, by name: tests/fuzz/fuzz_<name>.cpp defines
// retort_fuzz_<name>, and tests/fuzz/corpus/<name>/ holds its seed inputs.
#pragma once
#include <cstddef>
#include <cstdint>

#define RETORT_FUZZ_TARGETS(X) \
  X(safetensors)               \
  X(idx)                       \
  X(idx_gzip)                  \
  X(cifar)                     \
  X(image)                     \
  X(yaml_config)               \
  X(set_override)

#define RETORT_FUZZ_DECLARE(name) void retort_fuzz_##name(const uint8_t* data, size_t size);
RETORT_FUZZ_TARGETS(RETORT_FUZZ_DECLARE)
#undef RETORT_FUZZ_DECLARE
