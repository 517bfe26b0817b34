// Image: one decoded picture, uint8, height x width x channels, interleaved
// (HWC), the order decoders produce and channels-last batches need. Its pixel
// vector is reused across samples, so resizing to a shape seen before
// allocates nothing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace retort {
namespace data {

struct ImageShape {
  int height = 0;  // 0 with width 0: images of a data set differ in size
  int width = 0;
  int channels = 0;

  bool fixed() const { return height > 0 && width > 0; }
  int64_t numel() const { return static_cast<int64_t>(height) * width * channels; }
  bool operator==(const ImageShape& o) const {
    return height == o.height && width == o.width && channels == o.channels;
  }
  bool operator!=(const ImageShape& o) const { return !(*this == o); }
  std::string str() const;  // "32x32x3" (HxWxC), "?x?x3" when not fixed
};

struct Image {
  int height = 0;
  int width = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels, row-major HWC

  ImageShape shape() const { return ImageShape{height, width, channels}; }
  void reshape(int h, int w, int c) {
    height = h, width = w, channels = c;
    pixels.resize(static_cast<size_t>(h) * w * c);
  }
  uint8_t* data() { return pixels.data(); }
  const uint8_t* data() const { return pixels.data(); }
  uint8_t& at(int y, int x, int c) { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
  uint8_t at(int y, int x, int c) const { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
  // The first channel of pixel (y, x).
  uint8_t* px(int y, int x) { return pixels.data() + (static_cast<size_t>(y) * width + x) * channels; }
  const uint8_t* px(int y, int x) const { return pixels.data() + (static_cast<size_t>(y) * width + x) * channels; }
};

// The image as a u8 tensor [H, W, C] (a copy).
Tensor to_tensor(const Image& image);
// An Image from a u8 tensor [H, W, C] or [H, W] (one channel); throws on other shapes.
Image from_tensor(const Tensor& t);

}  // namespace data
}  // namespace retort
