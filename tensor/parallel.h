// One OpenMP team for the whole process. parallel_for splits [begin, end) into
// contiguous chunks, one per thread; inside a parallel region it runs serially,
// so nested calls never oversubscribe the cores.
#pragma once
#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace retort {

// Threads used by retort's kernels; defaults to the OpenMP default (the cores).
int num_threads();
// Sets the thread count for retort (and pins any BLAS to one thread per call).
void set_num_threads(int n);

inline bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

inline int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Calls fn(chunk_begin, chunk_end) on disjoint chunks covering [begin, end).
// Ranges shorter than `grain` run on the calling thread.
template <class Fn>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Fn& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int threads = num_threads();
  if (threads <= 1 || n <= grain || in_parallel_region()) {
    fn(begin, end);
    return;
  }
#ifdef _OPENMP
  const int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / std::max<int64_t>(grain, 1));
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    const int64_t t = omp_get_thread_num();
    const int64_t nt = omp_get_num_threads();
    const int64_t b = begin + n * t / nt;
    const int64_t e = begin + n * (t + 1) / nt;
    if (b < e) fn(b, e);
  }
#else
  fn(begin, end);
#endif
}

}  // namespace retort
