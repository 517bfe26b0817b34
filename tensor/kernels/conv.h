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

// ---------------------------------------------------------------------------
// Bodies of the CUDA convolution kernels (tensor/cuda/conv_fallback.cu), one
// output element per call; tests/ops/test_conv_bodies.cpp runs them on the CPU.

// Weight [O, Cg, KH, KW] (PyTorch, "OIHW") <-> [O, KH, KW, Cg] ("OHWI": the
// (kh, kw, c) order of the column matrix, and cuDNN's NHWC filter layout).
// Offset in the OIHW weight of element i of the OHWI one; a bijection, so it
// serves both directions (gather one way, scatter the other).
RETORT_HD int64_t conv_weight_oihw_offset(const ConvGeom& g, int64_t i) {
  const int64_t Cg = g.Cg(), T = g.KH * g.KW;
  const int64_t c = i % Cg, r = i / Cg;
  const int64_t t = r % T, o = r / T;
  return (o * Cg + c) * T + t;
}

// Element i of the column matrix of a run of images for group `group`:
// [images, P, K], K in (kh, kw, c) order; x points at the first image.
RETORT_HD float im2col_value(const ConvGeom& g, const float* x, int64_t group, int64_t i) {
  const int64_t K = g.K(), Cg = g.Cg();
  const int64_t k = i % K, row = i / K;
  const int64_t p = row % g.P(), n = row / g.P();
  const int64_t t = k / Cg, c = k - t * Cg;
  const int64_t src = im2col_source(g, p, t, group);
  return src < 0 ? 0.0f : x[n * g.H * g.W * g.C + src + c];
}

// The output pixel p = oh*OW + ow whose tap t reads input pixel (ih, iw); -1
// when no output pixel does (stride phase, or outside the output).
RETORT_HD int64_t conv_tap_output(const ConvGeom& g, int64_t ih, int64_t iw, int64_t t) {
  const int64_t kh = t / g.KW, kw = t - kh * g.KW;
  const int64_t vh = ih + g.PH - kh * g.DH, vw = iw + g.PW - kw * g.DW;
  if (vh < 0 || vw < 0 || vh % g.SH != 0 || vw % g.SW != 0) return -1;
  const int64_t oh = vh / g.SH, ow = vw / g.SW;
  if (oh >= g.OH || ow >= g.OW) return -1;
  return oh * g.OW + ow;
}

// col2im as a gather (no atomics, deterministic): element i of the input
// gradient of group `group` over a run of images ([images, H, W, Cg]) is the
// sum of the column entries im2col copied from it; col is [images, P, K] and
// dx points at the first image. Writes the element (every one exactly once).
RETORT_HD void col2im_store(const ConvGeom& g, const float* col, int64_t group, float* dx, int64_t i) {
  const int64_t Cg = g.Cg(), K = g.K(), T = g.KH * g.KW;
  const int64_t c = i % Cg, pix = i / Cg;
  const int64_t iw = pix % g.W, r = pix / g.W;
  const int64_t ih = r % g.H, n = r / g.H;
  const float* coln = col + n * g.P() * K;
  float acc = 0.0f;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t p = conv_tap_output(g, ih, iw, t);
    if (p >= 0) acc += coln[p * K + t * Cg + c];
  }
  dx[pix * g.C + group * Cg + c] = acc;
}

// Depthwise convolution (G == C == O), weight [C, 1, KH, KW].
RETORT_HD bool conv_is_depthwise(const ConvGeom& g) { return g.G > 1 && g.G == g.C && g.O == g.C; }

// Element i of y [N, OH, OW, C].
RETORT_HD float depthwise_forward_value(const ConvGeom& g, const float* x, const float* w, int64_t i) {
  const int64_t C = g.C, T = g.KH * g.KW;
  const int64_t c = i % C, r = i / C;
  const int64_t p = r % g.P(), n = r / g.P();
  const float* xn = x + n * g.H * g.W * C;
  float acc = 0.0f;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t src = im2col_source(g, p, t, 0);
    if (src >= 0) acc += xn[src + c] * w[c * T + t];
  }
  return acc;
}

// Element i of dx [N, H, W, C].
RETORT_HD float depthwise_backward_input_value(const ConvGeom& g, const float* dy, const float* w, int64_t i) {
  const int64_t C = g.C, T = g.KH * g.KW;
  const int64_t c = i % C, pix = i / C;
  const int64_t iw = pix % g.W, r = pix / g.W;
  const int64_t ih = r % g.H, n = r / g.H;
  const float* dyn = dy + n * g.P() * C;
  float acc = 0.0f;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t p = conv_tap_output(g, ih, iw, t);
    if (p >= 0) acc += dyn[p * C + c] * w[c * T + t];
  }
  return acc;
}

// Element i of dw [C, 1, KH, KW]: a sum over every image and output pixel.
RETORT_HD float depthwise_backward_weight_value(const ConvGeom& g, const float* dy, const float* x, int64_t i) {
  const int64_t C = g.C, T = g.KH * g.KW, P = g.P();
  const int64_t t = i % T, c = i / T;
  float acc = 0.0f;
  for (int64_t n = 0; n < g.N; ++n) {
    const float* xn = x + n * g.H * g.W * C;
    const float* dyn = dy + n * P * C;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t src = im2col_source(g, p, t, 0);
      if (src >= 0) acc += xn[src + c] * dyn[p * C + c];
    }
  }
  return acc;
}

}  // namespace retort
