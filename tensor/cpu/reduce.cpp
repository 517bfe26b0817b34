// Reductions over one dimension of x viewed as [outer, n, inner], accumulated
// in double so long sums stay exact to float precision.
#include <cmath>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/kernels/reduce.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

void sum_dim(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
    parallel_for(0, outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        double acc = 0.0;
        const float* xo = x + o * n;
        for (int64_t k = 0; k < n; ++k) acc += xo[k];
        y[o] = static_cast<float>(acc);
      }
    });
    return;
  }
  // Columns: walk rows in order, accumulate a row of doubles (cache friendly).
  parallel_for(0, outer * inner, 1024, [&](int64_t lo, int64_t hi) {
    std::vector<double> acc;
    for (int64_t j = lo; j < hi;) {
      const int64_t o = j / inner, i0 = j % inner;
      const int64_t i1 = std::min(inner, i0 + (hi - j));
      acc.assign(i1 - i0, 0.0);
      for (int64_t k = 0; k < n; ++k) {
        const float* row = x + (o * n + k) * inner;
        for (int64_t i = i0; i < i1; ++i) acc[i - i0] += row[i];
      }
      for (int64_t i = i0; i < i1; ++i) y[o * inner + i] = static_cast<float>(acc[i - i0]);
      j += i1 - i0;
    }
  });
}

void max_dim(const float* x, float* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner) {
  parallel_for(0, outer * inner, 1024, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) max_dim_element(x, n, inner, j, values, indices);  // the GPU's body
  });
}

double sum_all(const float* x, int64_t n) {
  const int t = num_threads();
  std::vector<double> partial(t, 0.0);
  parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
    double acc = 0.0;
    for (int64_t i = lo; i < hi; ++i) acc += x[i];
    partial[thread_index()] += acc;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

int64_t count_nonfinite(const float* x, int64_t n) {
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += std::isfinite(x[i]) ? 0 : 1;
  return bad;
}

}  // namespace cpu
}  // namespace retort
