#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tensor/file_io.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tests/testing.h"

namespace retort {
namespace {

namespace st = safetensors;
namespace fs = std::filesystem;

const std::string kSource = "model.safetensors";

template <class F>
::testing::AssertionResult throws_error_with(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    for (const std::string& p : parts)
      if (e.message().find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << e.message() << "\" does not contain \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-retort exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

std::string u64_le(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

// A file from its parts, built byte by byte.
std::string make_file(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

st::Contents parse_bytes(const std::string& bytes) {
  return st::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), kSource);
}

// parse() of a file with this header and `data_bytes` zero bytes of data
// fails, and the message names the file and each part.
::testing::AssertionResult header_rejected(const std::string& header, size_t data_bytes,
                                           const std::vector<std::string>& parts) {
  std::vector<std::string> all = parts;
  all.push_back(kSource + ": ");
  const std::string file = make_file(header, std::string(data_bytes, '\0'));
  return throws_error_with([&] { parse_bytes(file); }, all);
}

template <class T> std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string tensor_bytes(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.raw()), c.nbytes());
}

float bits_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The values used by round-trip tests, including ones a text format would lose.
std::vector<float> awkward_floats() {
  return {0.0f, -0.0f, 1.0f / 3.0f, -1e-38f, std::numeric_limits<float>::denorm_min(),
          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
          bits_float(0x7FC12345u), std::numeric_limits<float>::max(), 123456.789f};
}

TEST(Safetensors, RoundTripAllDTypesShapesAndMetadata) {
  const std::vector<float> floats = awkward_floats();
  const std::vector<int64_t> ints = {std::numeric_limits<int64_t>::min(), -1, 0, 1, std::numeric_limits<int64_t>::max(),
                                     9007199254740993};
  std::vector<uint8_t> bytes(256);
  for (int i = 0; i < 256; ++i) bytes[i] = static_cast<uint8_t>(i);
  const std::vector<st::NamedTensor> tensors = {
      {"fc.weight", from_vector<float>(floats, Shape{2, 5})},
      {"labels", from_vector<int64_t>(ints, Shape{3, 1, 2})},
      {"image", from_vector<uint8_t>(bytes, Shape{4, 8, 8})},
      {"scale", scalar(2.5f)},
      {"empty", zeros(Shape{0, 3}, DType::I64)},
      {"odd", from_vector<uint8_t>({7, 8, 9}, Shape{3})},  // leaves the next tensor unaligned
      {"after_odd", from_vector<float>({-1.5f}, Shape{1, 1})},
  };
  const st::Metadata metadata = {{"format", "pt"}, {"epoch", "12"}, {"note", "caf\xC3\xA9 \"quoted\""}};
  const std::string file = st::serialize(tensors, metadata);
  const st::Contents back = parse_bytes(file);

  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].name);
    const Tensor& got = back.tensors[i].tensor;
    EXPECT_EQ(back.tensors[i].name, tensors[i].name);
    EXPECT_EQ(got.dtype(), tensors[i].tensor.dtype());
    EXPECT_EQ(got.shape(), tensors[i].tensor.shape());
    EXPECT_TRUE(got.device().is_cpu());
    EXPECT_EQ(tensor_bytes(got), tensor_bytes(tensors[i].tensor));  // bit-exact, NaN payload included
  }
  EXPECT_EQ(back.metadata, metadata);
  EXPECT_TRUE(back.upcast.empty());
  EXPECT_EQ(back.find("scale")->ndim(), 0);
  EXPECT_EQ(back.find("scale")->item<float>(), 2.5f);
  EXPECT_EQ(back.find("empty")->numel(), 0);
  EXPECT_EQ(back.find("nope"), nullptr);
}

