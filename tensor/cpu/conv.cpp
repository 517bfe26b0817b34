// Convolution on the CPU: register-blocked direct kernels (conv_direct.h) on a
// zero-padded copy of each image, a GEMM for pointwise (1x1, stride 1)
// convolutions, and a plain loop for depthwise ones. Images are spread over the
// threads (one image stays in L2); a batch smaller than the team parallelises
// inside the image instead. A oneDNN build hands each pass to oneDNN first
// (conv_onednn.h) and keeps this path for what oneDNN cannot do.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "tensor/cpu/conv_direct.h"
#include "tensor/cpu/conv_onednn.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

namespace {

bool is_depthwise(const ConvGeom& g) { return g.G == g.C && g.O == g.C && g.G > 1; }

// [O, KH*KW*Cg] in (kh, kw, c) order -> w [O, Cg, KH, KW].
void unpack_weight(const ConvGeom& g, const float* wr, float* w) {
  const int64_t Cg = g.Cg(), T = g.KH * g.KW, K = g.K();
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t t = 0; t < T; ++t) w[(o * Cg + c) * T + t] = wr[o * K + t * Cg + c];
}

// Depthwise weights [C, 1, KH, KW] -> [KH*KW, C] so the channel loop is contiguous.
void repack_depthwise(const ConvGeom& g, const float* w, float* wt) {
  const int64_t T = g.KH * g.KW;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t t = 0; t < T; ++t) wt[t * g.C + c] = w[c * T + t];
}

void depthwise_forward_image(const ConvGeom& g, const float* x, const float* wt, float* y, int64_t p0, int64_t p1) {
  const int64_t T = g.KH * g.KW, C = g.C;
  for (int64_t p = p0; p < p1; ++p) {
    float* yp = y + p * C;
    std::fill(yp, yp + C, 0.0f);
    for (int64_t t = 0; t < T; ++t) {
      const int64_t src = im2col_source(g, p, t, 0);
      if (src < 0) continue;
      const float* xs = x + src;
      const float* wk = wt + t * C;
      for (int64_t c = 0; c < C; ++c) yp[c] += xs[c] * wk[c];
    }
  }
}

// Runs fn(n, inner_parallel) for every image: across threads when the batch
// fills the team, else one image at a time with parallelism inside it.
template <class Fn> void for_each_image(int64_t N, const Fn& fn) {
  if (N >= num_threads() || in_parallel_region()) {
    parallel_for(0, N, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t n = lo; n < hi; ++n) fn(n, false);
    });
  } else {
    for (int64_t n = 0; n < N; ++n) fn(n, true);
  }
}

void run_gemm(const GemmArgs& a, bool parallel) {
  if (parallel) gemm_parallel(a);
  else gemm(a);
}

void parallel_rows(int64_t rows, bool parallel, const std::function<void(int64_t, int64_t)>& fn) {
  if (parallel) parallel_for(0, rows, 16, fn);
  else fn(0, rows);
}

// ---------------------------------------------------------------- direct kernels

using direct::kPanel;

// The tile kernels of the built-in GEMM's instruction set (tests switch it).
const direct::Kernels& kernels() { return direct::kernels_for(gemm_builtin_isa()); }

int64_t panels(int64_t channels) { return (channels + kPanel - 1) / kPanel; }

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Splits n rows into the fewest tiles of at most max_rows, of near-equal
// size (32 as 11 + 11 + 10 rather than 12 + 12 + 8: fewer short tiles).
template <class Fn> void for_each_tile(int64_t n, int max_rows, const Fn& fn) {
  const int64_t tiles = (n + max_rows - 1) / max_rows;
  for (int64_t i = 0; i < tiles; ++i) {
    const int64_t b = n * i / tiles, e = n * (i + 1) / tiles;
    fn(b, static_cast<int>(e - b));
  }
}

// An NHWC image inside a zero border, so that no tap needs a bounds test.
struct PaddedImage {
  int64_t top, left, H, W;  // where the image starts, and the padded extent
};

