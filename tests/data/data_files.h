// Writers for the test files of the data tests, in each official format:
// temporary folders, IDX, gzip (stored deflate blocks, no zlib needed), PNG
// (a minimal encoder: one IDAT of stored blocks), CIFAR binary records.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tensor/error.h"

// Expects `stmt` to throw retort::Error whose message contains every string.
#define EXPECT_ERROR_WITH(stmt, ...)                                                                   \
  do {                                                                                                 \
    try {                                                                                              \
      stmt;                                                                                            \
      ADD_FAILURE() << "expected a retort::Error from " #stmt;                                         \
    } catch (const ::retort::Error& e_) {                                                              \
      for (const std::string& s_ : std::vector<std::string>{__VA_ARGS__})                              \
        EXPECT_NE(std::string(e_.message()).find(s_), std::string::npos)                               \
            << "message: " << e_.message() << "\nlacks: " << s_;                                        \
    }                                                                                                  \
  } while (0)

namespace retort {
namespace testing {

// A fresh directory under the system temp folder, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "retort-data-XXXXXX").string();
    char* p = ::mkdtemp(templ.data());
    if (p == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

inline void put_be32(std::string& s, uint32_t v) {
  for (int k = 3; k >= 0; --k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}
inline void put_le32(std::string& s, uint32_t v) {
  for (int k = 0; k < 4; ++k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

inline uint32_t crc32(const std::string& data, uint32_t crc = 0) {
  crc = ~crc;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline uint32_t adler32(const std::string& data) {
  uint32_t a = 1, b = 0;
  for (unsigned char c : data) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return b << 16 | a;
}

// Raw deflate data of stored (uncompressed) blocks.
inline std::string deflate_stored(const std::string& data) {
  std::string out;
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, data.size() - pos);
    const bool last = pos + n == data.size();
    out.push_back(static_cast<char>(last ? 1 : 0));
    out.push_back(static_cast<char>(n & 0xff));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(~n & 0xff));
    out.push_back(static_cast<char>((~n >> 8) & 0xff));
    out.append(data, pos, n);
    pos += n;
  } while (pos < data.size());
  return out;
}

inline std::string gzip_stored(const std::string& data) {
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  out += deflate_stored(data);
  put_le32(out, crc32(data));
  put_le32(out, static_cast<uint32_t>(data.size()));
  return out;
}

// An IDX file of unsigned bytes.
inline std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string s;
  s.push_back(0), s.push_back(0), s.push_back(0x08), s.push_back(static_cast<char>(dims.size()));
  for (uint32_t d : dims) put_be32(s, d);
  s.append(values.begin(), values.end());
  return s;
}

// A PNG of 8-bit samples: channels 1 (grey), 2 (grey + alpha), 3 (RGB), 4 (RGBA).
inline std::string png_bytes(int width, int height, int channels, const std::vector<uint8_t>& pixels) {
  const auto chunk = [](std::string& out, const char* type, const std::string& body) {
    put_be32(out, static_cast<uint32_t>(body.size()));
    const std::string typed = std::string(type, 4) + body;
    out += typed;
    put_be32(out, crc32(typed));
  };
  static const int kColorType[5] = {0, 0, 4, 2, 6};
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_be32(ihdr, static_cast<uint32_t>(width));
  put_be32(ihdr, static_cast<uint32_t>(height));
  ihdr.push_back(8), ihdr.push_back(static_cast<char>(kColorType[channels]));
  ihdr.push_back(0), ihdr.push_back(0), ihdr.push_back(0);
  chunk(png, "IHDR", ihdr);
  std::string raw;  // each row: filter type 0 + samples
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);
    raw.append(pixels.begin() + static_cast<std::ptrdiff_t>(y) * width * channels,
               pixels.begin() + static_cast<std::ptrdiff_t>(y + 1) * width * channels);
  }
  std::string z("\x78\x01", 2);
  z += deflate_stored(raw);
  put_be32(z, adler32(raw));
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

// CIFAR binary records: label bytes then 3072 planar pixel bytes. Pixel
// (y, x, c) of record r is cifar_pixel(r, y, x, c).
inline uint8_t cifar_pixel(int r, int y, int x, int c) { return static_cast<uint8_t>(r * 7 + y * 3 + x * 5 + c * 50); }
inline std::string cifar_records(const std::vector<std::vector<uint8_t>>& labels, int first_record = 0) {
  std::string s;
  for (size_t r = 0; r < labels.size(); ++r) {
    s.append(labels[r].begin(), labels[r].end());
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x)
          s.push_back(static_cast<char>(cifar_pixel(first_record + static_cast<int>(r), y, x, c)));
  }
  return s;
}

}  // namespace testing
}  // namespace retort
