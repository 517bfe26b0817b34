// Image resampling with a triangle (bilinear) filter whose support widens
// with the downscale factor, so shrinking averages every source pixel instead
// of aliasing: the algorithm of PIL's resize(BILINEAR), which torchvision's
// Resize and RandomResizedCrop use on PIL images. Pixel centres sit at +0.5;
// results are rounded to the nearest integer.
#pragma once
#include "data/image.h"

namespace retort {
namespace data {

// Resizes src to out_h x out_w into dst (dst must not be src).
void resize_bilinear(const Image& src, int out_h, int out_w, Image& dst);

// Crops the rectangle (top, left, height, width) of src, which must lie
// inside it, and resizes it to out_h x out_w, in one pass.
void resize_region(const Image& src, int top, int left, int height, int width, int out_h, int out_w, Image& dst);

}  // namespace data
}  // namespace retort
