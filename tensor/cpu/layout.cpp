// Concatenation, splitting and channel shuffle.
#include <cstring>

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

void copy_slab(const void* x, void* y, size_t elem_size, int64_t outer, int64_t n_i, int64_t n_total, int64_t at,
               int64_t inner, bool to_y) {
  const size_t run = static_cast<size_t>(n_i * inner) * elem_size;
  const char* xs = static_cast<const char*>(x);
  char* ys = static_cast<char*>(y);
  parallel_for(0, outer, std::max<int64_t>(1, 16384 / std::max<size_t>(run, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      char* slab = ys + (static_cast<size_t>(o * n_total + at) * inner) * elem_size;
      const char* piece = xs + o * run;
      if (to_y) std::memcpy(slab, piece, run);
      else std::memcpy(const_cast<char*>(piece), slab, run);
    }
  });
}

void channel_shuffle(const float* x, float* y, int64_t rows, int64_t C, int64_t groups) {
  const int64_t per = C / groups;
  parallel_for(0, rows, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      for (int64_t i = 0; i < groups; ++i)
        for (int64_t j = 0; j < per; ++j) yr[j * groups + i] = xr[i * per + j];
    }
  });
}

}  // namespace cpu
}  // namespace retort