TEST(Safetensors, SerializedLayout) {
  const std::string file = st::serialize({{"b", from_vector<uint8_t>({1, 2, 3}, Shape{3})},
                                          {"a", from_vector<float>({1.0f}, Shape{1})}},
                                         {{"k", "v"}});
  ASSERT_GE(file.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(file[i]);
  EXPECT_EQ((8 + n) % 8, 0u);                 // the data buffer starts 8-byte aligned
  EXPECT_EQ(file.size(), 8 + n + 3 + 4);      // header + packed data, nothing else
  const std::string header = file.substr(8, n);
  const size_t last = header.find_last_not_of(' ');
  EXPECT_EQ(header[last], '}');
  EXPECT_LT(n - (last + 1), 8u);  // at most 7 spaces of padding
  const json::Value h = json::parse(header);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.members()[0].first, "__metadata__");
  EXPECT_EQ(h.members()[1].first, "b");
  EXPECT_EQ(h.members()[2].first, "a");
  EXPECT_EQ(h.at("b").at("dtype").as_string(), "U8");
  EXPECT_EQ(h.at("a").at("dtype").as_string(), "F32");
  EXPECT_EQ(json::dump(h.at("b").at("data_offsets")), "[0,3]");
  EXPECT_EQ(json::dump(h.at("a").at("data_offsets")), "[3,7]");
  EXPECT_EQ(json::dump(h.at("a").at("shape")), "[1]");
  EXPECT_EQ(file.substr(8 + n), std::string("\x01\x02\x03", 3) + raw_bytes(std::vector<float>{1.0f}));
}

TEST(Safetensors, EmptyFileHasAnEmptyObjectHeader) {
  const std::string file = st::serialize({});
  EXPECT_EQ(file, u64_le(8) + "{}      ");
  const st::Contents back = parse_bytes(file);
  EXPECT_TRUE(back.tensors.empty());
  EXPECT_TRUE(back.metadata.empty());
}

TEST(Safetensors, NonContiguousTensorsAreWrittenRowMajor) {
  const Tensor t = from_vector<float>({0, 1, 2, 3, 4, 5}, Shape{2, 3}).transpose(0, 1);
  ASSERT_FALSE(t.is_contiguous());
  const st::Contents back = parse_bytes(st::serialize({{"t", t}}));
  EXPECT_EQ(back.tensors[0].tensor.shape(), (Shape{3, 2}));
  EXPECT_EQ(back.tensors[0].tensor.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Safetensors, CudaTensorsAreCopiedToTheHost) {
  if (!testing::has_cuda()) GTEST_SKIP() << "no CUDA device in this process";
  const Tensor t = from_vector<float>({1, 2, 3, 4}, Shape{2, 2}, Device::cuda(0));
  const st::Contents back = parse_bytes(st::serialize({{"t", t}}));
  EXPECT_TRUE(back.tensors[0].tensor.device().is_cpu());
  EXPECT_EQ(back.tensors[0].tensor.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
}

TEST(Safetensors, HandBuiltFileReadsBack) {
  // Keys out of offset order, metadata last, a header padded to an odd length
  // so the data is unaligned in memory.
  const std::string header =
      R"({"b":{"dtype":"I64","shape":[2],"data_offsets":[4,20]},)"
      R"("a":{"data_offsets":[0,4],"shape":[],"dtype":"F32"},)"
      R"("c":{"dtype":"U8","shape":[1,3],"data_offsets":[20,23]},)"
      R"("__metadata__":{"format":"pt","source":"hand"}}   )";
  std::string data;
  data += std::string("\x00\x00\xC0\x3F", 4);                                  // a = 1.5f
  data += std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8);                  // b[0] = -1
  data += std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);                  // b[1] = 0x0807060504030201
  data += std::string("\x00\x7F\xFF", 3);                                      // c
  const st::Contents c = parse_bytes(make_file(header, data));
  ASSERT_EQ(c.tensors.size(), 3u);
  EXPECT_EQ(c.tensors[0].name, "b");
  EXPECT_EQ(c.tensors[1].name, "a");
  EXPECT_EQ(c.tensors[2].name, "c");
  EXPECT_EQ(c.find("a")->ndim(), 0);
  EXPECT_EQ(c.find("a")->item<float>(), 1.5f);
  EXPECT_EQ(c.find("b")->to_vector<int64_t>(), (std::vector<int64_t>{-1, 0x0807060504030201}));
  EXPECT_EQ(c.find("c")->shape(), (Shape{1, 3}));
  EXPECT_EQ(c.find("c")->to_vector<uint8_t>(), (std::vector<uint8_t>{0, 127, 255}));
  EXPECT_EQ(c.metadata, (st::Metadata{{"format", "pt"}, {"source", "hand"}}));
  EXPECT_TRUE(c.upcast.empty());
}