// The padded input of forward: every tap of every output
// pixel lands inside it.
PaddedImage padded_input(const ConvGeom& g) {
  return {g.PH, g.PW, std::max(g.PH + g.H, (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1),
          std::max(g.PW + g.W, (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1)};
}

// The padded output gradient of backward-input: input row ih takes output row
// (ih + PH - kh*DH) / SH for the taps where that divides exactly.
PaddedImage padded_output_grad(const ConvGeom& g) {
  const int64_t lo_h = std::min<int64_t>(0, floor_div(g.PH - (g.KH - 1) * g.DH, g.SH));
  const int64_t lo_w = std::min<int64_t>(0, floor_div(g.PW - (g.KW - 1) * g.DW, g.SW));
  const int64_t hi_h = std::max(g.OH - 1, floor_div(g.H - 1 + g.PH, g.SH));
  const int64_t hi_w = std::max(g.OW - 1, floor_div(g.W - 1 + g.PW, g.SW));
  return {-lo_h, -lo_w, hi_h - lo_h + 1, hi_w - lo_w + 1};
}

// Copies the image in and zeroes only the border around it.
void pad_image(const float* img, int64_t H, int64_t W, int64_t C, const PaddedImage& p, float* out) {
  const int64_t row = p.W * C, left = p.left * C;
  std::fill(out, out + p.top * row, 0.0f);
  for (int64_t h = 0; h < H; ++h) {
    float* o = out + (h + p.top) * row;
    std::fill(o, o + left, 0.0f);
    std::memcpy(o + left, img + h * W * C, W * C * sizeof(float));
    std::fill(o + left + W * C, o + row, 0.0f);
  }
  std::fill(out + (p.top + H) * row, out + p.H * row, 0.0f);
}

// Thread-local scratch of at least n floats (steady state allocates nothing).
float* scratch(std::vector<float>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf.data();
}

// w [O, Cg, T] -> per group and panel of kPanel output channels, [T][Cg][kPanel], zero-padded.
void pack_forward(const ConvGeom& g, const float* w, float* wf) {
  const int64_t Cg = g.Cg(), Og = g.Og(), T = g.KH * g.KW, OB = panels(Og);
  std::fill(wf, wf + g.G * OB * T * Cg * kPanel, 0.0f);
  for (int64_t grp = 0; grp < g.G; ++grp)
    for (int64_t o = 0; o < Og; ++o)
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t t = 0; t < T; ++t)
          wf[(((grp * OB + o / kPanel) * T + t) * Cg + c) * kPanel + o % kPanel] =
              w[((grp * Og + o) * Cg + c) * T + t];
}

// w [O, Cg, T] -> per group and panel of kPanel input channels, [T][Og][kPanel], zero-padded.
void pack_backward_input(const ConvGeom& g, const float* w, float* wb) {
  const int64_t Cg = g.Cg(), Og = g.Og(), T = g.KH * g.KW, CB = panels(Cg);
  std::fill(wb, wb + g.G * CB * T * Og * kPanel, 0.0f);
  for (int64_t grp = 0; grp < g.G; ++grp)
    for (int64_t o = 0; o < Og; ++o)
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t t = 0; t < T; ++t)
          wb[(((grp * CB + c / kPanel) * T + t) * Og + o) * kPanel + c % kPanel] =
              w[((grp * Og + o) * Cg + c) * T + t];
}

// One output row oh of one image: every group, panel and tile of pixels.
void forward_row(const ConvGeom& g, const direct::Kernels& k, const float* xp, const PaddedImage& pad,
                 const float* wf, const direct::Tap* taps, float* y_img, int64_t oh) {
  const int64_t Cg = g.Cg(), Og = g.Og(), T = g.KH * g.KW, OB = panels(Og), pstride = T * Cg * kPanel;
  for (int64_t grp = 0; grp < g.G; ++grp)
    for (int64_t ob = 0; ob < OB;) {
      const int nb = static_cast<int>(std::min<int64_t>(k.max_nb, OB - ob));
      for_each_tile(g.OW, k.gather_rows[nb - 1], [&](int64_t ow0, int rows) {
        const direct::GatherTile t{xp + (oh * g.SH * pad.W + ow0 * g.SW) * g.C + grp * Cg,
                                   g.SW * g.C,
                                   taps,
                                   T,
                                   Cg,
                                   wf + (grp * OB + ob) * pstride,
                                   pstride,
                                   y_img + (oh * g.OW + ow0) * g.O + grp * Og + ob * kPanel,
                                   g.O,
                                   std::min(nb * kPanel, Og - ob * kPanel)};
        k.gather(t, rows, nb);
      });
      ob += nb;
    }
}

