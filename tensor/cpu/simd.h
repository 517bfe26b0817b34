// Run-time choice of instruction set for hot loops. The library is compiled for
// the baseline of its target (x86-64: SSE2, two doubles or four floats per
// instruction), so the binary runs on any x86-64 CPU. A function marked
// RETORT_SIMD_CLONES is compiled twice more, for AVX2 and for AVX-512F, and
// the dynamic loader binds the version the CPU supports (target_clones,
// resolved once through an ifunc). Only loops the compiler vectorises gain.
// The AVX2/AVX-512 versions may fuse a*b+c into one FMA (GCC contracts by
// default), so their last bits can differ from the baseline version's: results
// are reproducible on one machine, not bit-identical across CPU generations.
#pragma once

#if defined(__x86_64__) && defined(__ELF__) && !defined(RETORT_NO_SIMD_CLONES) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 8))
#define RETORT_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RETORT_SIMD_CLONES
#endif
