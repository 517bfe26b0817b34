#include "data/decode.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "tensor/error.h"
#include "tensor/file_io.h"

#ifdef RETORT_WITH_STB
namespace {

// stb allocates through these. During a decode no single block may exceed
// what the declared image and the file size justify (set by StbBlockLimit):
// a PNG chunk declaring 1 GB in an 83-byte file makes stb grow its buffer to
// that size before reading (found by tests/fuzz); now it fails as "outofmem".
thread_local size_t t_stb_max_block = std::numeric_limits<size_t>::max();
thread_local bool t_stb_refused = false;

void* stb_malloc(size_t n) {
  if (n <= t_stb_max_block) return std::malloc(n);
  t_stb_refused = true;
  return nullptr;
}

void* stb_realloc(void* p, size_t n) {
  if (n <= t_stb_max_block) return std::realloc(p, n);
  t_stb_refused = true;
  return nullptr;  // p stays allocated; stb frees it
}

}  // namespace

// The one translation unit that compiles stb_image. Only the formats image
// folders hold; retort reads the bytes itself, so no stdio. stb's own code
// is not -Wextra clean, and it is not ours to fix.
#define STBI_MALLOC(n) stb_malloc(n)
#define STBI_REALLOC(p, n) stb_realloc(p, n)
#define STBI_FREE(p) std::free(p)
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

#ifdef RETORT_WITH_STB
// stb_image 2.27 (Debian 12's libstb-dev) writes past its Huffman tables when
// a JPEG DHT segment declares more than 256 codes for one table (fixed
// upstream in 2.28; found by tests/fuzz). This walks the JPEG segments as stb
// does and returns the first such count, or 0 when every table fits. Bytes
// past the end read as 0, as stb reads them.
int oversized_jpeg_huffman_table(const std::string& b) {
  const auto at = [&](size_t i) -> int { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0; };
  if (at(0) != 0xFF || at(1) != 0xD8) return 0;  // not a JPEG
  size_t pos = 2;
  while (pos + 1 < b.size()) {
    const int marker = at(pos + 1);
    if (at(pos) != 0xFF || marker == 0xFF) {  // padding, fill bytes
      ++pos;
      continue;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
      pos += 2;  // a marker without a length: stuffing, TEM, RSTn, SOI
      continue;
    }
    if (marker == 0xD9) return 0;  // EOI
    const size_t length = static_cast<size_t>(at(pos + 2) << 8 | at(pos + 3));
    if (marker == 0xC4) {
      // Tables of 1 + 16 + n bytes: class and id, the code count per length, the symbols.
      size_t t = pos + 4;
      for (long left = static_cast<long>(length) - 2; left > 0;) {
        if ((at(t) >> 4) > 1 || (at(t) & 15) > 3) break;  // stb refuses the file itself
        int n = 0;
        for (int i = 1; i <= 16; ++i) n += at(t + static_cast<size_t>(i));
        if (n > 256) return n;
        t += 17 + static_cast<size_t>(n);
        left -= 17 + n;
      }
    }
    pos += 2 + length;
    if (marker == 0xDA) {  // entropy-coded data follows, up to the next marker
      while (pos + 1 < b.size() && !(at(pos) == 0xFF && at(pos + 1) != 0x00 &&
                                     !(at(pos + 1) >= 0xD0 && at(pos + 1) <= 0xD7)))
        ++pos;
    }
  }
  return 0;
}

// The largest block stb may allocate while it is in scope, then no limit.
class StbBlockLimit {
 public:
  explicit StbBlockLimit(size_t bytes) { set(bytes); }
  ~StbBlockLimit() { t_stb_max_block = std::numeric_limits<size_t>::max(); }
  StbBlockLimit(const StbBlockLimit&) = delete;
  StbBlockLimit& operator=(const StbBlockLimit&) = delete;
  void set(size_t bytes) {
    t_stb_max_block = bytes;
    t_stb_refused = false;
  }
  bool refused() const { return t_stb_refused; }
};
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
  const int codes = oversized_jpeg_huffman_table(bytes);
  RETORT_CHECK(codes == 0, path << ": corrupt JPEG: a Huffman table declares " << codes
                                << " codes, more than the 256 byte values it can code");
  const stbi_uc* encoded = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  // stb's own state needs well under 1 MB (a JPEG's tables, a GIF's codes).
  const size_t slack = size_t{1} << 20;
  StbBlockLimit block_limit(slack);
  // The header alone first: stb allocates the whole image before it reads the pixel data.
  RETORT_CHECK(stbi_info_from_memory(encoded, size, &w, &h, &c) == 1,
               path << ": cannot decode image (" << stbi_failure_reason()
                    << "); expected a PNG, JPEG, BMP, PNM, TGA or GIF file");
  const int64_t pixels = static_cast<int64_t>(w) * h, limit = max_image_pixels();
  RETORT_CHECK(pixels <= limit, path << ": image of " << w << " x " << h << " = " << pixels
                                     << " pixels exceeds the limit of " << limit
                                     << " pixels (data::set_max_image_pixels)");
  // stb's largest blocks: 16-bit RGBA pixels (8 bytes each), doubled while a
  // PNG's zlib stream grows, on dimensions rounded up to JPEG blocks; the
  // compressed data, doubled while a PNG's chunks are gathered.
  const size_t padded = static_cast<size_t>(w + 32) * static_cast<size_t>(h + 32);
  block_limit.set(16 * padded + 2 * bytes.size() + slack);
  unsigned char* px = stbi_load_from_memory(encoded, size, &w, &h, &c, channels);
  RETORT_CHECK(px != nullptr || !block_limit.refused(),
               path << ": cannot decode image: its chunks declare more memory than a " << w << " x " << h
                    << " image in " << bytes.size() << " bytes can need (a corrupt file)");
  // stb's failure reason is thread-local, so concurrent decoders do not mix them up.
  RETORT_CHECK(px != nullptr, path << ": cannot decode image (" << stbi_failure_reason()
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
