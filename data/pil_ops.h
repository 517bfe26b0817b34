// The image operations of the RandAugment variant (METHODS.md section 3.1),
// with the arithmetic of the PIL functions the reference code calls, on
// uint8 HWC images of 1 or 3 channels. Each writes dst (never src).
//   blends (brightness, color, contrast, sharpness): PIL's Image.blend,
//     out = trunc(d + v * (img - d)) in float, d the "degenerate" image
//   grey level: PIL's convert("L"), (19595 R + 38470 G + 7471 B + 2^15) >> 16
//   geometry (rotate, shear, translate, affine): output pixel (x, y) reads the
//     input at (floor(a (x+.5) + b (y+.5) + c), floor(d (x+.5) + e (y+.5) + f)),
//     nearest neighbour; pixels that fall outside are black (0).
#pragma once
#include <cstdint>

#include "data/image.h"

namespace retort {
namespace data {
namespace pil {

uint8_t grey(uint8_t r, uint8_t g, uint8_t b);

// Per channel, stretch [min, max] to [0, 255]: int(v * 255/(max-min) - min * 255/(max-min)).
void auto_contrast(const Image& src, Image& dst);
// Per-channel histogram equalisation (PIL ImageOps.equalize).
void equalize(const Image& src, Image& dst);
// Blend with black: trunc(v * img).
void brightness(const Image& src, float v, Image& dst);
// Blend with the grey image (identity for one channel).
void color(const Image& src, float v, Image& dst);
// Blend with the rounded mean grey level m = int(mean(grey) + 0.5).
void contrast(const Image& src, float v, Image& dst);
// Blend with the 3x3 smoothed image (kernel [1 1 1; 1 5 1; 1 1 1] / 13,
// rounded half up; border pixels keep their values).
void sharpness(const Image& src, float v, Image& dst);
// Keep the top `bits` bits (1..8) of every value.
void posterize(const Image& src, int bits, Image& dst);
// Invert every value v with v >= threshold.
void solarize(const Image& src, float threshold, Image& dst);

// The affine map above with coefficients m = {a, b, c, d, e, f}.
void affine(const Image& src, const double m[6], Image& dst);
// Rotate `degrees` counter-clockwise about (W/2, H/2) (PIL Image.rotate).
void rotate(const Image& src, float degrees, Image& dst);
// Output (x, y) reads input (x + v y, y) / (x, y + v x).
void shear_x(const Image& src, float v, Image& dst);
void shear_y(const Image& src, float v, Image& dst);
// Output (x, y) reads input (x + pixels, y) / (x, y + pixels).
void translate_x(const Image& src, float pixels, Image& dst);
void translate_y(const Image& src, float pixels, Image& dst);

// Fills columns x0..x1 and rows y0..y1 (inclusive, clipped to the image) with
// `color` (one value per channel), in place.
void fill_rect(Image& img, int x0, int y0, int x1, int y1, const uint8_t* color);

}  // namespace pil
}  // namespace data
}  // namespace retort
