// Convolution geometry and the im2col/col2im index maps for channels-last
// (NHWC) activations with PyTorch weight layout [O, C/groups, KH, KW].
//
// For image n and group g, the column matrix has one row per output pixel
// p = oh*OW + ow and K = KH*KW*Cg columns ordered (kh, kw, c): a run of Cg
// contiguous input channels per kernel tap. The weight is repacked to the same
// (kh, kw, c) order, so forward is col [P x K] times W_g^T [K x Og].
#pragma once
#include <cstdint>

#include "tensor/kernels/hd.h"

namespace retort {

struct ConvGeom {
  int64_t N, H, W, C;     // input NHWC
  int64_t O;              // output channels
  int64_t KH, KW;
  int64_t SH, SW, PH, PW, DH, DW;
  int64_t G;              // groups
  int64_t OH, OW;         // output spatial size

  RETORT_HD int64_t Cg() const { return C / G; }
  RETORT_HD int64_t Og() const { return O / G; }
  RETORT_HD int64_t P() const { return OH * OW; }
  RETORT_HD int64_t K() const { return KH * KW * (C / G); }
  // True when the column matrix is the input itself (1x1, stride 1, no padding, one group).
  RETORT_HD bool is_pointwise() const {
    return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0 && G == 1;
  }
};

// Offset (in elements, within one image) of the first channel of the input run
// that feeds column row p, tap t = kh*KW + kw of group g; -1 when the tap falls
// in the zero padding.
RETORT_HD int64_t im2col_source(const ConvGeom& g, int64_t p, int64_t t, int64_t group) {
  const int64_t oh = p / g.OW, ow = p - oh * g.OW;
  const int64_t kh = t / g.KW, kw = t - kh * g.KW;
  const int64_t ih = oh * g.SH - g.PH + kh * g.DH;
  const int64_t iw = ow * g.SW - g.PW + kw * g.DW;
  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return -1;
  return (ih * g.W + iw) * g.C + group * g.Cg();
}

// Output extent of a convolution along one axis (floor mode); 0 when the
// dilated kernel does not fit the padded input. The explicit test matters:
// C++ division truncates toward zero, so a span in (-stride, 0) would give 1.
RETORT_HD int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  const int64_t span = in + 2 * pad - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

}  // namespace retort
