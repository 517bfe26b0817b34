// PNG/JPEG (and BMP, PNM, TGA, GIF) decoding through stb_image, when the build
// has it (RETORT_WITH_STB).
#pragma once
#include <string>

#include "data/image.h"

namespace retort {
namespace data {

// True when this build has stb_image (Debian's libstb-dev at configure time).
bool have_stb();

// Decodes encoded bytes read from `path` (named in errors) into `out`, with
// `channels` channels: 3 promotes grayscale to RGB and drops alpha, 1 converts
// to grey. Throws on empty, corrupt or unsupported data, or without stb.
void decode_image(const std::string& bytes, const std::string& path, int channels, Image& out);

// Reads and decodes the file at `path`.
void read_image(const std::string& path, int channels, Image& out);

}  // namespace data
}  // namespace retort
