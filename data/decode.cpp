#include "data/decode.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "tensor/error.h"
#include "tensor/file_io.h"

#ifdef RETORT_WITH_STB
#include "data/stb_guard.h"
#define STBI_NO_STDIO
#include "stb_image.h"  // declarations; compiled in data/stb_image_impl.cpp
#endif

namespace retort {
namespace data {

bool have_stb() {
#ifdef RETORT_WITH_STB
  return true;
#else
  return false;
#endif
}

namespace {

std::atomic<int64_t> g_max_image_pixels{kDefaultMaxImagePixels};

#ifdef RETORT_WITH_STB
// stb's reason for its last failure on this thread (thread-local, so
// concurrent decoders do not mix them up); some failures give none.
const char* stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason && *reason ? reason : "no reason given";
}
#endif

}  // namespace

void set_max_image_pixels(int64_t pixels) {
  RETORT_CHECK(pixels > 0, "set_max_image_pixels: expected a positive pixel count, found " << pixels);
  g_max_image_pixels.store(pixels);
}

int64_t max_image_pixels() { return g_max_image_pixels.load(); }

void decode_image(const std::string& bytes, const std::string& path, int channels, Image& out) {
  RETORT_CHECK(channels == 1 || channels == 3, "decode_image: expected 1 or 3 channels, found " << channels);
#ifdef RETORT_WITH_STB
  RETORT_CHECK(!bytes.empty(), path << ": empty image file (0 bytes)");
  RETORT_CHECK(bytes.size() <= static_cast<size_t>(std::numeric_limits<int>::max()),
               path << ": image file of " << bytes.size() << " bytes is too large to decode");
  // stb 2.27 writes out of bounds on these, or overflows; data/stb_guard.h.
  const std::string jpeg_problem = jpeg_huffman_problem(bytes);
  RETORT_CHECK(jpeg_problem.empty(), path << ": corrupt JPEG: " << jpeg_problem);
  const int64_t pnm_number = largest_pnm_header_number(bytes);
  RETORT_CHECK(pnm_number <= kStbMaxDimension, path << ": corrupt PNM: a header number (" << pnm_number
                                                    << ") exceeds the largest dimension, " << kStbMaxDimension);
  const stbi_uc* encoded = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  // stb's own state needs well under 1 MB (a JPEG's tables, a GIF's codes).
  const size_t slack = size_t{1} << 20;
  StbBlockLimit block_limit(slack);
  // The header alone first: stb allocates the whole image before it reads the pixel data.
  RETORT_CHECK(stbi_info_from_memory(encoded, size, &w, &h, &c) == 1,
               path << ": cannot decode image (" << stb_reason()
                    << "); expected a PNG, JPEG, BMP, PNM, TGA or GIF file");
  // stb's header reading gives a top-down BMP a negative height (found by tests/fuzz).
  const int64_t width = std::abs(static_cast<int64_t>(w)), height = std::abs(static_cast<int64_t>(h));
  const int64_t pixels = width * height, limit = max_image_pixels();
  RETORT_CHECK(pixels <= limit, path << ": image of " << width << " x " << height << " = " << pixels
                                     << " pixels exceeds the limit of " << limit
                                     << " pixels (data::set_max_image_pixels)");
  // stb 2.27 converts the channels of 16-bit PNM images as if they had 8 bits,
  // reading past its buffer (found by tests/fuzz; PNG's 16-bit path is right).
  RETORT_CHECK(bytes[0] != 'P' || !stbi_is_16_bit_from_memory(encoded, size),
               path << ": 16-bit PNM images are not supported (stb_image 2.27 converts them wrong); convert the "
                       "file to 8 bits or to PNG");
  // stb's largest blocks: 16-bit RGBA pixels (8 bytes each), doubled while a
  // PNG's zlib stream grows, on dimensions rounded up to JPEG blocks; the
  // compressed data, doubled while a PNG's chunks are gathered.
  const size_t padded = static_cast<size_t>(width + 32) * static_cast<size_t>(height + 32);
  block_limit.set(16 * padded + 2 * bytes.size() + slack);
  unsigned char* px = stbi_load_from_memory(encoded, size, &w, &h, &c, channels);
  RETORT_CHECK(px != nullptr || !block_limit.refused(),
               path << ": cannot decode image: its chunks declare more memory than a " << w << " x " << h
                    << " image in " << bytes.size() << " bytes can need (a corrupt file)");
  RETORT_CHECK(px != nullptr, path << ": cannot decode image (" << stb_reason()
                                   << "); expected a PNG, JPEG, BMP, PNM, TGA or GIF file");
  // stb 2.27 returns a PNM of width 0 as an empty image rather than failing (found by tests/fuzz).
  const bool empty = w <= 0 || h <= 0;
  if (!empty) {
    out.reshape(h, w, channels);
    std::memcpy(out.data(), px, out.pixels.size());
  }
  stbi_image_free(px);
  RETORT_CHECK(!empty, path << ": image of " << w << " x " << h << " pixels is empty");
#else
  (void)bytes;
  (void)out;
  RETORT_FAIL(path << ": cannot decode images: this build of retort lacks stb_image (install libstb-dev and re-run "
                      "cmake)");
#endif
}

void read_image(const std::string& path, int channels, Image& out) { decode_image(read_file(path), path, channels, out); }

}  // namespace data
}  // namespace retort
