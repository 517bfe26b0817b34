// Seeded, counter-based random numbers (Philox4x32-10). A Generator is a
// (seed, stream, offset) triple: each draw of n numbers takes the counters
// [offset, offset + n) and advances the offset, so a draw is reproducible from
// the triple alone, on any device and with any thread count.
#pragma once
#include <cstdint>

#include "tensor/kernels/philox.h"

namespace retort {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t stream = 0) : state_{seed, stream, 0} {}

  uint64_t seed() const { return state_.seed; }
  uint64_t stream() const { return state_.stream; }
  uint64_t offset() const { return state_.offset; }
  void set_offset(uint64_t offset) { state_.offset = offset; }

  // Reserves n counters and returns where they start.
  PhiloxState reserve(uint64_t n) {
    PhiloxState s = state_;
    state_.offset += n;
    return s;
  }

  // Host-side draws (one counter each).
  uint32_t next_u32() { return philox_at(reserve(1), 0).v[0]; }
  uint64_t next_u64();
  float next_uniform() { return philox_uniform(next_u32()); }  // [0, 1)
  // Uniform integer in [0, n), n >= 1 (64-bit draw, bias below 2^-32 for n < 2^32).
  uint64_t next_below(uint64_t n);

 private:
  PhiloxState state_;
};

}  // namespace retort