TEST(Safetensors, GapsAndTrailingBytesInTheBufferAreAllowed) {
  const std::string header = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}})";
  const st::Contents c = parse_bytes(make_file(header, "xyzABtrailing"));
  EXPECT_EQ(c.find("a")->to_vector<uint8_t>(), (std::vector<uint8_t>{'A', 'B'}));
}

TEST(Safetensors, F16IsUpcastExactly) {
  const std::vector<uint16_t> halves = {0x3C00, 0xC000, 0x0000, 0x8000, 0x3555, 0x7BFF, 0x0400,
                                        0x0001, 0x03FF, 0x8001, 0x7C00, 0xFC00, 0x7E00};
  const std::string header = R"({"h":{"dtype":"F16","shape":[13],"data_offsets":[0,26]}})";
  const st::Contents c = parse_bytes(make_file(header, raw_bytes(halves)));
  const Tensor& t = c.tensors[0].tensor;
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(c.upcast, std::vector<std::string>{"h"});
  const std::vector<float> v = t.to_vector<float>();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], 0.0f);
  EXPECT_FALSE(std::signbit(v[2]));
  EXPECT_EQ(v[3], 0.0f);
  EXPECT_TRUE(std::signbit(v[3]));               // -0 keeps its sign
  EXPECT_EQ(v[4], 0.333251953125f);              // nearest half to 1/3
  EXPECT_EQ(v[5], 65504.0f);                     // largest finite half
  EXPECT_EQ(v[6], std::ldexp(1.0f, -14));        // smallest normal
  EXPECT_EQ(v[7], std::ldexp(1.0f, -24));        // smallest subnormal
  EXPECT_EQ(v[8], std::ldexp(1023.0f, -24));     // largest subnormal
  EXPECT_EQ(v[9], -std::ldexp(1.0f, -24));
  EXPECT_EQ(v[10], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[11], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(v[12]));
}

TEST(Safetensors, BF16IsUpcastExactly) {
  const std::vector<uint16_t> halves = {0x3F80, 0xC000, 0x7F80, 0xFF80, 0x0001, 0x4049, 0x7FC0};
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
      R"("b":{"dtype":"BF16","shape":[7],"data_offsets":[4,18]}})";
  const st::Contents c = parse_bytes(make_file(header, raw_bytes(std::vector<float>{5.0f}) + raw_bytes(halves)));
  EXPECT_EQ(c.upcast, std::vector<std::string>{"b"});  // only the converted one
  const std::vector<float> v = c.find("b")->to_vector<float>();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[3], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[4], bits_float(0x00010000u));  // a float subnormal
  EXPECT_EQ(v[5], 3.140625f);
  EXPECT_TRUE(std::isnan(v[6]));
  EXPECT_EQ(c.find("w")->item<float>(), 5.0f);
}

