// Convolution through oneDNN (Debian's libdnnl-dev), the CPU counterpart of
// cuDNN. Activations stay NHWC (oneDNN's "nhwc" tag, no reorder) except for
// 3x3 stride-1 convolutions of 32 channels or more, which run oneDNN's
// Winograd kernel on blocked copies; weights are reordered per call between
// PyTorch's [O, C/G, KH, KW] and the layout the chosen kernel wants (a few KB
// to a few MB). Primitives are cached under the complete geometry and the
// thread count. The conv2d functions exist only with RETORT_WITH_DNNL; each
// returns false, having written nothing, when oneDNN has no kernel for the
// geometry, and the caller then uses the built-in path.
#pragma once
#include <string>

#include "tensor/kernels/conv.h"

namespace retort {
namespace cpu {
namespace onednn {

enum class Pass { forward, backward_input, backward_weight };

// oneDNN's name for the kernel it runs for `pass` of `g` (e.g.
// "jit_wino_4x3:avx512_core"), "" when it has none or the build has no
// oneDNN; for tests.
std::string kernel_name(Pass pass, const ConvGeom& g, bool bias);

bool conv2d_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y);
bool conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
bool conv2d_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw);

}  // namespace onednn
}  // namespace cpu
}  // namespace retort
