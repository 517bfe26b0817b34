// CUDA convolution entry points (NHWC activations, PyTorch weights [O, C/groups,
// KH, KW], see tensor/kernels/conv.h); plain C++, so the op front ends include
// it. Every call is enqueued on the device's stream. The outputs are
// overwritten; bias is added by the front end.
#pragma once
#include "tensor/kernels/conv.h"

namespace retort {
namespace cuda {

// cuDNN when the build has it and it has an algorithm for the geometry within
// the workspace cap; otherwise the cuDNN-free path below.
void conv2d_forward(const ConvGeom& g, const float* x, const float* w, float* y, int device);
void conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx, int device);
void conv2d_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw, int device);

// The cuDNN-free path: cuBLAS GEMMs (no im2col for pointwise convolutions),
// im2col/col2im kernels otherwise, and direct kernels for depthwise ones.
void conv2d_forward_fallback(const ConvGeom& g, const float* x, const float* w, float* y, int device);
void conv2d_backward_input_fallback(const ConvGeom& g, const float* dy, const float* w, float* dx, int device);
void conv2d_backward_weight_fallback(const ConvGeom& g, const float* dy, const float* x, float* dw, int device);

// Weight layout [O, Cg, KH, KW] <-> [O, KH, KW, Cg] (conv_weight_oihw_offset).
void conv_weight_to_ohwi(const ConvGeom& g, const float* w, float* w_ohwi, int device);
void conv_weight_from_ohwi(const ConvGeom& g, const float* w_ohwi, float* w, int device);

}  // namespace cuda
}  // namespace retort
