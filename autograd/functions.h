// Differentiable functions: one per op of tensor/ops.h that has a gradient.
// Each computes its value with the op, and when a graph is needed records a
// node whose backward uses the ops' backward kernels. Broadcasting binary
// functions reduce their gradients back to each input's shape.
#pragma once
#include <vector>

#include "autograd/variable.h"
#include "tensor/ops.h"

namespace retort {
namespace autograd {

// ---- element-wise
Variable add(const Variable& a, const Variable& b);
Variable sub(const Variable& a, const Variable& b);
Variable mul(const Variable& a, const Variable& b);
Variable div(const Variable& a, const Variable& b);
// Ties send half of the gradient to each side (PyTorch).
Variable maximum(const Variable& a, const Variable& b);
Variable minimum(const Variable& a, const Variable& b);
Variable neg(const Variable& x);
Variable exp(const Variable& x);
Variable log(const Variable& x);
Variable sqrt(const Variable& x);
Variable abs(const Variable& x);  // gradient sign(x), 0 at 0
Variable relu(const Variable& x);
Variable relu6(const Variable& x);
// relu(a + b) for a and b of one shape: the values and gradients of relu(add(a, b)) in one pass
// forward (a residual block's end).
Variable add_relu(const Variable& a, const Variable& b);
Variable sigmoid(const Variable& x);
Variable tanh(const Variable& x);
Variable square(const Variable& x);
Variable add_scalar(const Variable& x, float a);
Variable mul_scalar(const Variable& x, float a);
Variable pow_scalar(const Variable& x, float a);
Variable clamp(const Variable& x, float lo, float hi);  // gradient passes where lo <= x <= hi

// ---- reductions
Variable sum(const Variable& x);
Variable mean(const Variable& x);
Variable sum(const Variable& x, int dim, bool keepdim = false);
Variable mean(const Variable& x, int dim, bool keepdim = false);
// Maximum over dim; the gradient goes to the first maximum.
Variable max(const Variable& x, int dim, bool keepdim = false);

// ---- layout
Variable reshape(const Variable& x, const std::vector<int64_t>& dims);
Variable permute(const Variable& x, const std::vector<int>& order);
Variable narrow(const Variable& x, int dim, int64_t start, int64_t length);
Variable cat(const std::vector<Variable>& xs, int dim);
std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int dim);
Variable channel_shuffle(const Variable& x, int64_t groups);
Variable pad2d(const Variable& x, int64_t top, int64_t bottom, int64_t left, int64_t right);
Variable crop2d(const Variable& x, int64_t top, int64_t left, int64_t height, int64_t width);

// ---- layers
Variable matmul(const Variable& a, const Variable& b, bool trans_a = false, bool trans_b = false);
Variable linear(const Variable& x, const Variable& w, const Variable& bias);
Variable conv2d(const Variable& x, const Variable& w, const Variable& bias, const ops::Conv2dOptions& o);
Variable max_pool2d(const Variable& x, const ops::Pool2dOptions& o);
Variable avg_pool2d(const Variable& x, const ops::Pool2dOptions& o);
Variable adaptive_avg_pool2d(const Variable& x, int64_t out_h, int64_t out_w);
// Training mode uses batch statistics and updates the running ones in place;
// evaluation mode uses the running statistics (still differentiable in x,
// gamma and beta, e.g. for input gradients through a frozen teacher). With
// `relu`, relu(batch_norm(...)) in one pass forward and one backward: the same
// values as the pair, one activation less to write, read and keep.
Variable batch_norm(const Variable& x, const Variable& gamma, const Variable& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5, bool relu = false);
// Identity when !training or p == 0.
Variable dropout(const Variable& x, float p, Generator& gen, bool training);

// ---- softmax and losses (last dimension)
Variable softmax(const Variable& x, float T = 1.0f);
Variable log_softmax(const Variable& x, float T = 1.0f);
// Mean cross-entropy with PyTorch's label smoothing; labels are constants.
Variable cross_entropy(const Variable& logits, const Tensor& labels, float label_smoothing = 0.0f);

}  // namespace autograd
}  // namespace retort
