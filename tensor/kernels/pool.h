// Pooling geometry and per-output-pixel bodies for NHWC tensors, shared by
// both backends. A body computes all C channels of one output pixel.
#pragma once
#include <cmath>  // INFINITY
#include <cstdint>

#include "tensor/kernels/hd.h"

namespace retort {

struct PoolGeom {
  int64_t N, H, W, C;
  int64_t KH, KW, SH, SW, PH, PW;
  int64_t OH, OW;
  bool count_include_pad;  // average pooling divisor
};

// Division rounding toward -infinity (b > 0); C++ '/' truncates toward zero.
RETORT_HD int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's output size: floor or ceil of (in + 2p - k)/s + 1, rounding toward
// -infinity so a window larger than the padded input gives no output (< 1);
// in ceil mode the last window must start inside the input or the left padding.
RETORT_HD int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const int64_t span = in + 2 * p - k;
  int64_t out = floor_div(ceil_mode ? span + s - 1 : span, s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// Max pooling of output pixel q = (n*OH + oh)*OW + ow; records the flat input
// index (ih*W + iw) of each maximum. Padding never wins; a NaN wins (as in PyTorch).
RETORT_HD void max_pool_pixel(const PoolGeom& g, const float* x, float* y, int64_t* arg, int64_t q) {
  const int64_t ow = q % g.OW, oh = (q / g.OW) % g.OH, n = q / (g.OW * g.OH);
  const int64_t h0 = oh * g.SH - g.PH, w0 = ow * g.SW - g.PW;
  float* yq = y + q * g.C;
  int64_t* aq = arg + q * g.C;
  for (int64_t c = 0; c < g.C; ++c) {
    yq[c] = -INFINITY;
    aq[c] = -1;
  }
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    const int64_t ih = h0 + kh;
    if (ih < 0 || ih >= g.H) continue;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const int64_t iw = w0 + kw;
      if (iw < 0 || iw >= g.W) continue;
      const int64_t pix = ih * g.W + iw;
      const float* xp = x + (n * g.H * g.W + pix) * g.C;
      for (int64_t c = 0; c < g.C; ++c) {
        const float v = xp[c];
        if (v > yq[c] || v != v || aq[c] < 0) {
          yq[c] = v;
          aq[c] = pix;
        }
      }
    }
  }
}

// Start, end (exclusive) and divisor of the averaging window of output (oh, ow).
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  float divisor;
};

RETORT_HD AvgWindow avg_window(const PoolGeom& g, int64_t oh, int64_t ow) {
  int64_t h0 = oh * g.SH - g.PH, w0 = ow * g.SW - g.PW;
  int64_t h1 = h0 + g.KH, w1 = w0 + g.KW;
  // The padded window (clipped to input + padding) sets the divisor with count_include_pad.
  const int64_t hp1 = h1 < g.H + g.PH ? h1 : g.H + g.PH;
  const int64_t wp1 = w1 < g.W + g.PW ? w1 : g.W + g.PW;
  const int64_t padded = (hp1 - h0) * (wp1 - w0);
  h0 = h0 > 0 ? h0 : 0;
  w0 = w0 > 0 ? w0 : 0;
  h1 = h1 < g.H ? h1 : g.H;
  w1 = w1 < g.W ? w1 : g.W;
  const int64_t inside = (h1 - h0) * (w1 - w0);
  AvgWindow win{h0, h1, w0, w1, static_cast<float>(g.count_include_pad ? padded : inside)};
  return win;
}

RETORT_HD void avg_pool_pixel(const PoolGeom& g, const float* x, float* y, int64_t q) {
  const int64_t ow = q % g.OW, oh = (q / g.OW) % g.OH, n = q / (g.OW * g.OH);
  const AvgWindow win = avg_window(g, oh, ow);
  float* yq = y + q * g.C;
  for (int64_t c = 0; c < g.C; ++c) yq[c] = 0.0f;
  for (int64_t ih = win.h0; ih < win.h1; ++ih)
    for (int64_t iw = win.w0; iw < win.w1; ++iw) {
      const float* xp = x + ((n * g.H + ih) * g.W + iw) * g.C;
      for (int64_t c = 0; c < g.C; ++c) yq[c] += xp[c];
    }
  const float inv = 1.0f / win.divisor;
  for (int64_t c = 0; c < g.C; ++c) yq[c] *= inv;
}

// Adaptive average pooling window along one axis (PyTorch): [floor(i*in/out), ceil((i+1)*in/out)).
RETORT_HD int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
RETORT_HD int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

// Per-element bodies for the GPU (one thread per element, channels adjacent so
// reads coalesce). Element e = q*C + c of an output (or, for backward, input)
// tensor; the forward ones give the per-pixel bodies' values bit for bit.

RETORT_HD void max_pool_element(const PoolGeom& g, const float* x, float* y, int64_t* arg, int64_t e) {
  const int64_t c = e % g.C, q = e / g.C;
  const int64_t ow = q % g.OW, oh = (q / g.OW) % g.OH, n = q / (g.OW * g.OH);
  const int64_t h0 = oh * g.SH - g.PH, w0 = ow * g.SW - g.PW;
  float best = -INFINITY;
  int64_t best_pix = -1;
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    const int64_t ih = h0 + kh;
    if (ih < 0 || ih >= g.H) continue;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const int64_t iw = w0 + kw;
      if (iw < 0 || iw >= g.W) continue;
      const int64_t pix = ih * g.W + iw;
      const float v = x[(n * g.H * g.W + pix) * g.C + c];
      if (v > best || v != v || best_pix < 0) {
        best = v;
        best_pix = pix;
      }
    }
  }
  y[e] = best;
  arg[e] = best_pix;
}

