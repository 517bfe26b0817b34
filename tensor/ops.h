// The numeric API: plain functions on Tensors, no autograd. Each op checks its
// inputs (the message names the op and the shapes), allocates its output and
// runs the kernel of the input's device. Float ops take f32; image ops take
// channels-last activations [N, H, W, C] and PyTorch weight layouts.
//
// Each declaration carries a one-line contract: "requires" what the inputs
// must satisfy (violations throw retort::Error), "ensures" what comes back.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/optim.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"

namespace retort {
namespace ops {

// ---------------------------------------------------------------- copies and casts

// requires dst, src same shape and dtype (any devices, any strides); ensures dst holds src, dst's version bumped.
void copy_(Tensor& dst, const Tensor& src);
// requires a defined tensor; ensures every element equals value (converted to the dtype), version bumped.
void fill_(Tensor& t, double value);
// requires any dtype; ensures a contiguous copy converted to `to` (float -> int truncates toward zero, u8 saturates to [0, 255]).
Tensor cast(const Tensor& x, DType to);
// requires rank 4; ensures the contiguous permutation [N,C,H,W] -> [N,H,W,C].
Tensor nchw_to_nhwc(const Tensor& x);
// requires rank 4; ensures the contiguous permutation [N,H,W,C] -> [N,C,H,W].
Tensor nhwc_to_nchw(const Tensor& x);

// ---------------------------------------------------------------- element-wise (f32)

// requires f32; ensures y[i] = op(x[i]) with scalar arguments a, b where the op takes them.
Tensor unary(UnaryOp op, const Tensor& x, float a = 0.0f, float b = 0.0f);
// requires f32; ensures -x.
Tensor neg(const Tensor& x);
// requires f32; ensures e^x.
Tensor exp(const Tensor& x);
// requires f32; ensures ln x (NaN below 0, -inf at 0).
Tensor log(const Tensor& x);
// requires f32; ensures sqrt x.
Tensor sqrt(const Tensor& x);
// requires f32; ensures 1/sqrt x.
Tensor rsqrt(const Tensor& x);
// requires f32; ensures |x|.
Tensor abs(const Tensor& x);
// requires f32; ensures -1, 0 or 1 (NaN stays NaN).
Tensor sign(const Tensor& x);
// requires f32; ensures max(x, 0), NaN propagates.
Tensor relu(const Tensor& x);
// requires f32; ensures min(max(x, 0), 6), NaN propagates.
Tensor relu6(const Tensor& x);
// requires f32; ensures 1/(1+e^-x).
Tensor sigmoid(const Tensor& x);
// requires f32; ensures tanh x.
Tensor tanh(const Tensor& x);
// requires f32; ensures x^2.
Tensor square(const Tensor& x);
// requires f32; ensures 1/x.
Tensor reciprocal(const Tensor& x);
// requires f32; ensures x + a.
Tensor add_scalar(const Tensor& x, float a);
// requires f32; ensures x * a.
Tensor mul_scalar(const Tensor& x, float a);
// requires f32; ensures x^a (powf semantics).
Tensor pow_scalar(const Tensor& x, float a);
// requires f32, lo <= hi; ensures min(max(x, lo), hi).
Tensor clamp(const Tensor& x, float lo, float hi);

// requires f32, shapes broadcastable (NumPy rules); ensures op(a, b) at the broadcast shape.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// requires broadcastable f32; ensures a + b.
Tensor add(const Tensor& a, const Tensor& b);
// requires broadcastable f32; ensures a - b.
Tensor sub(const Tensor& a, const Tensor& b);
// requires broadcastable f32; ensures a * b.
Tensor mul(const Tensor& a, const Tensor& b);
// requires broadcastable f32; ensures a / b.
Tensor div(const Tensor& a, const Tensor& b);
// requires broadcastable f32; ensures the larger of a, b (NaN propagates).
Tensor maximum(const Tensor& a, const Tensor& b);
// requires broadcastable f32; ensures the smaller of a, b (NaN propagates).
Tensor minimum(const Tensor& a, const Tensor& b);
// requires f32 a, b of one shape; ensures relu(a + b), bit for bit relu(add(a, b)) in one pass (a
// residual block's sum and ReLU).
Tensor add_relu(const Tensor& a, const Tensor& b);
// requires dy, y same shape (y = relu output); ensures dy where y > 0, else 0.
Tensor relu_backward(const Tensor& dy, const Tensor& y);
// requires dy, x same shape (x = relu6 input); ensures dy where 0 < x < 6, else 0.
Tensor relu6_backward(const Tensor& dy, const Tensor& x);
// requires dy, y same shape (y = sigmoid output); ensures dy*y*(1-y).
Tensor sigmoid_backward(const Tensor& dy, const Tensor& y);
// requires dy, y same shape (y = tanh output); ensures dy*(1-y^2).
Tensor tanh_backward(const Tensor& dy, const Tensor& y);

// requires f32, contiguous a, b broadcastable to a; ensures a += alpha*b in place, version bumped.
void add_(Tensor& a, const Tensor& b, float alpha = 1.0f);
// requires f32 contiguous; ensures a *= s in place, version bumped.
void mul_(Tensor& a, float s);

// ---------------------------------------------------------------- reductions (f32)

// requires f32; ensures the sum over `dim` (accumulated in double on the CPU), dim kept as 1 if keepdim.
Tensor sum(const Tensor& x, int dim, bool keepdim = false);
// requires f32, size(dim) > 0; ensures the mean over `dim`.
Tensor mean(const Tensor& x, int dim, bool keepdim = false);
// requires f32; ensures the sum of all elements, shape [].
Tensor sum(const Tensor& x);
// requires f32, numel > 0; ensures the mean of all elements, shape [].
Tensor mean(const Tensor& x);

struct MaxResult {
  Tensor values;   // f32
  Tensor indices;  // i64, first index of the maximum (NaN counts as the maximum)
};
// requires f32, size(dim) > 0; ensures the maximum over `dim` and where it is.
MaxResult max(const Tensor& x, int dim, bool keepdim = false);
// requires dy and indices from max(x of x_shape, dim, keepdim); ensures dL/dx (dy placed at each maximum, 0 elsewhere).
Tensor max_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, int dim);
// requires f32, size(dim) > 0; ensures max(x, dim).indices.
Tensor argmax(const Tensor& x, int dim, bool keepdim = false);
// requires `shape` broadcastable to x's shape; ensures y with that shape and x = broadcast(y)'s adjoint (sums over broadcast dims).
Tensor sum_to(const Tensor& x, const Shape& shape);
// requires f32; ensures the number of NaN and infinite elements.
int64_t count_nonfinite(const Tensor& x);

// ---------------------------------------------------------------- matrix products (f32)

// requires 2-D a, b with matching inner sizes after the optional transposes; ensures op(a) @ op(b).
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
// requires x [B, in], w [out, in], bias [out] or undefined; ensures x w^T + bias, [B, out].
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias);