TEST(Safetensors, SaveAndLoadThroughTheFileSystem) {
  std::string dir = (fs::path(::testing::TempDir()) / "retort_safetensors_XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/weights.safetensors";
  st::save(path, {{"w", from_vector<float>({1, 2, 3}, Shape{3})}}, {{"epoch", "3"}});
  st::save(path, {{"w", from_vector<float>({4, 5}, Shape{2})}}, {{"epoch", "4"}});  // replaces
  const st::Contents c = st::load(path);
  EXPECT_EQ(c.find("w")->to_vector<float>(), (std::vector<float>{4, 5}));
  EXPECT_EQ(c.metadata, (st::Metadata{{"epoch", "4"}}));

  // Errors from load name the path.
  std::string corrupt = read_file(path);
  corrupt.pop_back();
  write_file_atomic(dir + "/corrupt.safetensors", corrupt);
  EXPECT_TRUE(throws_error_with([&] { st::load(dir + "/corrupt.safetensors"); },
                                {dir + "/corrupt.safetensors: tensor 'w'", "data_offsets"}));
  EXPECT_TRUE(throws_error_with([&] { st::load(dir + "/missing.safetensors"); },
                                {dir + "/missing.safetensors", "No such file"}));
  fs::remove_all(dir);
}

TEST(Safetensors, SerializeRejectsBadInput) {
  const Tensor t = zeros(Shape{2});
  EXPECT_TRUE(throws_error_with([&] { st::serialize({{"w", t}, {"v", t}, {"w", t}}); }, {"duplicate tensor name 'w'"}));
  EXPECT_TRUE(throws_error_with([&] { st::serialize({{"__metadata__", t}}); }, {"reserved"}));
  EXPECT_TRUE(throws_error_with([&] { st::serialize({{"u", Tensor()}}); }, {"'u'", "undefined"}));
  EXPECT_TRUE(throws_error_with([&] { st::serialize({}, {{"k", "1"}, {"k", "2"}}); }, {"duplicate metadata key 'k'"}));
}

// ---------------------------------------------------------------- malformed files

TEST(SafetensorsMalformed, TooShortForTheLength) {
  for (size_t n = 0; n < 8; ++n) {
    const std::string bytes(n, '\0');
    EXPECT_TRUE(throws_error_with([&] { parse_bytes(bytes); },
                                  {kSource + ": expected at least 8 bytes", "found " + std::to_string(n)}));
  }
}

TEST(SafetensorsMalformed, HeaderLengthBeyondTheFileOrTheLimit) {
  EXPECT_TRUE(throws_error_with([] { parse_bytes(u64_le(100) + "{}"); },
                                {kSource, "header length 100 exceeds the 2 bytes"}));
  EXPECT_TRUE(throws_error_with([] { parse_bytes(u64_le(200000000) + "{}"); },
                                {kSource, "header length 200000000 exceeds the limit of 100000000"}));
  EXPECT_TRUE(throws_error_with([] { parse_bytes(u64_le(std::numeric_limits<uint64_t>::max()) + "{}"); },
                                {kSource, "header length 18446744073709551615"}));
}

TEST(SafetensorsMalformed, HeaderNotJsonOrNotAnObject) {
  EXPECT_TRUE(header_rejected("{not json}", 0, {"header is not valid JSON", "at byte 1"}));
  EXPECT_TRUE(header_rejected("", 0, {"header is not valid JSON", "end of input"}));
  EXPECT_TRUE(header_rejected(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},})", 1,
                              {"header is not valid JSON"}));
  EXPECT_TRUE(header_rejected("{\"\xFF\":1}", 0, {"header is not valid JSON", "UTF-8"}));
  EXPECT_TRUE(header_rejected(std::string("{}\0\0", 4), 0, {"header is not valid JSON", "byte 0x00"}));
  EXPECT_TRUE(header_rejected("[]", 0, {"header must be a JSON object", "found array"}));
  EXPECT_TRUE(header_rejected("42", 0, {"header must be a JSON object", "found integer"}));
}

TEST(SafetensorsMalformed, DuplicateNames) {
  EXPECT_TRUE(header_rejected(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                              R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                              2, {"duplicate key 'w'"}));
}

TEST(SafetensorsMalformed, EntryNotAnObjectOrWrongFields) {
  EXPECT_TRUE(header_rejected(R"({"w":[1,2]})", 0, {"tensor 'w' must be an object", "found array"}));
  EXPECT_TRUE(header_rejected(R"({"w":{"dtype":"U8","shape":[1]}})", 1, {"tensor 'w' has no \"data_offsets\""}));
  EXPECT_TRUE(header_rejected(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1, {"tensor 'w' has no \"dtype\""}));
  EXPECT_TRUE(header_rejected(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", 1, {"tensor 'w' has no \"shape\""}));
  EXPECT_TRUE(header_rejected(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":0}})", 1,
                              {"tensor 'w' has an unexpected field \"extra\""}));
}

