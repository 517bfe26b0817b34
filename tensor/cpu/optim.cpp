// Optimiser updates: one fused pass over parameter, gradient and state.
#include "tensor/cpu/kernels.h"
#include "tensor/kernels/optim.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

void sgd_update(float* p, const float* g, float* buf, int64_t n, const SgdParams& s) {
  parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
    float unused = 0.0f;
    for (int64_t i = lo; i < hi; ++i) sgd_step(s, p[i], g[i], buf ? buf[i] : unused);
  });
}

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWParams& s) {
  parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) adamw_step(s, p[i], g[i], m[i], v[i]);
  });
}

}  // namespace cpu
}  // namespace retort
