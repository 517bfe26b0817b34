#include "data/pil_ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/error.h"

namespace retort {
namespace data {
namespace pil {

namespace {

void check_input(const Image& src, const Image& dst, const char* op) {
  RETORT_CHECK(&src != &dst, op << ": source and destination must differ");
  RETORT_CHECK(src.channels == 1 || src.channels == 3,
               op << ": expected an image of 1 or 3 channels, found " << src.channels);
}

// dst = lut[c][src] with one 256-entry table per channel. Raw pointers: byte
// stores through a vector's operator[] would make the compiler reload it.
void apply_lut(const Image& src, const uint8_t (*lut)[256], Image& dst) {
  dst.reshape(src.height, src.width, src.channels);
  const uint8_t* s = src.data();
  uint8_t* d = dst.data();
  const size_t pixels = static_cast<size_t>(src.height) * src.width;
  if (src.channels == 1) {
    for (size_t i = 0; i < pixels; ++i) d[i] = lut[0][s[i]];
    return;
  }
  for (size_t i = 0; i < pixels; ++i, s += 3, d += 3) {
    d[0] = lut[0][s[0]];
    d[1] = lut[1][s[1]];
    d[2] = lut[2][s[2]];
  }
}

// The same table for every channel.
void apply_lut(const Image& src, const uint8_t* lut, Image& dst) {
  dst.reshape(src.height, src.width, src.channels);
  const uint8_t* s = src.data();
  uint8_t* d = dst.data();
  const size_t n = src.pixels.size();
  for (size_t i = 0; i < n; ++i) d[i] = lut[s[i]];
}

uint8_t blend(uint8_t degenerate, uint8_t img, float v) {
  // PIL: (UINT8)((int)in1 + alpha * ((int)in2 - (int)in1)); stays within [0, 255] for v in [0, 1].
  const float r = static_cast<float>(degenerate) + v * (static_cast<float>(img) - static_cast<float>(degenerate));
  return static_cast<uint8_t>(std::min(std::max(r, 0.0f), 255.0f));
}

// Blend every value with one constant, through a table.
void blend_constant(const Image& src, uint8_t degenerate, float v, Image& dst) {
  uint8_t lut[256];
  for (int x = 0; x < 256; ++x) lut[x] = blend(degenerate, static_cast<uint8_t>(x), v);
  apply_lut(src, lut, dst);
}

// The grey image as one value per pixel.
void grey_plane(const Image& src, std::vector<uint8_t>& g) {
  const size_t n = static_cast<size_t>(src.height) * src.width;
  g.resize(n);
  const uint8_t* s = src.data();
  if (src.channels == 1) {
    std::copy(s, s + n, g.begin());
    return;
  }
  for (size_t i = 0; i < n; ++i, s += 3) g[i] = grey(s[0], s[1], s[2]);
}

// Per-channel histograms.
void histograms(const Image& src, int64_t (*h)[256]) {
  const int C = src.channels;
  for (int c = 0; c < C; ++c) std::fill(h[c], h[c] + 256, int64_t{0});
  const uint8_t* s = src.data();
  const size_t pixels = static_cast<size_t>(src.height) * src.width;
  for (size_t i = 0; i < pixels; ++i, s += C)
    for (int c = 0; c < C; ++c) ++h[c][s[c]];
}

}  // namespace

uint8_t grey(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

void auto_contrast(const Image& src, Image& dst) {
  check_input(src, dst, "auto_contrast");
  int64_t h[3][256];
  histograms(src, h);
  uint8_t lut[3][256];
  for (int c = 0; c < src.channels; ++c) {
    int lo = 0, hi = 255;
    while (lo < 256 && h[c][lo] == 0) ++lo;
    while (hi >= 0 && h[c][hi] == 0) --hi;
    for (int v = 0; v < 256; ++v) {
      if (hi <= lo) {
        lut[c][v] = static_cast<uint8_t>(v);
        continue;
      }
      const double scale = 255.0 / (hi - lo), offset = -lo * scale;
      const int r = static_cast<int>(v * scale + offset);
      lut[c][v] = static_cast<uint8_t>(std::min(std::max(r, 0), 255));
    }
  }
  apply_lut(src, lut, dst);
}

void equalize(const Image& src, Image& dst) {
  check_input(src, dst, "equalize");
  int64_t h[3][256];
  histograms(src, h);
  uint8_t lut[3][256];
  for (int c = 0; c < src.channels; ++c) {
    int64_t total = 0, last = 0, nonzero = 0;
    for (int v = 0; v < 256; ++v) {
      if (h[c][v] == 0) continue;
      total += h[c][v];
      last = h[c][v];
      ++nonzero;
    }
    const int64_t step = nonzero <= 1 ? 0 : (total - last) / 256;
    if (step == 0) {
      for (int v = 0; v < 256; ++v) lut[c][v] = static_cast<uint8_t>(v);
      continue;
    }
    // PIL's table can reach 256 for the top value; it is clipped to 255.
    int64_t n = step / 2;
    for (int v = 0; v < 256; ++v) {
      lut[c][v] = static_cast<uint8_t>(std::min<int64_t>(n / step, 255));
      n += h[c][v];
    }
  }
  apply_lut(src, lut, dst);
}

void brightness(const Image& src, float v, Image& dst) {
  check_input(src, dst, "brightness");
  blend_constant(src, 0, v, dst);
}

void color(const Image& src, float v, Image& dst) {
  check_input(src, dst, "color");
  dst.reshape(src.height, src.width, src.channels);
  const size_t pixels = static_cast<size_t>(src.height) * src.width;
  const int C = src.channels;
  const uint8_t* s = src.data();
  uint8_t* d = dst.data();
  for (size_t i = 0; i < pixels; ++i, s += C, d += C) {
    const uint8_t g = C == 3 ? grey(s[0], s[1], s[2]) : s[0];
    for (int c = 0; c < C; ++c) d[c] = blend(g, s[c], v);
  }
}

void contrast(const Image& src, float v, Image& dst) {
  check_input(src, dst, "contrast");
  thread_local std::vector<uint8_t> g;
  grey_plane(src, g);
  uint64_t sum = 0;
  for (uint8_t x : g) sum += x;
  const int mean = g.empty() ? 0 : static_cast<int>(static_cast<double>(sum) / static_cast<double>(g.size()) + 0.5);
  blend_constant(src, static_cast<uint8_t>(mean), v, dst);
}

void sharpness(const Image& src, float v, Image& dst) {
  check_input(src, dst, "sharpness");
  const int H = src.height, W = src.width, C = src.channels;
  dst.reshape(H, W, C);
  // Borders keep their values; PIL's filter leaves them, and the blend of a value with itself is itself.
  std::copy(src.pixels.begin(), src.pixels.end(), dst.pixels.begin());
  const size_t row = static_cast<size_t>(W) * C;
  for (int y = 1; y + 1 < H; ++y) {
    const uint8_t* r1 = src.data() + y * row;
    const uint8_t* r0 = r1 - row;
    const uint8_t* r2 = r1 + row;
    uint8_t* d = dst.data() + y * row;
    for (size_t i = C; i + C < row; ++i) {
      const int sum = r0[i - C] + r0[i] + r0[i + C] + r1[i - C] + 5 * r1[i] + r1[i + C] + r2[i - C] + r2[i] + r2[i + C];
      const uint8_t smooth = static_cast<uint8_t>((2 * sum + 13) / 26);  // round(sum / 13), half up
      d[i] = blend(smooth, r1[i], v);
    }
  }
}

void posterize(const Image& src, int bits, Image& dst) {
  check_input(src, dst, "posterize");
  RETORT_CHECK(bits >= 1 && bits <= 8, "posterize: expected 1..8 bits, found " << bits);
  const uint8_t mask = static_cast<uint8_t>(~((1u << (8 - bits)) - 1u));
  dst.reshape(src.height, src.width, src.channels);
  const uint8_t* s = src.data();
  uint8_t* d = dst.data();
  const size_t n = src.pixels.size();
  for (size_t i = 0; i < n; ++i) d[i] = s[i] & mask;
}

void solarize(const Image& src, float threshold, Image& dst) {
  check_input(src, dst, "solarize");
  uint8_t lut[256];
  for (int v = 0; v < 256; ++v)
    lut[v] = static_cast<float>(v) < threshold ? static_cast<uint8_t>(v) : static_cast<uint8_t>(255 - v);
  apply_lut(src, lut, dst);
}

void affine(const Image& src, const double m[6], Image& dst) {
  check_input(src, dst, "affine");
  const int H = src.height, W = src.width, C = src.channels;
  dst.reshape(H, W, C);
  const uint8_t* s = src.data();
  uint8_t* d = dst.data();
  for (int y = 0; y < H; ++y) {
    const double bx = m[1] * (y + 0.5) + m[2], by = m[4] * (y + 0.5) + m[5];
    for (int x = 0; x < W; ++x, d += C) {
      const double xs = m[0] * (x + 0.5) + bx;
      const double ys = m[3] * (x + 0.5) + by;
      // PIL's COORD: negative coordinates are outside, others truncate (= floor).
      if (!(xs >= 0.0 && ys >= 0.0 && xs < W && ys < H)) {
        for (int c = 0; c < C; ++c) d[c] = 0;
        continue;
      }
      const uint8_t* in = s + (static_cast<size_t>(static_cast<int>(ys)) * W + static_cast<int>(xs)) * C;
      for (int c = 0; c < C; ++c) d[c] = in[c];
    }
  }
}

void rotate(const Image& src, float degrees, Image& dst) {
  // PIL Image.rotate: the inverse map, cos/sin rounded to 15 decimals so that
  // multiples of 90 degrees are exact.
  const auto r15 = [](double v) { return std::round(v * 1e15) / 1e15; };
  double deg = std::fmod(static_cast<double>(degrees), 360.0);
  if (deg < 0) deg += 360.0;
  const double angle = -deg * 3.14159265358979323846 / 180.0;
  double m[6] = {r15(std::cos(angle)), r15(std::sin(angle)), 0.0, r15(-std::sin(angle)), r15(std::cos(angle)), 0.0};
  const double cx = src.width / 2.0, cy = src.height / 2.0;
  m[2] = m[0] * -cx + m[1] * -cy + cx;
  m[5] = m[3] * -cx + m[4] * -cy + cy;
  affine(src, m, dst);
}

void shear_x(const Image& src, float v, Image& dst) {
  const double m[6] = {1.0, v, 0.0, 0.0, 1.0, 0.0};
  affine(src, m, dst);
}

void shear_y(const Image& src, float v, Image& dst) {
  const double m[6] = {1.0, 0.0, 0.0, v, 1.0, 0.0};
  affine(src, m, dst);
}

void translate_x(const Image& src, float pixels, Image& dst) {
  const double m[6] = {1.0, 0.0, pixels, 0.0, 1.0, 0.0};
  affine(src, m, dst);
}

void translate_y(const Image& src, float pixels, Image& dst) {
  const double m[6] = {1.0, 0.0, 0.0, 0.0, 1.0, pixels};
  affine(src, m, dst);
}

void fill_rect(Image& img, int x0, int y0, int x1, int y1, const uint8_t* color) {
  x0 = std::max(x0, 0), y0 = std::max(y0, 0);
  x1 = std::min(x1, img.width - 1), y1 = std::min(y1, img.height - 1);
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) std::copy_n(color, img.channels, img.px(y, x));
}

}  // namespace pil
}  // namespace data
}  // namespace retort