// ---------------------------------------------------------------- convolution (f32, NHWC)

struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
  // Square stride, padding and dilation.
  static Conv2dOptions make(int64_t stride, int64_t padding, int64_t dilation = 1, int64_t groups = 1) {
    return Conv2dOptions{stride, stride, padding, padding, dilation, dilation, groups};
  }
};

// requires x [N,H,W,C], w [O, C/groups, KH, KW], O and C divisible by groups, bias [O] or undefined,
// a non-empty output; ensures y [N,OH,OW,O], the cross-correlation of PyTorch's conv2d.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& o);
// requires dy [N,OH,OW,O] of conv2d(x of x_shape, w, o); ensures dL/dx, shape x_shape.
Tensor conv2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dOptions& o);
// requires dy [N,OH,OW,O] of conv2d(x, w of w_shape, o); ensures dL/dw, shape w_shape.
Tensor conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape, const Conv2dOptions& o);
// requires dy [..., O]; ensures dL/dbias = sum of dy over all but the last dimension, [O].
Tensor conv2d_backward_bias(const Tensor& dy);

// ---------------------------------------------------------------- pooling (f32, NHWC)

struct Pool2dOptions {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only (PyTorch's default)
  // Square window; stride 0 means stride = kernel (PyTorch's default).
  static Pool2dOptions make(int64_t kernel, int64_t stride = 0, int64_t padding = 0, bool ceil_mode = false,
                            bool count_include_pad = true) {
    const int64_t s = stride == 0 ? kernel : stride;
    return Pool2dOptions{kernel, kernel, s, s, padding, padding, ceil_mode, count_include_pad};
  }
};

struct MaxPoolResult {
  Tensor y;        // [N, OH, OW, C]
  Tensor indices;  // i64 [N, OH, OW, C], flat input position ih*W + iw of each maximum
};
// requires x [N,H,W,C], padding <= kernel/2, a non-empty output; ensures PyTorch's max_pool2d.
MaxPoolResult max_pool2d(const Tensor& x, const Pool2dOptions& o);
// requires dy and indices from max_pool2d of an input of x_shape; ensures dL/dx (dy scattered to the maxima).
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape);
// requires x [N,H,W,C], padding <= kernel/2; ensures PyTorch's avg_pool2d (ceil_mode, count_include_pad).
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& o);
// requires dy of avg_pool2d(x of x_shape, o); ensures dL/dx.
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Pool2dOptions& o);
// requires x [N,H,W,C], out_h, out_w >= 1; ensures PyTorch's adaptive_avg_pool2d, [N,out_h,out_w,C].
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
// requires dy of adaptive_avg_pool2d(x of x_shape); ensures dL/dx.
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape);

