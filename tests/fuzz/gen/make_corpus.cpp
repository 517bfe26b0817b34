// Writes the seed corpus of every fuzz target, DIR/corpus/<target>/, and the
// libFuzzer dictionaries, DIR/dict/<target>.dict (DIR is normally tests/fuzz):
// small files in each reader's format, made with the writers of
// tests/data/data_files.h, stb_image_write and retort's own safetensors and
// config code. Deterministic; run it after changing a format or a target:
//   BUILD/tests/fuzz_make_corpus tests/fuzz
// Inputs a fuzzer found are kept in the same folders under names starting
// with "found-"; this tool only ever writes its own file names.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "distill/config.h"
#include "distill/settings.h"
#include "tensor/safetensors.h"
#include "tensor/tensor.h"
#include "tests/data/data_files.h"

#if __has_include(<stb/stb_image_write.h>)
#define RETORT_HAVE_STB_WRITE 1
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>  // implemented in tests/data/stb_image_write_impl.cpp
#endif
#ifdef RETORT_WITH_ZLIB
#include <zlib.h>
#endif

namespace retort {
namespace {

using testing::cifar_records;
using testing::gzip_stored;
using testing::idx_bytes;
using testing::png_bytes;
using testing::write_bytes;

std::string g_root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  write_bytes(g_root + "/corpus/" + target + "/" + name, bytes);
}

std::vector<uint8_t> ramp(size_t n, int seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7 + (i / 5) * 3);
  return v;
}

Tensor ramp_f32(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.25f * static_cast<float>(i) - 1.5f;
  return from_vector<float>(v, shape);
}

// ------------------------------------------------------------------ safetensors

std::string safetensors_by_hand(const std::string& header, const std::string& buffer) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  return out + header + buffer;
}

void safetensors_seeds() {
  namespace st = safetensors;
  put("safetensors", "empty.safetensors", st::serialize({}));
  put("safetensors", "linear.safetensors",
      st::serialize({{"fc.weight", ramp_f32(Shape{3, 4})}, {"fc.bias", ramp_f32(Shape{3})}}, {{"format", "pt"}}));
  put("safetensors", "dtypes.safetensors",
      st::serialize({{"images", from_vector<uint8_t>({0, 1, 2, 3, 250, 251, 252, 253}, Shape{2, 2, 2})},
                     {"labels", from_vector<int64_t>({3, 0, -1}, Shape{3})},
                     {"scale", from_vector<float>({0.5f}, Shape{})}},
                    {{"epoch", "3"}, {"note", "a \"quoted\" \\ value"}}));
  put("safetensors", "empty_tensor.safetensors",
      st::serialize({{"none", empty(Shape{0, 5}, DType::F32)}, {"one", from_vector<uint8_t>({7}, Shape{1})}}));
  put("safetensors", "conv_bn.safetensors",
      st::serialize({{"conv1.weight", ramp_f32(Shape{4, 3, 3, 3})},
                     {"bn1.weight", ramp_f32(Shape{4})},
                     {"bn1.bias", ramp_f32(Shape{4})},
                     {"bn1.running_mean", ramp_f32(Shape{4})},
                     {"bn1.running_var", ramp_f32(Shape{4})},
                     {"bn1.num_batches_tracked", from_vector<int64_t>({390}, Shape{})}}));
  // F16 (1.0, -2.0, inf, a subnormal) and BF16 (1.0, -0.5): serialize() writes neither.
  put("safetensors", "f16_bf16.safetensors",
      safetensors_by_hand(R"({"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
                          R"("__metadata__":{"format":"pt"}})",
                          std::string("\x00\x3c\x00\xc0\x00\x7c\x01\x00\x80\x3f\x00\xbf", 12)));
}

// ------------------------------------------------------------------ IDX, plain and gzip

std::string gzip_zlib(const std::string& data) {
#ifdef RETORT_WITH_ZLIB
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflate");
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(&out[0]);
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
#else
  return gzip_stored(data);
#endif
}

// A gzip member whose header carries the FNAME and FCOMMENT fields.
std::string gzip_with_name(const std::string& data, const std::string& name) {
  std::string member = gzip_stored(data);
  member[3] = 0x18;  // FNAME | FCOMMENT
  return member.substr(0, 10) + name + '\0' + "retort seed" + '\0' + member.substr(10);
}

