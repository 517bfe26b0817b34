#include "data/gzip.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#ifdef RETORT_WITH_ZLIB
#include <zlib.h>
#endif

#include "tensor/error.h"

namespace retort {
namespace data {

bool have_zlib() {
#ifdef RETORT_WITH_ZLIB
  return true;
#else
  return false;
#endif
}

bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f && static_cast<uint8_t>(bytes[1]) == 0x8b;
}

namespace {

// Inflates gzip data into at most `cap` bytes. Returns the bytes stored, and
// in `complete` whether the data ended (every member whole) within them.
std::string inflate_gzip(const std::string& bytes, const std::string& path, size_t cap, bool* complete) {
#ifdef RETORT_WITH_ZLIB
  RETORT_CHECK(bytes.size() >= 18, path << ": truncated gzip file (" << bytes.size()
                                        << " bytes, a gzip member needs at least 18)");
  // The trailer's ISIZE (size mod 2^32) is a good first guess for the output,
  // unless the file is cut short and those bytes are anything: the guess is
  // capped, and the buffer doubles as needed up to `cap`.
  const size_t n = bytes.size();
  const uint32_t isize = static_cast<uint32_t>(static_cast<uint8_t>(bytes[n - 4])) |
                         static_cast<uint32_t>(static_cast<uint8_t>(bytes[n - 3])) << 8 |
                         static_cast<uint32_t>(static_cast<uint8_t>(bytes[n - 2])) << 16 |
                         static_cast<uint32_t>(static_cast<uint8_t>(bytes[n - 1])) << 24;
  std::string out;
  out.resize(std::min(cap, std::max<size_t>(std::min<size_t>(isize, 8 * n + (1 << 20)), 1024)));
  z_stream zs{};
  RETORT_CHECK(inflateInit2(&zs, 15 + 32) == Z_OK, path << ": zlib inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  size_t produced = 0;
  int rc = Z_OK;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() == cap) break;  // full: the caller decides what that means
      out.resize(std::min(cap, out.size() * 2));
    }
    const size_t room = std::min<size_t>(out.size() - produced, std::numeric_limits<uInt>::max());
    zs.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members (what `cat a.gz b.gz` makes) decode as one file.
      if (zs.avail_in == 0) break;
      RETORT_CHECK(inflateReset(&zs) == Z_OK, path << ": zlib inflateReset failed");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // needs more room
    break;
  }
  const std::string reason = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  *complete = rc == Z_STREAM_END;
  const bool full = produced == cap && !*complete;
  RETORT_CHECK(*complete || full, path << ": "
                                       << (rc == Z_BUF_ERROR ? "truncated gzip data (the stream ends early)"
                                                             : "corrupt gzip data")
                                       << (reason.empty() ? "" : " (zlib: " + reason + ")") << " after "
                                       << produced << " decompressed bytes");
  out.resize(produced);
  return out;
#else
  (void)bytes;
  (void)cap;
  (void)complete;
  RETORT_FAIL(path << ": is gzip-compressed, but this build of retort lacks zlib (install zlib1g-dev and "
                      "re-run cmake, or gunzip the file)");
#endif
}

}  // namespace

std::string gunzip(const std::string& bytes, const std::string& path, size_t max_bytes) {
  // One byte of room past the limit tells "exactly max_bytes" from "more".
  const size_t cap = max_bytes == std::numeric_limits<size_t>::max() ? max_bytes : max_bytes + 1;
  bool complete = false;
  std::string out = inflate_gzip(bytes, path, cap, &complete);
  RETORT_CHECK(complete && out.size() <= max_bytes,
               path << ": gzip data decompresses to more than the " << max_bytes
                    << " bytes expected (a corrupt file, or a gzip bomb)");
  return out;
}

std::string gunzip_prefix(const std::string& bytes, const std::string& path, size_t n) {
  bool complete = false;
  return inflate_gzip(bytes, path, n, &complete);
}

}  // namespace data
}  // namespace retort
