// CPU kernels behind the op front ends in tensor/ops.h. Inputs are validated
// and contiguous (unless a StridedIndex says otherwise); outputs are allocated
// by the caller. Parallel over OpenMP through retort::parallel_for.
#pragma once
#include <cstdint>

#include "tensor/kernels/conv.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/index.h"
#include "tensor/kernels/optim.h"
#include "tensor/kernels/philox.h"
#include "tensor/kernels/pool.h"

namespace retort {
namespace cpu {

// Copies n elements of elem_size bytes from src (read through `index`) to contiguous dst.
void strided_copy(void* dst, const void* src, size_t elem_size, int64_t n, const StridedIndex& index);
void fill(void* dst, size_t elem_size, const void* value, int64_t n);
// Converts n elements between dtypes given by element kind (0 = f32, 1 = i64, 2 = u8).
void cast(const void* src, int src_kind, void* dst, int dst_kind, int64_t n);

void unary(UnaryOp op, float a, float b, const float* x, float* y, int64_t n);
// Same-shape binary op.
void binary(BinaryOp op, const float* a, const float* b, float* y, int64_t n);
// Broadcasting binary op: element i of y combines a[ia.at(i)] and b[ib.at(i)].
void binary_broadcast(BinaryOp op, const float* a, const StridedIndex& ia, const float* b, const StridedIndex& ib,
                      float* y, int64_t n);
// a[i] += alpha * b[ib.at(i)] (ib may broadcast).
void add_inplace(float* a, const float* b, const StridedIndex& ib, float alpha, int64_t n, bool b_same_shape);
void scale_inplace(float* a, float s, int64_t n);

// Reductions of x viewed as [outer, n, inner] over the middle axis.
void sum_dim(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);
void max_dim(const float* x, float* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner);
double sum_all(const float* x, int64_t n);
int64_t count_nonfinite(const float* x, int64_t n);

void max_pool2d(const PoolGeom& g, const float* x, float* y, int64_t* arg);
void max_pool2d_backward(const PoolGeom& g, const float* dy, const int64_t* arg, float* dx);
void avg_pool2d(const PoolGeom& g, const float* x, float* y);
void avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx);
void adaptive_avg_pool2d(const PoolGeom& g, const float* x, float* y);
void adaptive_avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx);

// Batch norm on x viewed as [M, C] (channels last).
void batch_norm_stats(const float* x, int64_t M, int64_t C, double* mean, double* var_biased);
// y = (x - mean)*scale + shift per channel, then max(y, 0) when `relu`. Centering
// first keeps a channel that is (nearly) constant exact: x*scale + (shift -
// mean*scale) cancels |x|*scale, which 1/sqrt(eps) makes large.
void batch_norm_apply(const float* x, const float* mean, const float* scale, const float* shift, float* y, int64_t M,
                      int64_t C, bool relu = false);
// Per-channel sums of dy and dy*(x - mean). With relu_y (the output of a fused
// batch norm + ReLU), dy counts only where relu_y > 0: ReLU's backward, fused.
void batch_norm_reduce_grad(const float* dy, const float* x, const float* mean, int64_t M, int64_t C, double* sum_dy,
                            double* sum_dy_xmu, const float* relu_y = nullptr);
// dx = k*(dy - mean_dy - (x - mean)*c2) with per-channel k, mean_dy, c2 (dy masked as above).
void batch_norm_input_grad(const float* dy, const float* x, const float* mean, const float* k, const float* mean_dy,
                           const float* c2, float* dx, int64_t M, int64_t C, const float* relu_y = nullptr);

// Row-wise softmax / log-softmax of x [rows, cols] at temperature T.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, float T, bool log);
void softmax_backward_rows(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols, float T, bool log);
// Mean cross-entropy with label smoothing; returns the loss.
double cross_entropy(const float* logits, const int64_t* labels, int64_t rows, int64_t cols, float smoothing);
void cross_entropy_backward(const float* logits, const int64_t* labels, int64_t rows, int64_t cols, float smoothing,
                            float grad, float* dlogits);

// Copies x [outer, n_i, inner] into y [outer, n_total, inner] at column offset `at` (elem_size bytes).
void copy_slab(const void* x, void* y, size_t elem_size, int64_t outer, int64_t n_i, int64_t n_total, int64_t at,
               int64_t inner, bool to_y);
void channel_shuffle(const float* x, float* y, int64_t rows, int64_t C, int64_t groups);

// Optimiser steps (tensor/kernels/optim.h); buf may be null when momentum == 0.
void sgd_update(float* p, const float* g, float* buf, int64_t n, const SgdParams& s);
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWParams& s);

void uniform(float* y, int64_t n, float lo, float hi, const PhiloxState& s);
void normal(float* y, int64_t n, float mean, float std, const PhiloxState& s);
void randint(int64_t* y, int64_t n, int64_t high, const PhiloxState& s);
void dropout_mask(float* mask, int64_t n, float p, const PhiloxState& s);

}  // namespace cpu
}  // namespace retort

namespace retort {
namespace cpu {

// Convolution on NHWC activations with PyTorch weights (see tensor/kernels/conv.h).
void conv2d_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw);

// The convolution implementation the three functions above use: "onednn" when
// the build has oneDNN (RETORT_DNNL), unless the environment sets
// RETORT_CONV=builtin; otherwise "builtin" (im2col + GEMM, direct depthwise).
const char* conv_backend();
// Selects "builtin" or "onednn" for this process; Error naming the choices when
// the name is unknown or oneDNN is not in this build.
void set_conv_backend(const char* name);
bool conv_backend_available(const char* name);

}  // namespace cpu
}  // namespace retort
