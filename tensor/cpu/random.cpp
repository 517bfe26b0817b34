// Random fills: element i uses Philox counter offset + i, so the result does
// not depend on how the loop is split across threads.
#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

void uniform(float* y, int64_t n, float lo, float hi, const PhiloxState& s) {
  parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = philox_uniform_range(philox_at(s, i).v[0], lo, hi);
  });
}

void normal(float* y, int64_t n, float mean, float std, const PhiloxState& s) {
  parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Philox4 r = philox_at(s, i);
      y[i] = mean + std * philox_normal(r.v[0], r.v[1]);
    }
  });
}

void randint(int64_t* y, int64_t n, int64_t high, const PhiloxState& s) {
  parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Philox4 r = philox_at(s, i);
      const uint64_t u = (static_cast<uint64_t>(r.v[1]) << 32) | r.v[0];
      y[i] = static_cast<int64_t>(u % static_cast<uint64_t>(high));
    }
  });
}

void dropout_mask(float* mask, int64_t n, float p, const PhiloxState& s) {
  const float keep_scale = 1.0f / (1.0f - p);
  parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) mask[i] = philox_uniform(philox_at(s, i).v[0]) < p ? 0.0f : keep_scale;
  });
}

}  // namespace cpu
}  // namespace retort
