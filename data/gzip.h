// Decompression of gzip data (zlib), for the .gz IDX files of MNIST and
// Fashion-MNIST.
#pragma once
#include <cstddef>
#include <string>

namespace retort {
namespace data {

// True when this build links zlib (RETORT_WITH_ZLIB).
bool have_zlib();

// True when `bytes` starts with the gzip magic 1f 8b.
bool is_gzip(const std::string& bytes);

// The decompressed contents of gzip data read from `path` (named in errors).
// Output beyond `max_bytes` is an Error, raised before more is stored: the
// caller passes the size its format declares, so a small file cannot expand
// into all of memory (a gzip bomb). Throws when the build lacks zlib, or the
// data is truncated or corrupt.
std::string gunzip(const std::string& bytes, const std::string& path, size_t max_bytes);

// The first `n` decompressed bytes (fewer when the data holds fewer), to read
// a header that declares the size of the whole. Throws on corrupt data.
std::string gunzip_prefix(const std::string& bytes, const std::string& path, size_t n);

}  // namespace data
}  // namespace retort