// ---------------------------------------------------------------- batch norm (f32, channels last)

struct BatchNormOutput {
  Tensor y;
  Tensor save_mean;    // [C] batch mean
  Tensor save_invstd;  // [C] 1/sqrt(biased batch variance + eps)
};
// requires x [..., C] with at least 2 values per channel, gamma/beta/running stats [C];
// ensures PyTorch's training-mode batch norm; running_mean/var updated in place with momentum
// (running_var with the unbiased variance). With `relu`, y is relu(batch norm) in the same pass.
BatchNormOutput batch_norm_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                                 Tensor& running_var, double momentum, double eps, bool relu = false);
// requires x [..., C], parameters [C]; ensures gamma*(x - running_mean)/sqrt(running_var + eps) + beta
// (then relu with `relu`).
Tensor batch_norm_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                       const Tensor& running_var, double eps, bool relu = false);

struct BatchNormGrads {
  Tensor dx, dgamma, dbeta;
};
// requires dy, x [..., C] and the save_mean/save_invstd of batch_norm_train; ensures the
// training-mode gradients (batch statistics depend on x). relu_y, when defined, is the output of
// a fused batch norm + ReLU: dy then flows only where relu_y > 0 (ReLU's backward, fused).
BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& save_mean,
                                   const Tensor& save_invstd, const Tensor& relu_y = Tensor());
// requires dy, x [..., C] and the running statistics used in batch_norm_eval; ensures its gradients
// (the statistics are constants); relu_y as above.
BatchNormGrads batch_norm_eval_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                        const Tensor& running_mean, const Tensor& running_var, double eps,
                                        const Tensor& relu_y = Tensor());

// ---------------------------------------------------------------- softmax and losses (f32, rows = last dim)

