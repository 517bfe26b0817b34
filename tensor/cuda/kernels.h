// CUDA kernels behind the op front ends; the same contracts as tensor/cpu/kernels.h
// plus the device index. The bodies are the shared functors and index maps of
// tensor/kernels/, so their math is exercised by the CPU tests.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/cuda/runtime.h"
#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/index.h"
#include "tensor/kernels/optim.h"
#include "tensor/kernels/philox.h"
#include "tensor/kernels/pool.h"

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
void randint(int64_t* y, int64_t n, int64_t high, const PhiloxState& s, int device);

// Reductions of x viewed as [outer, n, inner] over the middle axis (pointers on
// the device, results too: sum_all writes one float, count_nonfinite one int64).
void sum_dim(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, int device);
void max_dim(const float* x, float* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner, int device);
// dx (zeroed here) gets dy at the positions indices name.
void max_backward(const float* dy, const int64_t* indices, float* dx, int64_t outer, int64_t n, int64_t inner,
                  int device);
// out[0] = sum(x) / divisor, summed in double (divisor n gives the mean).
void sum_all(const float* x, int64_t n, double divisor, float* out, int device);
void count_nonfinite(const float* x, int64_t n, int64_t* out, int device);

// Pooling (NHWC), the contracts of the cpu:: functions.
void max_pool2d(const PoolGeom& g, const float* x, float* y, int64_t* arg, int device);
void max_pool2d_backward(const PoolGeom& g, const float* dy, const int64_t* arg, float* dx, int device);
void avg_pool2d(const PoolGeom& g, const float* x, float* y, int device);
void avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx, int device);
void adaptive_avg_pool2d(const PoolGeom& g, const float* x, float* y, int device);
void adaptive_avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx, int device);

// Batch norm on x [M, C] (channels last); every pointer is on the device.
// Training: batch statistics, running averages updated in place, y (with the
// fused ReLU when `relu`), and the saved mean and 1/sqrt(var + eps) [C].
void batch_norm_train(const float* x, const float* gamma, const float* beta, float* running_mean, float* running_var,
                      float* y, float* save_mean, float* save_invstd, int64_t M, int64_t C, double momentum,
                      double eps, bool relu, int device);
void batch_norm_eval(const float* x, const float* gamma, const float* beta, const float* running_mean,
                     const float* running_var, float* y, int64_t M, int64_t C, double eps, bool relu, int device);
// invstd[c] = 1/sqrt(var[c] + eps) (evaluation-mode backward).
void batch_norm_invstd(const float* var, float* invstd, int64_t C, double eps, int device);
// Gradients for y = gamma*(x - mean)*invstd + beta; with batch_stats, mean and
// invstd are functions of x. relu_y (or null) is the fused ReLU's output.
void batch_norm_backward(const float* dy, const float* x, const float* gamma, const float* mean, const float* invstd,
                         const float* relu_y, bool batch_stats, float* dx, float* dgamma, float* dbeta, int64_t M,
                         int64_t C, int device);

// Row-wise softmax / log-softmax at temperature T, and their backward passes.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, float T, bool log, int device);
void softmax_backward_rows(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols, float T, bool log,
                           int device);
// Mean cross-entropy with label smoothing into loss[0] (labels valid, on the device).
void cross_entropy(const float* logits, const int64_t* labels, int64_t rows, int64_t cols, float smoothing,
                   float* loss, int device);
void cross_entropy_backward(const float* logits, const int64_t* labels, int64_t rows, int64_t cols, float smoothing,
                            float grad, float* dlogits, int device);

// Layout: the contracts of the cpu:: functions.
void copy_slab(const void* x, void* y, size_t elem_size, int64_t outer, int64_t n_i, int64_t n_total, int64_t at,
               int64_t inner, bool to_y, int device);
void channel_shuffle(const float* x, float* y, int64_t rows, int64_t C, int64_t groups, int device);

// Optimiser steps (tensor/kernels/optim.h); buf may be null when momentum == 0.
void sgd_update(float* p, const float* g, float* buf, int64_t n, const SgdParams& s, int device);
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWParams& s, int device);

}  // namespace cuda
}  // namespace retort
