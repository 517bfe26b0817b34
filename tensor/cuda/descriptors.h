// RAII cuDNN descriptors for the convolution (CUDA translation units of
// cuDNN builds only). Each owns one descriptor and sets it once; the shapes
// follow retort's layouts: activations NHWC, filters [O, KH, KW, C/groups].
#pragma once
#ifdef RETORT_WITH_CUDNN
#include <cudnn.h>

#include <climits>

#include "tensor/cuda/context.h"
#include "tensor/kernels/conv.h"

namespace retort {
namespace cuda {

// Owns a descriptor from Create, released by Destroy.
template <class Handle, cudnnStatus_t (*Create)(Handle*), cudnnStatus_t (*Destroy)(Handle)>
class CudnnDescriptor {
 public:
  CudnnDescriptor() { RETORT_CUDNN_CHECK(Create(&desc_), "creating a descriptor"); }
  ~CudnnDescriptor() {
    if (desc_ != nullptr) Destroy(desc_);
  }
  CudnnDescriptor(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(const CudnnDescriptor&) = delete;
  Handle get() const { return desc_; }

 private:
  Handle desc_ = nullptr;
};

// cuDNN takes sizes as int.
inline int cudnn_int(int64_t v, const char* what) {
  RETORT_CHECK(v >= 0 && v <= INT_MAX, "cuDNN: expected " << what << " to fit an int, found " << v);
  return static_cast<int>(v);
}

// A packed float NHWC activation [n, h, w, c]. cuDNN takes the sizes in
// (n, c, h, w) order whatever the format; CUDNN_TENSOR_NHWC makes the strides
// those of a packed NHWC tensor.
class TensorDescriptor
    : public CudnnDescriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor> {
 public:
  TensorDescriptor(int64_t n, int64_t h, int64_t w, int64_t c) {
    RETORT_CUDNN_CHECK(cudnnSetTensor4dDescriptor(get(), CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, cudnn_int(n, "N"),
                                                  cudnn_int(c, "C"), cudnn_int(h, "H"), cudnn_int(w, "W")),
                       "NHWC tensor [" << n << ", " << h << ", " << w << ", " << c << "]");
  }
};

// The filter of a convolution with G groups, stored [O, KH, KW, C/G]:
// cuDNN's CUDNN_TENSOR_NHWC filter format ("KRSC"), sizes given as (k, c, h,
// w) with c the input channels of one group.
class FilterDescriptor
    : public CudnnDescriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor> {
 public:
  explicit FilterDescriptor(const ConvGeom& g) {
    RETORT_CUDNN_CHECK(cudnnSetFilter4dDescriptor(get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, cudnn_int(g.O, "O"),
                                                  cudnn_int(g.Cg(), "C/groups"), cudnn_int(g.KH, "KH"),
                                                  cudnn_int(g.KW, "KW")),
                       "NHWC filter [" << g.O << ", " << g.KH << ", " << g.KW << ", " << g.Cg() << "]");
  }
};

// Cross-correlation (what deep-learning "convolution" means) with float
// accumulation, the groups set on the descriptor (one call covers every group)
// and the given math type.
class ConvolutionDescriptor
    : public CudnnDescriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                             cudnnDestroyConvolutionDescriptor> {
 public:
  ConvolutionDescriptor(const ConvGeom& g, cudnnMathType_t math) {
    RETORT_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(get(), cudnn_int(g.PH, "pad"), cudnn_int(g.PW, "pad"),
                                                       cudnn_int(g.SH, "stride"), cudnn_int(g.SW, "stride"),
                                                       cudnn_int(g.DH, "dilation"), cudnn_int(g.DW, "dilation"),
                                                       CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                       "padding (" << g.PH << ", " << g.PW << "), stride (" << g.SH << ", " << g.SW
                                   << "), dilation (" << g.DH << ", " << g.DW << ")");
    RETORT_CUDNN_CHECK(cudnnSetConvolutionGroupCount(get(), cudnn_int(g.G, "groups")), "groups " << g.G);
    set_math(math);
  }
  void set_math(cudnnMathType_t math) {
    RETORT_CUDNN_CHECK(cudnnSetConvolutionMathType(get(), math), "math type " << static_cast<int>(math));
  }
};

}  // namespace cuda
}  // namespace retort
#endif  // RETORT_WITH_CUDNN
