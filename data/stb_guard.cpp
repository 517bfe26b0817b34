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

namespace {

// The bytes of a JPEG as stb reads them: past the end, 0.
struct JpegBytes {
  const std::string& b;
  int operator()(size_t i) const { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0; }
};

// A DHT segment at `pos`: tables of 1 + 16 + n bytes (class and id, the code
// count per length, the symbols). Marks each table defined, or describes the
// first that cannot be.
std::string read_dht(const JpegBytes& at, size_t pos, bool defined[2][4]) {
  size_t t = pos + 4;
  for (long left = static_cast<long>(at(pos + 2) << 8 | at(pos + 3)) - 2; left > 0;) {
    const int table_class = at(t) >> 4, id = at(t) & 15;
    if (table_class > 1 || id > 3) return "";  // stb refuses the file itself
    int n = 0;
    for (int i = 1; i <= 16; ++i) n += at(t + static_cast<size_t>(i));
    if (n > 256)
      return "a Huffman table declares " + std::to_string(n) + " codes, more than the 256 byte values it can code";
    defined[table_class][id] = true;
    t += 17 + static_cast<size_t>(n);
    left -= 17 + n;
  }
  return "";
}

// An SOS segment at `pos`: every table its scan decodes with must be defined.
// A progressive scan decodes with DC tables (first DC scans) or AC tables.
std::string check_sos(const JpegBytes& at, size_t pos, bool progressive, const bool defined[2][4]) {
  const size_t n = static_cast<size_t>(at(pos + 4));
  const int spectral_start = at(pos + 5 + 2 * n), high_bit = at(pos + 7 + 2 * n) >> 4;
  const bool dc = !progressive || (spectral_start == 0 && high_bit == 0);
  const bool ac = !progressive || spectral_start > 0;
  for (size_t i = 0; i < n && i < 4; ++i) {
    const int tables = at(pos + 6 + 2 * i), dc_id = tables >> 4, ac_id = tables & 15;
    if (dc_id > 3 || ac_id > 3) return "";  // stb refuses the file itself
    if ((dc && !defined[0][dc_id]) || (ac && !defined[1][ac_id]))
      return std::string("a scan decodes with the ") + (dc && !defined[0][dc_id] ? "DC" : "AC") +
             " Huffman table " + std::to_string(dc && !defined[0][dc_id] ? dc_id : ac_id) +
             ", which no DHT segment defines before it";
  }
  return "";
}

}  // namespace

std::string jpeg_huffman_problem(const std::string& bytes) {
  const JpegBytes at{bytes};
  // SOI: FF, any number of fill bytes FF, then D8; anything else is not a JPEG.
  size_t pos = 1;
  while (at(0) == 0xFF && pos < bytes.size() && at(pos) == 0xFF) ++pos;
  if (at(0) != 0xFF || at(pos) != 0xD8) return "";
  ++pos;
  bool defined[2][4] = {};  // [DC, AC][table id]
  bool progressive = false;
  while (pos + 1 < bytes.size()) {
    const int marker = at(pos + 1);
    if (at(pos) != 0xFF || marker == 0xFF) {  // padding, fill bytes
      ++pos;
      continue;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
      pos += 2;  // a marker without a length: stuffing, TEM, RSTn, SOI
      continue;
    }
    if (marker == 0xD9) return "";  // EOI
    if (marker == 0xC2) progressive = true;
    const std::string problem = marker == 0xC4   ? read_dht(at, pos, defined)
                                : marker == 0xDA ? check_sos(at, pos, progressive, defined)
                                                 : "";
    if (!problem.empty()) return problem;
    pos += 2 + static_cast<size_t>(at(pos + 2) << 8 | at(pos + 3));
    if (marker == 0xDA) {  // entropy-coded data follows, up to the next marker
      while (pos + 1 < bytes.size() && !(at(pos) == 0xFF && at(pos + 1) != 0x00 &&
                                         !(at(pos + 1) >= 0xD0 && at(pos + 1) <= 0xD7)))
        ++pos;
    }
  }
  return "";
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
