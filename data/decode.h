// PNG/JPEG (and BMP, PNM, TGA, GIF) decoding through stb_image, when the build
// has it (RETORT_WITH_STB).
#pragma once
#include <cstdint>
#include <string>

#include "data/image.h"

namespace retort {
namespace data {

// True when this build has stb_image (Debian's libstb-dev at configure time).
bool have_stb();

// Images whose header declares more pixels (width x height) than this are
// refused before decoding allocates anything: a small file can declare a huge
// image (a decompression bomb). The default, 2^28 = 16384 x 16384 pixels, is
// far beyond any training image (PIL refuses above 179 M pixels) and bounds
// one decode to about 2 GB even for 16-bit RGBA, stb's widest.
constexpr int64_t kDefaultMaxImagePixels = int64_t{1} << 28;
// The limit for every decode in the process (thread-safe); must be positive.
void set_max_image_pixels(int64_t pixels);
int64_t max_image_pixels();

// Decodes encoded bytes read from `path` (named in errors) into `out`, with
// `channels` channels: 3 promotes grayscale to RGB and drops alpha, 1 converts
// to grey. Throws on empty, corrupt or unsupported data, on an image over
// max_image_pixels(), or without stb.
void decode_image(const std::string& bytes, const std::string& path, int channels, Image& out);

// Reads and decodes the file at `path`.
void read_image(const std::string& path, int channels, Image& out);

}  // namespace data
}  // namespace retort
