// Convolution through oneDNN (Debian's libdnnl-dev), the CPU counterpart of
// cuDNN. Activations stay NHWC (oneDNN's "nhwc" tag, no reorder); weights are
// reordered per call between PyTorch's [O, C/G, KH, KW] and the layout the
// chosen kernel wants (a few KB to a few MB). Primitives are cached under the
// complete geometry and the thread count. Only compiled with RETORT_WITH_DNNL.
// Each function returns false, having written nothing, when oneDNN has no
// kernel for the geometry; the caller then uses the built-in path.
#pragma once
#include "tensor/kernels/conv.h"

namespace retort {
namespace cpu {
namespace onednn {

bool conv2d_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y);
bool conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
bool conv2d_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw);

}  // namespace onednn
}  // namespace cpu
}  // namespace retort
