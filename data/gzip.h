// Whole-file reads that see through gzip compression (zlib), for the .gz IDX
// files of MNIST and Fashion-MNIST.
#pragma once
#include <string>

namespace retort {
namespace data {

// True when this build links zlib (RETORT_WITH_ZLIB).
bool have_zlib();

// True when `bytes` starts with the gzip magic 1f 8b.
bool is_gzip(const std::string& bytes);

// The decompressed contents of gzip data read from `path` (named in errors).
// Throws when the build lacks zlib, or the data is truncated or corrupt.
std::string gunzip(const std::string& bytes, const std::string& path);

// The file's bytes, decompressed when the file is gzip data.
std::string read_maybe_gzip(const std::string& path);

}  // namespace data
}  // namespace retort