TEST(SafetensorsMalformed, UnsupportedOrBadDType) {
  for (const char* dtype : {"F64", "I32", "BOOL", "F8_E4M3", "f32", ""}) {
    const std::string header =
        std::string(R"({"w":{"dtype":")") + dtype + R"(","shape":[1],"data_offsets":[0,8]}})";
    EXPECT_TRUE(header_rejected(header, 8, {"tensor 'w' has dtype " + std::string(dtype), "cannot read",
                                            "F32, I64, U8, F16, BF16"}));
  }
  EXPECT_TRUE(header_rejected(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4,
                              {"tensor 'w' dtype must be a string", "found integer 4"}));
}

TEST(SafetensorsMalformed, BadShapes) {
  const auto with_shape = [](const std::string& shape) {
    return R"({"w":{"dtype":"U8","shape":)" + shape + R"(,"data_offsets":[0,1]}})";
  };
  for (const std::string shape : {"3", "[-1]", "[2.0]", "[\"2\"]", "[null]", "[[1]]", "[1,1,1,1,1,1,1,1,1]",
                                  "[18446744073709551615]", "{}"}) {
    EXPECT_TRUE(header_rejected(with_shape(shape), 1,
                                {"tensor 'w' shape must be an array of at most 8 non-negative integers",
                                 "found " /* kind and text */, shape}))
        << shape;
  }
  EXPECT_NO_THROW(parse_bytes(make_file(with_shape("[1,1,1,1,1,1,1,1]"), "x")));  // rank 8 is fine
}

TEST(SafetensorsMalformed, ByteCountOverflow) {
  EXPECT_TRUE(header_rejected(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0,
                              {"tensor 'w' declares shape [4294967296, 4294967296]", "as F32 overflows int64"}));
  // numel itself fits but times the item size does not.
  EXPECT_TRUE(header_rejected(R"({"w":{"dtype":"I64","shape":[2305843009213693952],"data_offsets":[0,0]}})", 0,
                              {"overflows int64"}));
  // A zero extent makes the byte count zero, but the other extents must still
  // multiply within int64 (a Shape computes their product).
  const st::Contents empty_but_wide = parse_bytes(make_file(
      R"({"w":{"dtype":"F32","shape":[1073741824,0,1073741824],"data_offsets":[0,0]}})", ""));
  EXPECT_EQ(empty_but_wide.find("w")->numel(), 0);
  EXPECT_TRUE(header_rejected(R"({"w":{"dtype":"U8","shape":[4294967296,0,4294967296],"data_offsets":[0,0]}})", 0,
                              {"overflows int64"}));
}

TEST(SafetensorsMalformed, BadDataOffsets) {
  const auto with_offsets = [](const std::string& offsets) {
    return R"({"w":{"dtype":"U8","shape":[2],"data_offsets":)" + offsets + "}}";
  };
  for (const std::string offsets : {"2", "[0]", "[0,1,2]", "[-1,1]", "[0,2.0]", "[\"0\",\"2\"]", "null"}) {
    EXPECT_TRUE(header_rejected(with_offsets(offsets), 4,
                                {"tensor 'w' data_offsets must be two non-negative integers", offsets}))
        << offsets;
  }
  EXPECT_TRUE(header_rejected(with_offsets("[3,1]"), 4, {"tensor 'w' data_offsets [3, 1]", "begin <= end <= 4"}));
  EXPECT_TRUE(header_rejected(with_offsets("[3,5]"), 4, {"tensor 'w' data_offsets [3, 5]", "begin <= end <= 4"}));
  EXPECT_TRUE(header_rejected(with_offsets("[18446744073709551614,18446744073709551615]"), 4,
                              {"data_offsets [18446744073709551614, 18446744073709551615]"}));
}

TEST(SafetensorsMalformed, ShapeAndByteCountDisagree) {
  const std::string header = R"({"fc.weight":{"dtype":"F32","shape":[100,64],"data_offsets":[0,25596]}})";
  try {
    parse_bytes(make_file(header, std::string(25600, '\0')));
    FAIL() << "did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(),
              "model.safetensors: tensor 'fc.weight' declares shape [100, 64] (25600 bytes as F32) but "
              "data_offsets span 25596 bytes");
  }
  EXPECT_TRUE(header_rejected(R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,5]}})", 6,
                              {"tensor 'h' declares shape [3] (6 bytes as F16) but data_offsets span 5 bytes"}));
  EXPECT_TRUE(header_rejected(R"({"s":{"dtype":"I64","shape":[],"data_offsets":[0,0]}})", 8,
                              {"tensor 's' declares shape [] (8 bytes as I64) but data_offsets span 0 bytes"}));
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  EXPECT_TRUE(header_rejected(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                              12, {"tensors 'a' [0, 8) and 'b' [4, 12) overlap"}));
  // Listed in reverse order, and the same range twice.
  EXPECT_TRUE(header_rejected(R"({"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]},)"
                              R"("a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                              8, {"overlap", "'a'", "'b'"}));
  // Empty tensors occupy no bytes, so they may sit anywhere.
  EXPECT_NO_THROW(parse_bytes(make_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                        R"("e":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},)"
                                        R"("f":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}})",
                                        "abcd")));
}

