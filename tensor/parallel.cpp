#include "tensor/parallel.h"

#include "tensor/cpu/gemm.h"
#include "tensor/error.h"

namespace retort {

namespace {
int& configured_threads() {
  static int n = [] {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
  }();
  return n;
}
}  // namespace

int num_threads() { return configured_threads(); }

void set_num_threads(int n) {
  RETORT_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, found " << n);
  configured_threads() = n;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  cpu::blas_single_threaded();
}

}  // namespace retort