void idx_seeds() {
  const std::string labels = idx_bytes({6}, {7, 2, 1, 0, 4, 9});
  const std::string images = idx_bytes({2, 4, 5}, ramp(40, 1));
  const std::string square = idx_bytes({1, 8, 8}, ramp(64, 2));
  put("idx", "labels-idx1-ubyte", labels);
  put("idx", "images-idx3-ubyte", images);
  put("idx", "square-idx3-ubyte", square);
  put("idx", "no-labels-idx1-ubyte", idx_bytes({0}, {}));
  put("idx", "no-images-idx3-ubyte", idx_bytes({0, 28, 28}, {}));

  put("idx_gzip", "labels-idx1-ubyte.gz", gzip_stored(labels));
  put("idx_gzip", "images-idx3-ubyte.gz", gzip_stored(images));
  put("idx_gzip", "square-idx3-ubyte.gz", gzip_zlib(square));
  put("idx_gzip", "labels-deflated-idx1-ubyte.gz", gzip_zlib(labels));
  put("idx_gzip", "named-idx1-ubyte.gz", gzip_with_name(labels, "t10k-labels-idx1-ubyte"));
  // Two members, as `cat a.gz b.gz` makes: one file split anywhere.
  put("idx_gzip", "two-members-idx3-ubyte.gz",
      gzip_stored(images.substr(0, 11)) + gzip_zlib(images.substr(11)));
}

// ------------------------------------------------------------------ CIFAR binary

void cifar_seeds() {
  put("cifar", "cifar10-one.bin", cifar_records({{3}}));
  put("cifar", "cifar10-two.bin", cifar_records({{9}, {0}}, 1));
  put("cifar", "cifar100-one.bin", cifar_records({{4, 42}}, 2));
}

// ------------------------------------------------------------------ images

#ifdef RETORT_HAVE_STB_WRITE
void append_to(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}
#endif

void image_seeds() {
  put("image", "grey.png", png_bytes(4, 3, 1, ramp(12, 3)));
  put("image", "grey_alpha.png", png_bytes(3, 3, 2, ramp(18, 4)));
  put("image", "rgb.png", png_bytes(5, 4, 3, ramp(60, 5)));
  put("image", "rgba.png", png_bytes(2, 2, 4, ramp(16, 6)));
  std::string p6 = "P6\n3 2\n255\n", p5 = "P5\n# a comment\n4 2\n255\n";
  for (uint8_t v : ramp(18, 7)) p6.push_back(static_cast<char>(v));
  for (uint8_t v : ramp(8, 8)) p5.push_back(static_cast<char>(v));
  put("image", "rgb.ppm", p6);
  put("image", "grey.pgm", p5);
  // The classic 1x1 GIF (a two-colour palette, LZW minimum code size 2).
  put("image", "one.gif", std::string("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00\x21\xf9\x04\x01\x00"
                                      "\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b",
                                      43));
#ifdef RETORT_HAVE_STB_WRITE
  const std::vector<uint8_t> rgb = ramp(8 * 8 * 3, 9), grey = ramp(8 * 8, 10);
  std::string s;
  stbi_write_png_to_func(append_to, &s, 8, 8, 3, rgb.data(), 8 * 3);
  put("image", "filtered.png", s);
  s.clear();
  stbi_write_jpg_to_func(append_to, &s, 8, 8, 3, rgb.data(), 90);
  put("image", "rgb.jpg", s);
  s.clear();
  stbi_write_jpg_to_func(append_to, &s, 8, 8, 1, grey.data(), 75);
  put("image", "grey.jpg", s);
  s.clear();
  stbi_write_bmp_to_func(append_to, &s, 4, 4, 3, rgb.data());
  put("image", "rgb.bmp", s);
  s.clear();
  stbi_write_tga_with_rle = 1;
  stbi_write_tga_to_func(append_to, &s, 4, 4, 4, rgb.data());
  put("image", "rle.tga", s);
  s.clear();
  stbi_write_tga_with_rle = 0;
  stbi_write_tga_to_func(append_to, &s, 4, 2, 1, grey.data());
  put("image", "grey.tga", s);
#endif
}

// ------------------------------------------------------------------ configs

