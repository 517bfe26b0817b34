// Convolution on the CPU: im2col + GEMM per image and group, a direct GEMM for
// pointwise (1x1, stride 1) convolutions, and a direct kernel for depthwise
// ones. Images are spread over the threads with single-threaded GEMMs (small
// per-image GEMMs stay in L2); a batch smaller than the team parallelises
// inside the image instead. A oneDNN build hands each pass to oneDNN first
// (conv_onednn.h) and keeps this path for what oneDNN cannot do.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "tensor/cpu/conv_onednn.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

namespace {

bool is_depthwise(const ConvGeom& g) { return g.G == g.C && g.O == g.C && g.G > 1; }

// w [O, Cg, KH, KW] -> wr [O, KH*KW*Cg] in (kh, kw, c) order.
void repack_weight(const ConvGeom& g, const float* w, float* wr) {
  const int64_t Cg = g.Cg(), T = g.KH * g.KW, K = g.K();
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t t = 0; t < T; ++t) wr[o * K + t * Cg + c] = w[(o * Cg + c) * T + t];
}

// The inverse of repack_weight.
void unpack_weight(const ConvGeom& g, const float* wr, float* w) {
  const int64_t Cg = g.Cg(), T = g.KH * g.KW, K = g.K();
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t t = 0; t < T; ++t) w[(o * Cg + c) * T + t] = wr[o * K + t * Cg + c];
}

// Column matrix rows [p0, p1) of one image and group: col[p][t*Cg + c].
void im2col(const ConvGeom& g, const float* x_img, int64_t group, float* col, int64_t p0, int64_t p1) {
  const int64_t Cg = g.Cg(), T = g.KH * g.KW, K = g.K();
  for (int64_t p = p0; p < p1; ++p) {
    float* row = col + p * K;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t src = im2col_source(g, p, t, group);
      if (src < 0) std::memset(row + t * Cg, 0, Cg * sizeof(float));
      else std::memcpy(row + t * Cg, x_img + src, Cg * sizeof(float));
    }
  }
}

// Adds column rows back into the image gradient (col2im), for one group.
void col2im_add(const ConvGeom& g, const float* col, int64_t group, float* dx_img) {
  const int64_t Cg = g.Cg(), T = g.KH * g.KW, K = g.K();
  for (int64_t p = 0; p < g.P(); ++p) {
    const float* row = col + p * K;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t src = im2col_source(g, p, t, group);
      if (src < 0) continue;
      float* d = dx_img + src;
      const float* r = row + t * Cg;
      for (int64_t c = 0; c < Cg; ++c) d[c] += r[c];
    }
  }
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
  const int64_t in_img = g.H * g.W * g.C, out_img = g.P() * g.O, K = g.K(), P = g.P();
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
    std::vector<float> wr(g.O * K);
    repack_weight(g, w, wr.data());
    for_each_image(g.N, [&](int64_t n, bool par) {
      thread_local std::vector<float> col;
      col.resize(P * K);
      // Take the pointer here: inside parallel_rows `col` would name each worker's own thread_local buffer.
      float* colp = col.data();
      for (int64_t grp = 0; grp < g.G; ++grp) {
        parallel_rows(P, par, [&](int64_t p0, int64_t p1) { im2col(g, x + n * in_img, grp, colp, p0, p1); });
        run_gemm({false, true, P, g.Og(), K, 1.0f, colp, K, wr.data() + grp * g.Og() * K, K, 0.0f,
                  y + n * out_img + grp * g.Og(), g.O},
                 par);
      }
    });
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
  const int64_t in_img = g.H * g.W * g.C, out_img = g.P() * g.O, K = g.K(), P = g.P();
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
  std::vector<float> wr(g.O * K);
  repack_weight(g, w, wr.data());
  for_each_image(g.N, [&](int64_t n, bool par) {
    thread_local std::vector<float> col;
    col.resize(P * K);
    float* dxn = dx + n * in_img;
    std::fill(dxn, dxn + in_img, 0.0f);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      run_gemm({false, false, P, K, g.Og(), 1.0f, dy + n * out_img + grp * g.Og(), g.O, wr.data() + grp * g.Og() * K,
                K, 0.0f, col.data(), K},
               par);
      col2im_add(g, col.data(), grp, dxn);
    }
  });
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
  parallel_for(0, g.N, 1, [&](int64_t lo, int64_t hi) {
    const int64_t slot = std::min<int64_t>(thread_index(), threads - 1);
    float* acc = partial.data() + slot * wsize;
    thread_local std::vector<float> col;
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
        col.resize(P * K);
        for (int64_t grp = 0; grp < g.G; ++grp) {
          im2col(g, xn, grp, col.data(), 0, P);
          gemm({true, false, g.Og(), K, P, 1.0f, dyn + grp * g.Og(), g.O, col.data(), K, 1.0f,
                acc + grp * g.Og() * K, K});
        }
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