void direct_forward(const ConvGeom& g, const float* x, const float* w, float* y) {
  const direct::Kernels& k = kernels();
  const int64_t T = g.KH * g.KW, Cg = g.Cg(), in_img = g.H * g.W * g.C, out_img = g.P() * g.O;
  const PaddedImage pad = padded_input(g);
  thread_local std::vector<float> wbuf;
  float* wf = scratch(wbuf, g.G * panels(g.Og()) * T * Cg * kPanel);
  pack_forward(g, w, wf);
  thread_local std::vector<direct::Tap> tap_buf;
  tap_buf.resize(T);
  // A plain pointer: in the workers, `tap_buf` would name their own buffers.
  direct::Tap* taps = tap_buf.data();
  for (int64_t t = 0; t < T; ++t)
    taps[t] = {((t / g.KW) * g.DH * pad.W + (t % g.KW) * g.DW) * g.C, t * Cg * kPanel};
  for_each_image(g.N, [&](int64_t n, bool par) {
    thread_local std::vector<float> xbuf;
    // Take the pointer here: inside parallel_rows `xbuf` would name each worker's own buffer.
    float* xp = scratch(xbuf, pad.H * pad.W * g.C);
    pad_image(x + n * in_img, g.H, g.W, g.C, pad, xp);
    parallel_rows(g.OH, par, [&](int64_t oh0, int64_t oh1) {
      for (int64_t oh = oh0; oh < oh1; ++oh) forward_row(g, k, xp, pad, wf, taps, y + n * out_img, oh);
    });
  });
}

// One input row ih of one image. Along a row, the pixels iw = b + SW*j of one
// phase b share their taps (those whose output pixel is an exact multiple of
// the stride), so each phase is a gather over output-gradient pixels j.
void backward_input_row(const ConvGeom& g, const direct::Kernels& k, const float* dp, const PaddedImage& pad,
                        const float* wb, float* dx_img, int64_t ih) {
  const int64_t Cg = g.Cg(), Og = g.Og(), T = g.KH * g.KW, CB = panels(Cg), pstride = T * Og * kPanel;
  thread_local std::vector<direct::Tap> taps;
  for (int64_t b = 0; b < std::min(g.SW, g.W); ++b) {
    taps.clear();
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t vh = ih + g.PH - kh * g.DH, vw = b + g.PW - kw * g.DW;
        if (floor_div(vh, g.SH) * g.SH != vh || floor_div(vw, g.SW) * g.SW != vw) continue;
        taps.push_back({((vh / g.SH + pad.top) * pad.W + vw / g.SW + pad.left) * g.O, (kh * g.KW + kw) * Og * kPanel});
      }
    const int64_t J = (g.W - b + g.SW - 1) / g.SW;
    for (int64_t grp = 0; grp < g.G; ++grp)
      for (int64_t cb = 0; cb < CB;) {
        const int nb = static_cast<int>(std::min<int64_t>(k.max_nb, CB - cb));
        for_each_tile(J, k.gather_rows[nb - 1], [&](int64_t j0, int rows) {
          const direct::GatherTile t{dp + j0 * g.O + grp * Og,
                                     g.O,
                                     taps.data(),
                                     static_cast<int64_t>(taps.size()),
                                     Og,
                                     wb + (grp * CB + cb) * pstride,
                                     pstride,
                                     dx_img + (ih * g.W + b + g.SW * j0) * g.C + grp * Cg + cb * kPanel,
                                     g.SW * g.C,
                                     std::min(nb * kPanel, Cg - cb * kPanel)};
          k.gather(t, rows, nb);
        });
        cb += nb;
      }
  }
}

void direct_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const direct::Kernels& k = kernels();
  const int64_t T = g.KH * g.KW, in_img = g.H * g.W * g.C, out_img = g.P() * g.O;
  const PaddedImage pad = padded_output_grad(g);
  thread_local std::vector<float> wbuf;
  float* wb = scratch(wbuf, g.G * panels(g.Cg()) * T * g.Og() * kPanel);
  pack_backward_input(g, w, wb);
  for_each_image(g.N, [&](int64_t n, bool par) {
    thread_local std::vector<float> dbuf;
    float* dp = scratch(dbuf, pad.H * pad.W * g.O);
    pad_image(dy + n * out_img, g.OH, g.OW, g.O, pad, dp);
    parallel_rows(g.H, par, [&](int64_t ih0, int64_t ih1) {
      for (int64_t ih = ih0; ih < ih1; ++ih) backward_input_row(g, k, dp, pad, wb, dx + n * in_img, ih);
    });
  });
}

