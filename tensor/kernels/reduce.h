// Reduction bodies shared by both backends. A GPU block reduces one row (or
// channel) in two fixed steps: lane t of L lanes accumulates elements
// t, t + L, t + 2L, ... in order (lane_* below), then the L partials are
// combined by tree_step with half = L/2, L/4, ..., 1. The order depends only on
// L, so results are deterministic; the CPU tests replay both steps in loops.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/kernels/hd.h"

namespace retort {

struct SumOp {
  template <class T> RETORT_HD T operator()(T a, T b) const { return a + b; }
};
// std::max's rule (the first operand wins unless the second is larger), so a
// NaN does not become the maximum, as in the CPU's std::max loops.
struct MaxOp {
  template <class T> RETORT_HD T operator()(T a, T b) const { return a < b ? b : a; }
};

// One step of the tree: lane < half takes in its partner lane + half.
template <class T, class Op> RETORT_HD void tree_step(T* partial, int lane, int half, Op op) {
  if (lane < half) partial[lane] = op(partial[lane], partial[lane + half]);
}

// Sum in double of x[k * step] for k = lane, lane + lanes, ... < n.
RETORT_HD double lane_sum(const float* x, int64_t n, int64_t step, int64_t lane, int64_t lanes) {
  double acc = 0.0;
  for (int64_t k = lane; k < n; k += lanes) acc += x[k * step];
  return acc;
}

// Count of non-finite values among x[k] for k = lane, lane + lanes, ... < n.
RETORT_HD int64_t lane_count_nonfinite(const float* x, int64_t n, int64_t lane, int64_t lanes) {
  int64_t bad = 0;
  for (int64_t k = lane; k < n; k += lanes) bad += fabsf(x[k]) <= 3.40282347e38f ? 0 : 1;  // NaN fails <=
  return bad;
}

// Sum in double over the middle axis of x [outer, n, inner] at output j = o*inner + i,
// in increasing k (the CPU's order, so the result is bit-identical).
RETORT_HD float sum_dim_element(const float* x, int64_t n, int64_t inner, int64_t j) {
  const int64_t o = j / inner, i = j - o * inner;
  const float* col = x + o * n * inner + i;
  double acc = 0.0;
  for (int64_t k = 0; k < n; ++k) acc += col[k * inner];
  return static_cast<float>(acc);
}

// Max and first argmax over the middle axis at output j; a NaN wins and stops the scan.
RETORT_HD void max_dim_element(const float* x, int64_t n, int64_t inner, int64_t j, float* values, int64_t* indices) {
  const int64_t o = j / inner, i = j - o * inner;
  const float* col = x + o * n * inner + i;
  float best = col[0];
  int64_t arg = 0;
  for (int64_t k = 1; k < n && best == best; ++k) {
    const float v = col[k * inner];
    if (v > best || v != v) {
      best = v;
      arg = k;
    }
  }
  values[j] = best;
  indices[j] = arg;
}

// max's backward at output j: dy goes to the position its index names (indices
// outside [0, n) are skipped; the CPU front end reports them).
RETORT_HD void max_backward_element(const float* dy, const int64_t* indices, float* dx, int64_t n, int64_t inner,
                                    int64_t j) {
  const int64_t o = j / inner, i = j - o * inner, k = indices[j];
  if (k >= 0 && k < n) dx[(o * n + k) * inner + i] = dy[j];
}

}  // namespace retort
