#include "data/decode.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "tensor/error.h"
#include "tensor/file_io.h"

#ifdef RETORT_WITH_STB
// The one translation unit that compiles stb_image. Only the formats image
// folders hold; retort reads the bytes itself, so no stdio. stb's own code
// is not -Wextra clean, and it is not ours to fix.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_ONLY_TGA
#define STBI_ONLY_GIF
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include "stb_image.h"
#pragma GCC diagnostic pop
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
  const stbi_uc* encoded = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  // The header alone first: stb allocates the whole image before it reads the pixel data.
  RETORT_CHECK(stbi_info_from_memory(encoded, size, &w, &h, &c) == 1,
               path << ": cannot decode image (" << stbi_failure_reason()
                    << "); expected a PNG, JPEG, BMP, PNM, TGA or GIF file");
  const int64_t pixels = static_cast<int64_t>(w) * h, limit = max_image_pixels();
  RETORT_CHECK(pixels <= limit, path << ": image of " << w << " x " << h << " = " << pixels
                                     << " pixels exceeds the limit of " << limit
                                     << " pixels (data::set_max_image_pixels)");
  unsigned char* px = stbi_load_from_memory(encoded, size, &w, &h, &c, channels);
  // stb's failure reason is thread-local, so concurrent decoders do not mix them up.
  RETORT_CHECK(px != nullptr, path << ": cannot decode image (" << stbi_failure_reason()
                                   << "); expected a PNG, JPEG, BMP, PNM, TGA or GIF file");
  out.reshape(h, w, channels);
  std::memcpy(out.data(), px, out.pixels.size());
  stbi_image_free(px);
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