TEST(SafetensorsMalformed, BadMetadata) {
  EXPECT_TRUE(header_rejected(R"({"__metadata__":["a"]})", 0, {"__metadata__ must be an object", "found array"}));
  EXPECT_TRUE(header_rejected(R"({"__metadata__":{"epoch":3}})", 0,
                              {"__metadata__ key 'epoch' must map to a string", "found integer 3"}));
  EXPECT_TRUE(header_rejected(R"({"__metadata__":{"a":"x","b":null}})", 0, {"key 'b'", "found null"}));
}

TEST(SafetensorsMalformed, EveryTruncationIsAnError) {
  const std::string file = st::serialize({{"w", from_vector<float>({1, 2, 3}, Shape{3})},
                                          {"b", from_vector<uint8_t>({4}, Shape{1})}},
                                         {{"k", "v"}});
  ASSERT_NO_THROW(parse_bytes(file));
  for (size_t n = 0; n < file.size(); ++n) {
    const std::string prefix = file.substr(0, n);
    EXPECT_TRUE(throws_error_with([&] { parse_bytes(prefix); }, {kSource + ": "})) << "prefix of " << n << " bytes";
  }
}

TEST(SafetensorsMalformed, CorruptHeaderBytesNeverCrash) {
  // Every single-byte change in the length or header either still parses or
  // throws a retort::Error; nothing else escapes (run under the sanitizers to
  // also rule out bad reads).
  const std::string file = st::serialize({{"w", from_vector<float>({1, 2}, Shape{2, 1})},
                                          {"i", from_vector<int64_t>({5}, Shape{1})}},
                                         {{"k", "v"}});
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | static_cast<uint8_t>(file[i]);
  size_t errors = 0;
  for (size_t pos = 0; pos < 8 + header_size; ++pos) {
    for (int value : {0x00, 0x01, 0x20, 0x22, 0x2C, 0x30, 0x39, 0x5B, 0x5D, 0x7B, 0x7D, 0x80, 0xFF}) {
      std::string mutated = file;
      mutated[pos] = static_cast<char>(value);
      try {
        parse_bytes(mutated);
      } catch (const Error&) {
        ++errors;
      } catch (...) {
        ADD_FAILURE() << "a non-retort exception for byte " << pos << " = " << value;
      }
    }
  }
  EXPECT_GT(errors, 0u);
}

}  // namespace
}  // namespace retort
