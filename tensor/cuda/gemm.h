// Row-major single-precision GEMM on a device through cuBLAS:
// C = alpha * op(A) * op(B) + beta * C with the arguments of the CPU gemm
// (tensor/cpu/gemm.h: sizes, leading dimensions of the row-major operands;
// beta == 0 means C is overwritten and never read). Plain C++, so the op
// front ends include it.
#pragma once
#include "tensor/cpu/gemm.h"

namespace retort {
namespace cuda {

// Enqueued on the device's stream. FP32 unless cuda_allow_tf32().
void gemm(const cpu::GemmArgs& g, int device);

}  // namespace cuda
}  // namespace retort
