// Pooling on NHWC tensors: one output pixel (all channels) per body call, from
// the shared bodies of tensor/kernels/pool.h. Backward passes loop over the
// images in parallel so no two threads add into the same input pixel.
#include <algorithm>

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace retort {
namespace cpu {

void max_pool2d(const PoolGeom& g, const float* x, float* y, int64_t* arg) {
  parallel_for(0, g.N * g.OH * g.OW, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t q = lo; q < hi; ++q) max_pool_pixel(g, x, y, arg, q);
  });
}

void max_pool2d_backward(const PoolGeom& g, const float* dy, const int64_t* arg, float* dx) {
  const int64_t in_img = g.H * g.W * g.C, out_pix = g.OH * g.OW;
  parallel_for(0, g.N, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      float* dxn = dx + n * in_img;
      std::fill(dxn, dxn + in_img, 0.0f);
      for (int64_t q = 0; q < out_pix; ++q) {
        const int64_t base = (n * out_pix + q) * g.C;
        for (int64_t c = 0; c < g.C; ++c) dxn[arg[base + c] * g.C + c] += dy[base + c];
      }
    }
  });
}

void avg_pool2d(const PoolGeom& g, const float* x, float* y) {
  parallel_for(0, g.N * g.OH * g.OW, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t q = lo; q < hi; ++q) avg_pool_pixel(g, x, y, q);
  });
}

void avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx) {
  const int64_t in_img = g.H * g.W * g.C;
  parallel_for(0, g.N, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      float* dxn = dx + n * in_img;
      std::fill(dxn, dxn + in_img, 0.0f);
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow win = avg_window(g, oh, ow);
          const float* dyq = dy + ((n * g.OH + oh) * g.OW + ow) * g.C;
          const float inv = 1.0f / win.divisor;
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw) {
              float* d = dxn + (ih * g.W + iw) * g.C;
              for (int64_t c = 0; c < g.C; ++c) d[c] += dyq[c] * inv;
            }
        }
    }
  });
}

void adaptive_avg_pool2d(const PoolGeom& g, const float* x, float* y) {
  parallel_for(0, g.N * g.OH * g.OW, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t q = lo; q < hi; ++q) {
      const int64_t ow = q % g.OW, oh = (q / g.OW) % g.OH, n = q / (g.OW * g.OH);
      const int64_t h0 = adaptive_start(oh, g.H, g.OH), h1 = adaptive_end(oh, g.H, g.OH);
      const int64_t w0 = adaptive_start(ow, g.W, g.OW), w1 = adaptive_end(ow, g.W, g.OW);
      float* yq = y + q * g.C;
      std::fill(yq, yq + g.C, 0.0f);
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const float* xp = x + ((n * g.H + ih) * g.W + iw) * g.C;
          for (int64_t c = 0; c < g.C; ++c) yq[c] += xp[c];
        }
      const float inv = 1.0f / static_cast<float>((h1 - h0) * (w1 - w0));
      for (int64_t c = 0; c < g.C; ++c) yq[c] *= inv;
    }
  });
}

void adaptive_avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx) {
  const int64_t in_img = g.H * g.W * g.C;
  parallel_for(0, g.N, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      float* dxn = dx + n * in_img;
      std::fill(dxn, dxn + in_img, 0.0f);
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t h0 = adaptive_start(oh, g.H, g.OH), h1 = adaptive_end(oh, g.H, g.OH);
          const int64_t w0 = adaptive_start(ow, g.W, g.OW), w1 = adaptive_end(ow, g.W, g.OW);
          const float inv = 1.0f / static_cast<float>((h1 - h0) * (w1 - w0));
          const float* dyq = dy + ((n * g.OH + oh) * g.OW + ow) * g.C;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) {
              float* d = dxn + (ih * g.W + iw) * g.C;
              for (int64_t c = 0; c < g.C; ++c) d[c] += dyq[c] * inv;
            }
        }
    }
  });
}

}  // namespace cpu
}  // namespace retort
