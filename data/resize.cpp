#include "data/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/error.h"

namespace retort {
namespace data {

namespace {

// Filter taps of one axis: output i reads `count[i]` inputs from `first[i]`
// with weights at weights[i * stride ...].
struct Taps {
  std::vector<int> first, count;
  std::vector<float> weights;
  int stride = 0;
};

void compute_taps(int in_start, int in_size, int out_size, Taps& t) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double ss = std::max(scale, 1.0);
  const double support = ss;  // the triangle filter's support is 1 at scale 1
  t.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(static_cast<size_t>(out_size) * t.stride, 0.0f);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    double total = 0.0;
    float* w = &t.weights[static_cast<size_t>(i) * t.stride];
    for (int j = lo; j < hi; ++j) {
      const double x = std::abs((j - center + 0.5) / ss);
      const double v = x < 1.0 ? 1.0 - x : 0.0;
      w[j - lo] = static_cast<float>(v);
      total += v;
    }
    for (int j = lo; j < hi; ++j) w[j - lo] = total > 0.0 ? static_cast<float>(w[j - lo] / total) : 0.0f;
    t.first[i] = in_start + lo;
    t.count[i] = hi - lo;
  }
}

uint8_t round_u8(float v) {
  const int r = static_cast<int>(v + 0.5f);
  return static_cast<uint8_t>(std::min(std::max(r, 0), 255));
}

}  // namespace

void resize_region(const Image& src, int top, int left, int height, int width, int out_h, int out_w, Image& dst) {
  RETORT_CHECK(&src != &dst, "resize: source and destination must differ");
  RETORT_CHECK(out_h > 0 && out_w > 0, "resize: expected a positive output size, found " << out_h << "x" << out_w);
  RETORT_CHECK(height > 0 && width > 0 && top >= 0 && left >= 0 && top + height <= src.height &&
                   left + width <= src.width,
               "resize: region (top " << top << ", left " << left << ", " << height << "x" << width
                                      << ") is not inside the " << src.height << "x" << src.width << " image");
  const int C = src.channels;
  // Scratch per thread: loader workers resize concurrently and steady state allocates nothing.
  thread_local Taps tx, ty;
  thread_local std::vector<float> tmp;
  compute_taps(left, width, out_w, tx);
  compute_taps(top, height, out_h, ty);
  // Horizontal pass over the rows the vertical pass reads.
  tmp.resize(static_cast<size_t>(height) * out_w * C);
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = src.data() + (static_cast<size_t>(top + y) * src.width) * C;
    float* out = &tmp[static_cast<size_t>(y) * out_w * C];
    for (int x = 0; x < out_w; ++x) {
      const float* w = &tx.weights[static_cast<size_t>(x) * tx.stride];
      const uint8_t* in = row + static_cast<size_t>(tx.first[x]) * C;
      for (int c = 0; c < C; ++c) {
        float s = 0.0f;
        for (int k = 0; k < tx.count[x]; ++k) s += w[k] * in[k * C + c];
        out[x * C + c] = s;
      }
    }
  }
  dst.reshape(out_h, out_w, C);
  for (int y = 0; y < out_h; ++y) {
    const float* w = &ty.weights[static_cast<size_t>(y) * ty.stride];
    const int first = ty.first[y] - top;
    uint8_t* out = dst.data() + static_cast<size_t>(y) * out_w * C;
    for (int i = 0; i < out_w * C; ++i) {
      float s = 0.0f;
      for (int k = 0; k < ty.count[y]; ++k) s += w[k] * tmp[static_cast<size_t>(first + k) * out_w * C + i];
      out[i] = round_u8(s);
    }
  }
}

void resize_bilinear(const Image& src, int out_h, int out_w, Image& dst) {
  resize_region(src, 0, 0, src.height, src.width, out_h, out_w, dst);
}

}  // namespace data
}  // namespace retort
