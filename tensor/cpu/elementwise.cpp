// Element-wise kernels: the shared functors of tensor/kernels/elementwise.h in
// OpenMP loops the compiler can vectorise.
#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

void unary(UnaryOp op, float a, float b, const float* x, float* y, int64_t n) {
  visit_unary(op, a, b, [&](auto f) {
    parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i]);
    });
  });
}

void binary(BinaryOp op, const float* a, const float* b, float* y, int64_t n) {
  visit_binary(op, [&](auto f) {
    parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) y[i] = f(a[i], b[i]);
    });
  });
}

void binary_broadcast(BinaryOp op, const float* a, const StridedIndex& ia, const float* b, const StridedIndex& ib,
                      float* y, int64_t n) {
  // Fast path: the innermost output dimension is contiguous (or repeated) in both operands.
  const int d = ia.ndim - 1;
  const int64_t inner = d >= 0 ? ia.shape[d] : 1;
  const int64_t sa = d >= 0 ? ia.stride[d] : 0, sb = d >= 0 ? ib.stride[d] : 0;
  const int64_t rows = inner > 0 ? n / inner : 0;
  visit_binary(op, [&](auto f) {
    parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const float* ar = a + ia.at(r * inner);
        const float* br = b + ib.at(r * inner);
        float* yr = y + r * inner;
        if (sa == 1 && sb == 1) {
          for (int64_t i = 0; i < inner; ++i) yr[i] = f(ar[i], br[i]);
        } else if (sa == 1 && sb == 0) {
          const float bv = br[0];
          for (int64_t i = 0; i < inner; ++i) yr[i] = f(ar[i], bv);
        } else if (sa == 0 && sb == 1) {
          const float av = ar[0];
          for (int64_t i = 0; i < inner; ++i) yr[i] = f(av, br[i]);
        } else {
          for (int64_t i = 0; i < inner; ++i) yr[i] = f(ar[i * sa], br[i * sb]);
        }
      }
    });
  });
}

void add_inplace(float* a, const float* b, const StridedIndex& ib, float alpha, int64_t n, bool b_same_shape) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    if (b_same_shape) {
      for (int64_t i = lo; i < hi; ++i) a[i] += alpha * b[i];
    } else {
      for (int64_t i = lo; i < hi; ++i) a[i] += alpha * b[ib.at(i)];
    }
  });
}

void scale_inplace(float* a, float s, int64_t n) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) a[i] *= s;
  });
}

}  // namespace cpu
}  // namespace retort
