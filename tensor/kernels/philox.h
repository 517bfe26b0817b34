// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011), the counter-based generator behind every random number in retort.
// Number i of a draw depends only on (seed, stream, offset + i), so CPU, CUDA
// and any thread count produce the same stream.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/kernels/hd.h"

namespace retort {

// Where a draw starts: key = seed, counter = (offset + i, stream).
struct PhiloxState {
  uint64_t seed = 0;
  uint64_t stream = 0;
  uint64_t offset = 0;
};

struct Philox4 {
  uint32_t v[4];
};

RETORT_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// The raw block function: 10 rounds on counter c with key k.
RETORT_HD Philox4 philox4x32_10(Philox4 c, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c.v[0], hi0, lo0);
    philox_mulhilo(0xCD9E8D57u, c.v[2], hi1, lo1);
    Philox4 n;
    n.v[0] = hi1 ^ c.v[1] ^ k0;
    n.v[1] = lo1;
    n.v[2] = hi0 ^ c.v[3] ^ k1;
    n.v[3] = lo0;
    c = n;
  }
  return c;
}

// Four random 32-bit words for element i of a draw.
RETORT_HD Philox4 philox_at(const PhiloxState& s, uint64_t i) {
  const uint64_t ctr = s.offset + i;
  Philox4 c;
  c.v[0] = static_cast<uint32_t>(ctr);
  c.v[1] = static_cast<uint32_t>(ctr >> 32);
  c.v[2] = static_cast<uint32_t>(s.stream);
  c.v[3] = static_cast<uint32_t>(s.stream >> 32);
  return philox4x32_10(c, static_cast<uint32_t>(s.seed), static_cast<uint32_t>(s.seed >> 32));
}

// Uniform in [0, 1) with 24 random bits (exact in float, so identical everywhere).
RETORT_HD float philox_uniform(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }

// Uniform in [lo, hi): lo + (hi - lo) u. The float rounding of that sum can reach
// hi itself (u = 1 - 2^-24 on [1, 2) rounds to 2); such a value becomes the
// largest float below hi, so the range stays half-open.
RETORT_HD float philox_uniform_range(uint32_t x, float lo, float hi) {
  const float v = lo + (hi - lo) * philox_uniform(x);
  return v < hi ? v : nextafterf(hi, lo);
}

// Standard normal by Box-Muller from two words, computed in double.
RETORT_HD float philox_normal(uint32_t a, uint32_t b) {
  const double u1 = (static_cast<double>(a >> 8) + 1.0) * (1.0 / 16777216.0);  // (0, 1]
  const double u2 = static_cast<double>(b >> 8) * (1.0 / 16777216.0);           // [0, 1)
  const double r = sqrt(-2.0 * log(u1));
  return static_cast<float>(r * cos(6.283185307179586 * u2));
}

// Integer in [0, high) from the 64 bits of two words (modulo; the bias is at
// most high / 2^64).
RETORT_HD int64_t philox_randint(const Philox4& r, int64_t high) {
  const uint64_t u = (static_cast<uint64_t>(r.v[1]) << 32) | r.v[0];
  return static_cast<int64_t>(u % static_cast<uint64_t>(high));
}

}  // namespace retort
