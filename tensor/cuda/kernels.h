// CUDA kernels behind the op front ends; the same contracts as tensor/cpu/kernels.h
// plus the device index. The bodies are the shared functors and index maps of
// tensor/kernels/, so their math is exercised by the CPU tests.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/cuda/runtime.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/index.h"
#include "tensor/kernels/philox.h"

namespace retort {
namespace cuda {

// dst[i] = src[index.at(i)] (contiguous dst).
void strided_copy(void* dst, const void* src, size_t elem_size, int64_t n, const StridedIndex& index, int device);
// dst[index.at(i)] = src[i] (contiguous src).
void strided_scatter(void* dst, const void* src, size_t elem_size, int64_t n, const StridedIndex& index, int device);
void fill(void* dst, size_t elem_size, const void* value, int64_t n, int device);
void cast(const void* src, int src_kind, void* dst, int dst_kind, int64_t n, int device);

void unary(UnaryOp op, float a, float b, const float* x, float* y, int64_t n, int device);
void binary(BinaryOp op, const float* a, const float* b, float* y, int64_t n, int device);
void binary_broadcast(BinaryOp op, const float* a, const StridedIndex& ia, const float* b, const StridedIndex& ib,
                      float* y, int64_t n, int device);
void add_inplace(float* a, const float* b, const StridedIndex& ib, float alpha, int64_t n, int device);

void uniform(float* y, int64_t n, float lo, float hi, const PhiloxState& s, int device);
void normal(float* y, int64_t n, float mean, float std, const PhiloxState& s, int device);
void dropout_mask(float* mask, int64_t n, float p, const PhiloxState& s, int device);

}  // namespace cuda
}  // namespace retort
