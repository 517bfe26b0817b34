#include "tensor/rng.h"

#include "tensor/error.h"

namespace retort {

uint64_t Generator::next_u64() {
  const Philox4 r = philox_at(reserve(1), 0);
  return (static_cast<uint64_t>(r.v[1]) << 32) | r.v[0];
}

uint64_t Generator::next_below(uint64_t n) {
  RETORT_CHECK(n >= 1, "Generator::next_below: expected n >= 1, found 0");
  return next_u64() % n;
}

}  // namespace retort