// The output pixels [lo, hi) along one axis whose tap at kernel offset k*dil
// lands inside the input (no padding needed for the weight gradient).
struct TapRange {
  int64_t lo, hi;
};
TapRange tap_range(int64_t in, int64_t out, int64_t stride, int64_t pad, int64_t k_off) {
  const int64_t lo = std::max<int64_t>(0, floor_div(pad - k_off + stride - 1, stride));
  const int64_t hi = std::min(out, floor_div(in - 1 + pad - k_off, stride) + 1);
  return {lo, std::max(lo, hi)};
}

// Adds one image's weight gradient to acc [O, T*Cg] (the (kh, kw, c) order).
void backward_weight_image(const ConvGeom& g, const direct::Kernels& k, const float* xn, const float* dyn,
                           float* acc) {
  const int64_t Cg = g.Cg(), Og = g.Og(), K = g.K(), CB = panels(Cg);
  for (int64_t t = 0; t < g.KH * g.KW; ++t) {
    const int64_t kh = t / g.KW, kw = t % g.KW;
    const TapRange rh = tap_range(g.H, g.OH, g.SH, g.PH, kh * g.DH);
    const TapRange rw = tap_range(g.W, g.OW, g.SW, g.PW, kw * g.DW);
    if (rh.hi == rh.lo || rw.hi == rw.lo) continue;
    const int64_t ih = rh.lo * g.SH - g.PH + kh * g.DH, iw = rw.lo * g.SW - g.PW + kw * g.DW;
    const float* xt = xn + (ih * g.W + iw) * g.C;
    const float* dyt = dyn + (rh.lo * g.OW + rw.lo) * g.O;
    for (int64_t grp = 0; grp < g.G; ++grp)
      for (int64_t cb = 0; cb < CB;) {
        const int nb = static_cast<int>(std::min<int64_t>(k.max_nb, CB - cb));
        for_each_tile(Og, k.weight_rows[nb - 1], [&](int64_t o0, int rows) {
          const direct::WeightTile wt{xt + grp * Cg + cb * kPanel,
                                      g.SW * g.C,
                                      g.SH * g.W * g.C,
                                      dyt + grp * Og + o0,
                                      g.O,
                                      g.OW * g.O,
                                      rh.hi - rh.lo,
                                      rw.hi - rw.lo,
                                      acc + (grp * Og + o0) * K + t * Cg + cb * kPanel,
                                      K,
                                      std::min(nb * kPanel, Cg - cb * kPanel)};
          k.weight(wt, rows, nb);
        });
        cb += nb;
      }
  }
}

bool& use_onednn() {
#ifdef RETORT_WITH_DNNL
  static bool on = [] {
    const char* env = std::getenv("RETORT_CONV");
    return env == nullptr || std::strcmp(env, "builtin") != 0;
  }();
#else
  static bool on = false;
#endif
  return on;
}

}  // namespace

bool conv_backend_available(const char* name) {
  if (std::strcmp(name, "builtin") == 0) return true;
#ifdef RETORT_WITH_DNNL
  if (std::strcmp(name, "onednn") == 0) return true;
#endif
  return false;
}

const char* conv_backend() { return use_onednn() ? "onednn" : "builtin"; }

void set_conv_backend(const char* name) {
  RETORT_CHECK(conv_backend_available(name), "convolution backend: expected builtin"
#ifdef RETORT_WITH_DNNL
                                                 " or onednn"
#else
                                                 " (this build has no oneDNN)"
#endif
                                                 ", found '" << name << "'");
  use_onednn() = std::strcmp(name, "onednn") == 0;
}

void conv2d_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
#ifdef RETORT_WITH_DNNL
  if (use_onednn() && onednn::conv2d_forward(g, x, w, bias, y)) return;
#endif
  const int64_t in_img = g.H * g.W * g.C, out_img = g.P() * g.O, P = g.P();
  if (is_depthwise(g)) {
    std::vector<float> wt(g.KH * g.KW * g.C);
    repack_depthwise(g, w, wt.data());
    for_each_image(g.N, [&](int64_t n, bool par) {
      parallel_rows(P, par, [&](int64_t p0, int64_t p1) {
        depthwise_forward_image(g, x + n * in_img, wt.data(), y + n * out_img, p0, p1);
      });
    });
  } else if (g.is_pointwise()) {
    for_each_image(g.N, [&](int64_t n, bool par) {
      run_gemm({false, true, P, g.O, g.C, 1.0f, x + n * in_img, g.C, w, g.C, 0.0f, y + n * out_img, g.O}, par);
    });
  } else {
    direct_forward(g, x, w, y);
  }
  if (bias != nullptr) {
    parallel_for(0, g.N * P, 256, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        float* yr = y + r * g.O;
        for (int64_t o = 0; o < g.O; ++o) yr[o] += bias[o];
      }
    });
  }
}

void conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
#ifdef RETORT_WITH_DNNL
  if (use_onednn() && onednn::conv2d_backward_input(g, dy, w, dx)) return;
#endif
  const int64_t in_img = g.H * g.W * g.C, out_img = g.P() * g.O, P = g.P();
  if (g.is_pointwise()) {
    for_each_image(g.N, [&](int64_t n, bool par) {
      run_gemm({false, false, P, g.C, g.O, 1.0f, dy + n * out_img, g.O, w, g.C, 0.0f, dx + n * in_img, g.C}, par);
    });
    return;
  }
  if (is_depthwise(g)) {
    std::vector<float> wt(g.KH * g.KW * g.C);
    repack_depthwise(g, w, wt.data());
    const int64_t T = g.KH * g.KW, C = g.C;
    parallel_for(0, g.N, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t n = lo; n < hi; ++n) {
        float* dxn = dx + n * in_img;
        std::fill(dxn, dxn + in_img, 0.0f);
        for (int64_t p = 0; p < P; ++p) {
          const float* dyp = dy + n * out_img + p * C;
          for (int64_t t = 0; t < T; ++t) {
            const int64_t src = im2col_source(g, p, t, 0);
            if (src < 0) continue;
            float* d = dxn + src;
            const float* wk = wt.data() + t * C;
            for (int64_t c = 0; c < C; ++c) d[c] += dyp[c] * wk[c];
          }
        }
      }
    });
    return;
  }
  direct_backward_input(g, dy, w, dx);
}

void conv2d_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw) {
#ifdef RETORT_WITH_DNNL
  if (use_onednn() && onednn::conv2d_backward_weight(g, dy, x, dw)) return;
#endif
  const int64_t in_img = g.H * g.W * g.C, out_img = g.P() * g.O, K = g.K(), P = g.P();
  const int64_t wsize = g.O * K;
  const int threads = std::max<int>(1, std::min<int64_t>(num_threads(), g.N));
  // One accumulator per thread chunk, summed in a fixed order (deterministic for a thread count).
  std::vector<float> partial(static_cast<size_t>(threads) * wsize, 0.0f);
  const bool depthwise = is_depthwise(g);
  const direct::Kernels& k = kernels();
  parallel_for(0, g.N, 1, [&](int64_t lo, int64_t hi) {
    const int64_t slot = std::min<int64_t>(thread_index(), threads - 1);
    float* acc = partial.data() + slot * wsize;
    for (int64_t n = lo; n < hi; ++n) {
      const float* xn = x + n * in_img;
      const float* dyn = dy + n * out_img;
      if (depthwise) {
        const int64_t T = g.KH * g.KW, C = g.C;
        for (int64_t p = 0; p < P; ++p) {
          const float* dyp = dyn + p * C;
          for (int64_t t = 0; t < T; ++t) {
            const int64_t src = im2col_source(g, p, t, 0);
            if (src < 0) continue;
            const float* xs = xn + src;
            float* a = acc + t * C;  // [T, C] layout, unpacked below
            for (int64_t c = 0; c < C; ++c) a[c] += xs[c] * dyp[c];
          }
        }
      } else if (g.is_pointwise()) {
        gemm({true, false, g.O, g.C, P, 1.0f, dyn, g.O, xn, g.C, 1.0f, acc, g.C});
      } else {
        backward_weight_image(g, k, xn, dyn, acc);
      }
    }
  });
  for (int t = 1; t < threads; ++t)
    for (int64_t i = 0; i < wsize; ++i) partial[i] += partial[t * wsize + i];
  if (depthwise) {
    const int64_t T = g.KH * g.KW;
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t t = 0; t < T; ++t) dw[c * T + t] = partial[t * g.C + c];
  } else if (g.is_pointwise()) {
    std::memcpy(dw, partial.data(), wsize * sizeof(float));
  } else {
    unpack_weight(g, partial.data(), dw);
  }
}

}  // namespace cpu
}  // namespace retort