// requires f32, T > 0; ensures softmax(x/T) over the last dimension (max subtracted).
Tensor softmax(const Tensor& x, float T = 1.0f);
// requires f32, T > 0; ensures log_softmax(x/T) over the last dimension.
Tensor log_softmax(const Tensor& x, float T = 1.0f);
// requires dy, y same shape, y = softmax(x, T); ensures dL/dx = (1/T) y (dy - sum(dy y)).
Tensor softmax_backward(const Tensor& dy, const Tensor& y, float T = 1.0f);
// requires dy, y same shape, y = log_softmax(x, T); ensures dL/dx = (1/T)(dy - softmax sum(dy)).
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, float T = 1.0f);
// requires logits [B, C], labels i64 [B] in [0, C), 0 <= label_smoothing <= 1; ensures the mean over
// rows of -sum_k q_k log softmax(z)_k with q = (1-s) onehot + s/C (PyTorch's cross_entropy), shape [].
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, float label_smoothing = 0.0f);
// requires the inputs of cross_entropy and grad = dL/dloss; ensures dL/dlogits = grad (softmax - q)/B.
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels, float label_smoothing, float grad);

// ---------------------------------------------------------------- layout (any dtype)

// requires equal dtypes and shapes except along dim; ensures the concatenation in the given order.
Tensor cat(const std::vector<Tensor>& xs, int dim);
// requires sizes summing to size(dim); ensures contiguous pieces of x along dim, in order.
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim);
// requires last dimension C divisible by groups; ensures out[..., j*g + i] = x[..., i*(C/g) + j].
Tensor channel_shuffle(const Tensor& x, int64_t groups);
// requires x [N,H,W,C] or [H,W,C], non-negative padding; ensures x surrounded by `value`.
Tensor pad2d(const Tensor& x, int64_t top, int64_t bottom, int64_t left, int64_t right, double value = 0.0);
// requires x [N,H,W,C] or [H,W,C] and the window inside it; ensures the contiguous window.
Tensor crop2d(const Tensor& x, int64_t top, int64_t left, int64_t height, int64_t width);
// requires x [N,H,W,C], padding >= 0, a window that fits the padded image; ensures each image
// zero-padded by `padding` and cropped at its own uniform offset drawn from gen (one draw per image, in order).
Tensor random_crop(const Tensor& x, int64_t height, int64_t width, int64_t padding, Generator& gen);

// ---------------------------------------------------------------- optimiser updates (f32, in place)

// requires p, g, buf of one shape (buf unused when momentum == 0); ensures PyTorch's SGD step:
// d = g + wd p; buf = d (first step) or momentum buf + d; d = nesterov ? d + momentum buf : buf; p -= lr d.
void sgd_update_(Tensor& p, const Tensor& g, Tensor& buf, const SgdParams& s);
// requires p, g, m, v of one shape, step >= 1 in the params' bias corrections; ensures PyTorch's AdamW step.
void adamw_update_(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamWParams& s);

// ---------------------------------------------------------------- random numbers

// requires f32, lo < hi; ensures t filled with uniform values in [lo, hi), version bumped.
void uniform_(Tensor& t, float lo, float hi, Generator& gen);
// requires f32, std >= 0; ensures t filled with normal(mean, std^2) values, version bumped.
void normal_(Tensor& t, float mean, float std, Generator& gen);
// ensures f32 uniform [0, 1) values.
Tensor rand(const Shape& shape, Generator& gen, const Device& device = Device::cpu());
// ensures f32 standard-normal values.
Tensor randn(const Shape& shape, Generator& gen, const Device& device = Device::cpu());
// requires high >= 1; ensures i64 values uniform in [0, high).
Tensor randint(const Shape& shape, int64_t high, Generator& gen, const Device& device = Device::cpu());
// requires n >= 0; ensures an i64 random permutation of 0..n-1 (Fisher-Yates).
Tensor randperm(int64_t n, Generator& gen);

struct DropoutOutput {
  Tensor y;
  Tensor mask;  // 0 for dropped elements, 1/(1-p) for kept ones
};
// requires f32, 0 <= p < 1; ensures y = x * mask with elements dropped independently with probability p.
DropoutOutput dropout(const Tensor& x, float p, Generator& gen);

}  // namespace ops
}  // namespace retort
