// decode_image (stb_image) on the bytes, to RGB and to grey. The pixel limit
// is lowered from its default so that no input the limit allows can exceed
// libFuzzer's memory limit: stb needs up to 8 bytes per pixel (16-bit RGBA).
// What decodes is a non-empty image within the limit.
#include <stdexcept>

#include "data/decode.h"
#include "tests/fuzz/fuzz_target.h"

RETORT_FUZZ_TARGET(image) {
  namespace rd = retort::data;
  rd::set_max_image_pixels(int64_t{1} << 20);
  const std::string bytes = retort::fuzz::as_string(data, size);
  const auto decode = [&](int channels) {
    rd::Image image;
    rd::decode_image(bytes, "fuzz-image", channels, image);
    const int64_t pixels = static_cast<int64_t>(image.height) * image.width;
    if (image.height <= 0 || image.width <= 0 || pixels > rd::max_image_pixels() || image.channels != channels ||
        image.pixels.size() != static_cast<size_t>(pixels) * channels)
      throw std::logic_error("decode_image: the image does not match its shape or exceeds the limit");
  };
  retort::fuzz::try_each({[&] { decode(3); }, [&] { decode(1); }});
}