void config_seeds() {
  put("yaml_config", "cskd.yaml",
      "# CIFAR-100, CSKD: resnet32x4 -> resnet8x4\n"
      "name: cskd-r32x4-r8x4\n"
      "seed: 1\n"
      "epochs: 240\n"
      "data:\n"
      "  train: cifar100:data/cifar-100-binary\n"
      "  batch_size: 64\n"
      "  drop_last: false\n"
      "model:\n"
      "  student: resnet8x4\n"
      "  teacher: resnet32x4\n"
      "  teacher_weights: \"teachers/resnet32x4.safetensors\"\n"
      "method:\n"
      "  name: cskd\n"
      "  T: 4    # the fixed temperature\n"
      "  T_low: 2\n"
      "optim:\n"
      "  name: sgd\n"
      "  lr: 0.05\n"
      "  weight_decay: 5e-4\n"
      "schedule:\n"
      "  kind: multistep\n"
      "  milestones: [150, 180, 210]\n"
      "  gamma: 0.1\n");
  put("yaml_config", "block_list.yaml",
      "---\n"
      "epochs: 90\n"
      "schedule:\n"
      "  kind: multistep\n"
      "  milestones:\n"
      "    - 30\n"
      "    - 60\n"
      "  warmup_epochs: 5\n"
      "optim:\n"
      "  name: adamw\n"
      "  beta2: 0.99\n"
      "  eps: 1e-6\n");
  put("yaml_config", "quoted.yaml",
      "name: 'it''s a run'\n"
      "out: \"runs/a \\\"b\\\" \\\\ c\\tend\"\n"
      "device: cpu\n"
      "data:\n"
      "  train: 'synthetic,classes=4,size=8,n=64'\n"
      "  test: ''\n"
      "model:\n"
      "  student: resnet8\n"
      "  student_weights:\n");
  put("yaml_config", "kd_cosine.yaml",
      "epochs: 3\n"
      "data:\n"
      "  train: fashion-mnist\n"
      "  train_subset: 1000\n"
      "model:\n"
      "  student: resnet8\n"
      "  teacher: resnet14\n"
      "  teacher_weights: runs/teacher/best.safetensors\n"
      "method:\n"
      "  name: kd\n"
      "schedule:\n"
      "  kind: cosine\n"
      "  min_lr: 0.0001\n");
  put("yaml_config", "defaults.yaml", distill::default_config().to_yaml());

  put("set_override", "optim.txt", "optim.lr=0.1\nepochs=3\nschedule.milestones=1,2\noptim.nesterov=true\n");
  put("set_override", "distill.txt",
      "method.name=kd\nmodel.teacher=resnet56\nmodel.teacher_weights=t.safetensors\nmethod.T=4\nmodel.student=resnet20\n");
  put("set_override", "data.txt",
      "data.train=synthetic,classes=4,size=8,n=64\nname = a b \ndata.workers=0\ndata.test_subset=100\nseed=7\n");
  put("set_override", "cosine.txt",
      "schedule.kind=cosine\nschedule.warmup_epochs=5\noptim.name=adamw\noptim.beta2=0.99\nschedule.milestones=\n");
}

// ------------------------------------------------------------------ dictionaries

// A libFuzzer dictionary: one quoted token a line, bytes outside printable ASCII as \xNN.
void put_dict(const std::string& target, const std::vector<std::string>& tokens) {
  std::string out = "# libFuzzer dictionary of fuzz_" + target + ", written by tests/fuzz/gen/make_corpus.cpp\n";
  for (const std::string& t : tokens) {
    out += '"';
    for (unsigned char c : t) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c >= 0x7f) {
        char hex[5];
        std::snprintf(hex, sizeof(hex), "\\x%02X", c);
        out += hex;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += "\"\n";
  }
  write_bytes(g_root + "/dict/" + target + ".dict", out);
}

void dictionaries() {
  put_dict("safetensors", {"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F16\"",
                           "\"BF16\"", "\"I64\"", "\"U8\"", "\"F64\"", "[0,0]", "[]", "{}", "null", "true",
                           "18446744073709551615", "9223372036854775807", "4294967296", "-1", "1e9", "\\u0000"});
  put_dict("image", {"\x89PNG\r\n\x1a\n", "IHDR", "IDAT", "IEND", "PLTE", "tRNS", "CgBI", "GIF87a", "GIF89a",
                     "\x21\xf9\x04", "\x2c", "\xff\xd8\xff", "\xff\xc0", "\xff\xc2", "\xff\xc4", "\xff\xda",
                     "\xff\xdb", "\xff\xdd", "\xff\xd9", "BM", "P5", "P6", "65535", "\xff\xff\xff\x7f"});
  std::vector<std::string> keys = {": ", ":\n", "- ", "  ", "\n  ", "[", "]", ", ", "#", "'", "\"", "\\",
                                   "---", "true", "false", "1e308", "-1", "2147483648", "nan", "inf"};
  for (const distill::ConfigKey& k : distill::config_schema()) keys.push_back(k.key);
  for (const char* extra : {"method.T", "method.alpha", "kd", "cskd", "resnet8", "resnet32x4", "cosine",
                            "multistep", "adamw"})
    keys.push_back(extra);
  put_dict("yaml_config", keys);
  keys.push_back("=");
  put_dict("set_override", keys);
}

}  // namespace
}  // namespace retort

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR  (writes DIR/corpus/<target>/ and DIR/dict/, normally DIR = tests/fuzz)\n",
                 argv[0]);
    return 2;
  }
  try {
    retort::g_root = argv[1];
    retort::safetensors_seeds();
    retort::idx_seeds();
    retort::cifar_seeds();
    retort::image_seeds();
    retort::config_seeds();
    retort::dictionaries();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
