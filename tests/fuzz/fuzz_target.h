// One fuzz target: a function of the input bytes that calls a reader of
// outside bytes. A retort::Error is a normal outcome (the reader refused the
// input); any other exception, a crash, a leak, a hang or a sanitizer report
// is a finding. A target may also throw std::logic_error when a property the
// reader promises does not hold (e.g. a config that loads does not load again
// from its own YAML).
//
// Each fuzz_<name>.cpp is built two ways:
//   - with libFuzzer (RETORT_FUZZ=ON, `make fuzz`): RETORT_LIBFUZZER is defined
//     and the target becomes the executable's LLVMFuzzerTestOneInput;
//   - into test_fuzz (`make test`), where test_fuzz_corpus.cpp runs every file
//     of tests/fuzz/corpus/<name>/ through retort_fuzz_<name>.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <string>

#include "tensor/error.h"

#ifdef RETORT_LIBFUZZER
#define RETORT_FUZZ_TARGET(name)                                              \
  void retort_fuzz_##name(const uint8_t* data, size_t size);                  \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {   \
    try {                                                                     \
      retort_fuzz_##name(data, size);                                         \
    } catch (const ::retort::Error&) {                                        \
    }                                                                         \
    return 0;                                                                 \
  }                                                                           \
  void retort_fuzz_##name(const uint8_t* data, size_t size)
#else
#define RETORT_FUZZ_TARGET(name) void retort_fuzz_##name(const uint8_t* data, size_t size)
#endif

namespace retort {
namespace fuzz {

inline std::string as_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs every attempt on the same input (each one way to read it, e.g. as a
// label file and as an image file). A retort::Error escapes only when all of
// them refused the input, so the corpus test can tell a reader that accepts
// its seeds from one that refuses everything.
inline void try_each(std::initializer_list<std::function<void()>> attempts) {
  std::exception_ptr refusal;
  bool accepted = false;
  for (const std::function<void()>& attempt : attempts) {
    try {
      attempt();
      accepted = true;
    } catch (const Error&) {
      refusal = std::current_exception();
    }
  }
  if (!accepted && refusal) std::rethrow_exception(refusal);
}

}  // namespace fuzz
}  // namespace retort
