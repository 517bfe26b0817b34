// What retort checks and limits around stb_image 2.27 (Debian 12's
// libstb-dev) before trusting it with outside bytes; each guard answers a
// finding of tests/fuzz. Used by data/decode.cpp; stb itself is compiled in
// data/stb_image_impl.cpp and allocates through stb_malloc / stb_realloc.
#pragma once
#include <cstddef>
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

// stb writes past its Huffman tables when a JPEG DHT segment declares more
// than 256 codes for one table (fixed upstream in 2.28). Walks the JPEG
// segments as stb does; returns the first such code count, or 0 when every
// table fits or the bytes are not a JPEG.
int oversized_jpeg_huffman_table(const std::string& bytes);

}  // namespace data
}  // namespace retort
