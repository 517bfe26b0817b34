// What retort checks and limits around stb_image 2.27 (Debian 12's
// libstb-dev) before trusting it with outside bytes; each guard answers a
// finding of tests/fuzz. Used by data/decode.cpp; stb itself is compiled in
// data/stb_image_impl.cpp and allocates through stb_malloc / stb_realloc.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace retort {
namespace data {

// stb's allocator: fails (returns null, so stb reports "outofmem") for a
// block larger than the current StbBlockLimit of this thread.
void* stb_malloc(size_t bytes);
void* stb_realloc(void* p, size_t bytes);

// While in scope, stb may allocate no block larger than the set size on this
// thread: a PNG chunk declaring 1 GB in an 83-byte file made stb grow its
// buffer to that size before reading the chunk.
class StbBlockLimit {
 public:
  explicit StbBlockLimit(size_t bytes) { set(bytes); }
  ~StbBlockLimit();
  StbBlockLimit(const StbBlockLimit&) = delete;
  StbBlockLimit& operator=(const StbBlockLimit&) = delete;
  void set(size_t bytes);
  // Whether stb asked for a larger block since the last set().
  bool refused() const;
};

// (data/decode.cpp also refuses 16-bit PNM images, whose channels stb
// converts as if they had 8 bits, reading past its buffer.)

// What in a JPEG's Huffman tables makes stb read or write out of bounds, or
// "" when nothing does (or the bytes are not a JPEG). Walks the segments as
// stb does: a DHT segment declaring more than 256 codes for one table (stb
// writes past its tables; fixed upstream in 2.28), or a scan decoding with a
// table no DHT segment defined before it (stb reads its uninitialised memory).
std::string jpeg_huffman_problem(const std::string& bytes);

// stb overflows an int reading a long number in a PNM header. Returns the
// largest of the header's three numbers (width, height, maximum value) as
// stb reads them, capped at 2^40; 0 when the bytes are not a binary PNM.
// Anything above kStbMaxDimension (stb's largest width or height, well above
// the largest maximum value, 65535) cannot be a valid header.
constexpr int64_t kStbMaxDimension = int64_t{1} << 24;
int64_t largest_pnm_header_number(const std::string& bytes);

}  // namespace data
}  // namespace retort
