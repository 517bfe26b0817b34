#include "data/stb_guard.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>

namespace retort {
namespace data {

namespace {
thread_local size_t t_max_block = std::numeric_limits<size_t>::max();
thread_local bool t_refused = false;
}  // namespace

void* stb_malloc(size_t bytes) {
  if (bytes <= t_max_block) return std::malloc(bytes);
  t_refused = true;
  return nullptr;
}

void* stb_realloc(void* p, size_t bytes) {
  if (bytes <= t_max_block) return std::realloc(p, bytes);
  t_refused = true;
  return nullptr;  // p stays allocated; stb frees it
}

StbBlockLimit::~StbBlockLimit() { t_max_block = std::numeric_limits<size_t>::max(); }

void StbBlockLimit::set(size_t bytes) {
  t_max_block = bytes;
  t_refused = false;
}

bool StbBlockLimit::refused() const { return t_refused; }

int oversized_jpeg_huffman_table(const std::string& b) {
  // Bytes past the end read as 0, as stb reads them.
  const auto at = [&](size_t i) -> int { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0; };
  // SOI: FF, any number of fill bytes FF, then D8; anything else is not a JPEG.
  size_t pos = 1;
  while (at(0) == 0xFF && pos < b.size() && at(pos) == 0xFF) ++pos;
  if (at(0) != 0xFF || at(pos) != 0xD8) return 0;
  ++pos;
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

int64_t largest_pnm_header_number(const std::string& b) {
  if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return 0;
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  size_t i = 2;
  int64_t largest = 0;
  for (int number = 0; number < 3; ++number) {
    for (;;) {  // whitespace and '#' comments
      while (i < b.size() && space(b[i])) ++i;
      if (i >= b.size() || b[i] != '#') break;
      while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
    }
    int64_t value = 0;
    for (; i < b.size() && b[i] >= '0' && b[i] <= '9'; ++i)
      value = std::min<int64_t>(value * 10 + (b[i] - '0'), int64_t{1} << 40);
    largest = std::max(largest, value);
  }
  return largest;
}

}  // namespace data
}  // namespace retort