RETORT_HD void avg_pool_element(const PoolGeom& g, const float* x, float* y, int64_t e) {
  const int64_t c = e % g.C, q = e / g.C;
  const int64_t ow = q % g.OW, oh = (q / g.OW) % g.OH, n = q / (g.OW * g.OH);
  const AvgWindow win = avg_window(g, oh, ow);
  float acc = 0.0f;
  for (int64_t ih = win.h0; ih < win.h1; ++ih)
    for (int64_t iw = win.w0; iw < win.w1; ++iw) acc += x[((n * g.H + ih) * g.W + iw) * g.C + c];
  y[e] = acc * (1.0f / win.divisor);
}

RETORT_HD void adaptive_avg_pool_element(const PoolGeom& g, const float* x, float* y, int64_t e) {
  const int64_t c = e % g.C, q = e / g.C;
  const int64_t ow = q % g.OW, oh = (q / g.OW) % g.OH, n = q / (g.OW * g.OH);
  const int64_t h0 = adaptive_start(oh, g.H, g.OH), h1 = adaptive_end(oh, g.H, g.OH);
  const int64_t w0 = adaptive_start(ow, g.W, g.OW), w1 = adaptive_end(ow, g.W, g.OW);
  float acc = 0.0f;
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t iw = w0; iw < w1; ++iw) acc += x[((n * g.H + ih) * g.W + iw) * g.C + c];
  y[e] = acc * (1.0f / static_cast<float>((h1 - h0) * (w1 - w0)));
}

// Backward passes as gathers: input element e collects, in increasing (oh, ow)
// order (the order the CPU's scatter adds in), the gradient of every output
// window that uses it. No atomics, so the result is deterministic.

// Output rows (or columns) whose window [o*s - p, o*s - p + k) contains i: [lo, hi).
struct OutRange {
  int64_t lo, hi;
};
RETORT_HD OutRange windows_containing(int64_t i, int64_t k, int64_t s, int64_t p, int64_t out) {
  // o*s - p <= i  and  o*s - p + k > i.
  int64_t lo = floor_div(i + p - k, s) + 1, hi = floor_div(i + p, s) + 1;
  lo = lo > 0 ? lo : 0;
  hi = hi < out ? hi : out;
  OutRange r{lo, hi > lo ? hi : lo};
  return r;
}

// Max pooling's backward for one (image n, channel c) pair, nc = n*C + c: the
// front end knows only the output size, not the window, so this walks the
// output pixels in order and adds each gradient where its index points (the
// CPU's order, bit for bit). Pairs write disjoint elements: no atomics. dx is
// zero on entry.
RETORT_HD void max_pool_backward_channel(const PoolGeom& g, const float* dy, const int64_t* arg, float* dx, int64_t nc) {
  const int64_t c = nc % g.C, n = nc / g.C, out_pix = g.OH * g.OW;
  float* dxn = dx + n * g.H * g.W * g.C + c;
  for (int64_t q = 0; q < out_pix; ++q) {
    const int64_t o = (n * out_pix + q) * g.C + c;
    dxn[arg[o] * g.C] += dy[o];
  }
}

RETORT_HD void avg_pool_backward_element(const PoolGeom& g, const float* dy, float* dx, int64_t e) {
  const int64_t c = e % g.C, pix = (e / g.C) % (g.H * g.W), n = e / (g.C * g.H * g.W);
  const int64_t ih = pix / g.W, iw = pix - ih * g.W;
  const OutRange rh = windows_containing(ih, g.KH, g.SH, g.PH, g.OH);
  const OutRange rw = windows_containing(iw, g.KW, g.SW, g.PW, g.OW);
  float acc = 0.0f;
  for (int64_t oh = rh.lo; oh < rh.hi; ++oh)
    for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
      const AvgWindow win = avg_window(g, oh, ow);
      acc += dy[((n * g.OH + oh) * g.OW + ow) * g.C + c] * (1.0f / win.divisor);
    }
  dx[e] = acc;
}

RETORT_HD void adaptive_avg_pool_backward_element(const PoolGeom& g, const float* dy, float* dx, int64_t e) {
  const int64_t c = e % g.C, pix = (e / g.C) % (g.H * g.W), n = e / (g.C * g.H * g.W);
  const int64_t ih = pix / g.W, iw = pix - ih * g.W;
  // Window oh contains ih exactly for oh in [floor(ih*OH/H), ceil((ih+1)*OH/H)).
  const int64_t oh0 = adaptive_start(ih, g.OH, g.H), oh1 = adaptive_end(ih, g.OH, g.H);
  const int64_t ow0 = adaptive_start(iw, g.OW, g.W), ow1 = adaptive_end(iw, g.OW, g.W);
  float acc = 0.0f;
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      const int64_t h0 = adaptive_start(oh, g.H, g.OH), h1 = adaptive_end(oh, g.H, g.OH);
      const int64_t w0 = adaptive_start(ow, g.W, g.OW), w1 = adaptive_end(ow, g.W, g.OW);
      const float inv = 1.0f / static_cast<float>((h1 - h0) * (w1 - w0));
      acc += dy[((n * g.OH + oh) * g.OW + ow) * g.C + c] * inv;
    }
  dx[e] = acc;
}

}  // namespace retort
