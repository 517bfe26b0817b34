#include <gtest/gtest.h>

#include <algorithm>

#include "data/gzip.h"
#include "data/idx.h"
#include "data/paths.h"
#include "tests/data/data_files.h"

namespace retort {
namespace {

using testing::gzip_stored;
using testing::idx_bytes;
using testing::TempDir;
using testing::write_bytes;

std::vector<uint8_t> ramp(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 3 + 1);
  return v;
}

// Three 4x5 images and their labels.
void write_mnist(const std::string& dir, const std::string& prefix, bool gz) {
  std::string images = idx_bytes({3, 4, 5}, ramp(60)), labels = idx_bytes({3}, {7, 0, 9});
  const std::string ext = gz ? ".gz" : "";
  write_bytes(dir + "/" + prefix + "-images-idx3-ubyte" + ext, gz ? gzip_stored(images) : images);
  write_bytes(dir + "/" + prefix + "-labels-idx1-ubyte" + ext, gz ? gzip_stored(labels) : labels);
}

TEST(Idx, ReadsImagesAndLabels) {
  TempDir tmp;
  write_mnist(tmp.path(), "train", false);
  auto ds = data::load_idx(tmp / "train-images-idx3-ubyte", tmp / "train-labels-idx1-ubyte", "t",
                           data::mnist_classes(), data::standard_normalization("mnist"));
  ASSERT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->image_shape(), (data::ImageShape{4, 5, 1}));
  EXPECT_EQ(ds->label(0), 7);
  EXPECT_EQ(ds->label(2), 9);
  data::Image img;
  ds->load(1, img);
  const std::vector<uint8_t> all = ramp(60);
  EXPECT_EQ(img.pixels, std::vector<uint8_t>(all.begin() + 20, all.begin() + 40));
  EXPECT_EQ(img.at(2, 3, 0), all[20 + 2 * 5 + 3]);
}

TEST(Idx, GzipCompressedFiles) {
  TempDir tmp;
  write_mnist(tmp.path(), "t10k", true);
  if (!data::have_zlib()) {
    EXPECT_ERROR_WITH(data::load_mnist(tmp.path(), data::Split::Test, false), "lacks zlib");
    return;
  }
  auto ds = data::load_mnist(tmp.path(), data::Split::Test, false);
  ASSERT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->label(1), 0);
  data::Image img;
  ds->load(2, img);
  EXPECT_EQ(img.pixels.front(), ramp(60)[40]);
  // A stream cut short is a clear error naming the file, never a short read.
  std::string gz = gzip_stored(idx_bytes({3, 4, 5}, ramp(60)));
  gz.resize(gz.size() - 30);
  write_bytes(tmp / "t10k-images-idx3-ubyte.gz", gz);
  EXPECT_ERROR_WITH(data::load_mnist(tmp.path(), data::Split::Test, false), tmp / "t10k-images-idx3-ubyte.gz",
                    "truncated gzip");
  // Corrupt data.
  std::string bad = gzip_stored(idx_bytes({3}, {1, 2, 3}));
  bad[10] = 0x07;  // an invalid deflate block type
  write_bytes(tmp / "t10k-labels-idx1-ubyte.gz", bad);
  write_mnist(tmp.path(), "t10k", true);
  write_bytes(tmp / "t10k-labels-idx1-ubyte.gz", bad);
  EXPECT_ERROR_WITH(data::load_mnist(tmp.path(), data::Split::Test, false), tmp / "t10k-labels-idx1-ubyte.gz",
                    "gzip");
}

TEST(Idx, FindsTheTorchvisionAndNpmLayouts) {
  TempDir tmp;
  write_mnist(tmp / "raw", "train", false);
  EXPECT_EQ(data::load_mnist(tmp.path(), data::Split::Train, true)->size(), 3);
  TempDir npm;
  write_mnist(npm / "package/data", "t10k", false);
  auto ds = data::load_mnist(npm.path(), data::Split::Test, false);
  EXPECT_EQ(ds->num_classes(), 10);
  EXPECT_FLOAT_EQ(ds->normalization().mean[0], 0.1307f);
}

TEST(IdxErrors, WrongMagic) {
  TempDir tmp;
  write_mnist(tmp.path(), "train", false);
  // Labels where images belong: magic 0x00000801, not 0x00000803.
  std::filesystem::copy_file(tmp / "train-labels-idx1-ubyte", tmp / "train-images-idx3-ubyte",
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_ERROR_WITH(data::load_mnist(tmp.path(), data::Split::Train, false), tmp / "train-images-idx3-ubyte",
                    "wrong IDX magic 0x00000801", "expected 0x00000803");
  // Not IDX at all.
  write_bytes(tmp / "train-images-idx3-ubyte", "GIF89a....");
  EXPECT_ERROR_WITH(data::read_idx(tmp / "train-images-idx3-ubyte", 3), "wrong IDX magic 0x47494638");
  // A float IDX (type 0x0d) is not unsigned bytes.
  std::string f = idx_bytes({1}, {0, 0, 0, 0});
  f[2] = 0x0d;
  write_bytes(tmp / "f", f);
  EXPECT_ERROR_WITH(data::read_idx(tmp / "f", 1), "wrong IDX magic 0x00000d01");
}

TEST(IdxErrors, TruncatedHeaderDataAndTrailingBytes) {
  TempDir tmp;
  write_bytes(tmp / "a", std::string("\0\0", 2));
  EXPECT_ERROR_WITH(data::read_idx(tmp / "a", 1), tmp / "a", "truncated IDX file: 2 bytes");
  write_bytes(tmp / "b", idx_bytes({3, 4, 5}, {}).substr(0, 10));
  EXPECT_ERROR_WITH(data::read_idx(tmp / "b", 3), tmp / "b", "the header of 3 dimensions needs 16");
  std::string c = idx_bytes({3, 4, 5}, ramp(60));
  c.resize(c.size() - 1);
  write_bytes(tmp / "c", c);
  EXPECT_ERROR_WITH(data::read_idx(tmp / "c", 3), tmp / "c", "truncated IDX file", "3 x 4 x 5 = 60 values");
  write_bytes(tmp / "d", idx_bytes({2}, {1, 2, 3}));
  EXPECT_ERROR_WITH(data::read_idx(tmp / "d", 1), tmp / "d", "1 trailing bytes");
  write_bytes(tmp / "e", "");
  EXPECT_ERROR_WITH(data::read_idx(tmp / "e", 1), tmp / "e", "0 bytes");
}

// Declared sizes are checked before anything is allocated.
TEST(IdxLimits, DimensionsWhoseProductOverflowsAreRefused) {
  // 2^31 x 2^31 x 4 = 2^64 wraps to 0 in 64 bits: without the check, a
  // 16-byte file would "hold" 2^64 values.
  EXPECT_ERROR_WITH(data::parse_idx(idx_bytes({1u << 31, 1u << 31, 4}, {}), "wrap", 3), "wrap: the IDX header declares",
                    "2147483648 x 2147483648 x 4 values, a count that overflows");
  EXPECT_ERROR_WITH(data::parse_idx(idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, {}), "max", 3),
                    "max: the IDX header declares 4294967295 x 4294967295 x 4294967295 values",
                    "overflows");
  // A zero dimension makes an empty but valid file.
  EXPECT_EQ(data::parse_idx(idx_bytes({0, 28, 28}, {}), "empty", 3).values.size(), 0u);
}

TEST(IdxLimits, DeclaredCountBeyondThePlainFileIsRefused) {
  EXPECT_ERROR_WITH(data::parse_idx(idx_bytes({0xffffffffu}, {1, 2, 3}), "labels", 1),
                    "labels: truncated IDX file: the header promises 4294967295 = 4294967295 values "
                    "(4294967303 bytes), the file holds 11 bytes");
}

TEST(IdxLimits, GzipDataMayNotDecompressBeyondTheDeclaredSize) {
  if (!data::have_zlib()) GTEST_SKIP() << "this build lacks zlib";
  // Three labels declared, 4 MB of zeros behind them: the bomb stops at the
  // declared 11 bytes (+1 to tell "more"), not after inflating it all.
  const std::string bomb = gzip_stored(idx_bytes({3}, {1, 2, 3}) + std::string(4 << 20, '\0'));
  EXPECT_ERROR_WITH(data::parse_idx(bomb, "bomb.gz", 1),
                    "bomb.gz: gzip data decompresses to more than the 11 bytes expected");
  // The same declared size, honest data: read from memory, as from a file.
  const data::IdxArray a = data::parse_idx(gzip_stored(idx_bytes({3}, {1, 2, 3})), "ok.gz", 1);
  EXPECT_EQ(a.values, (std::vector<uint8_t>{1, 2, 3}));
  // The header is read from the start of the stream alone.
  EXPECT_ERROR_WITH(data::parse_idx(gzip_stored(idx_bytes({5}, {1, 2})), "short.gz", 1),
                    "short.gz: truncated IDX file: the header promises 5 = 5 values (13 bytes), the file holds 10 bytes");
}

TEST(Gzip, OutputCapAndPrefix) {
  if (!data::have_zlib()) GTEST_SKIP() << "this build lacks zlib";
  const std::string text = "retort reads gzip data up to a cap";
  const std::string gz = gzip_stored(text);
  EXPECT_EQ(data::gunzip(gz, "t.gz", text.size()), text);
  EXPECT_ERROR_WITH(data::gunzip(gz, "t.gz", text.size() - 1),
                    "t.gz: gzip data decompresses to more than the 33 bytes expected");
  EXPECT_EQ(data::gunzip_prefix(gz, "t.gz", 6), "retort");
  EXPECT_EQ(data::gunzip_prefix(gz, "t.gz", 1000), text);
  EXPECT_ERROR_WITH(data::gunzip_prefix(gz.substr(0, 30), "cut.gz", 1000), "cut.gz: truncated gzip data");
}

TEST(IdxErrors, CountMismatchAndLabelOutOfRange) {
  TempDir tmp;
  write_bytes(tmp / "train-images-idx3-ubyte", idx_bytes({3, 4, 5}, ramp(60)));
  write_bytes(tmp / "train-labels-idx1-ubyte", idx_bytes({2}, {1, 2}));
  EXPECT_ERROR_WITH(data::load_mnist(tmp.path(), data::Split::Train, false), "holds 3 images",
                    tmp / "train-labels-idx1-ubyte", "holds 2 labels");
  write_bytes(tmp / "train-labels-idx1-ubyte", idx_bytes({3}, {1, 10, 2}));
  EXPECT_ERROR_WITH(data::load_mnist(tmp.path(), data::Split::Train, false), tmp / "train-labels-idx1-ubyte",
                    "label 10 of record 1", "[0, 10)");
}

TEST(IdxErrors, MissingDirectoryAndFiles) {
  TempDir tmp;
  EXPECT_ERROR_WITH(data::load_mnist(tmp / "absent", data::Split::Train, false), tmp / "absent", "does not exist");
  EXPECT_ERROR_WITH(data::load_mnist(tmp.path(), data::Split::Train, true), "fashion-mnist", tmp.path(),
                    "train-images-idx3-ubyte");
  write_bytes(tmp / "train-images-idx3-ubyte", idx_bytes({1, 1, 1}, {0}));
  EXPECT_ERROR_WITH(data::load_mnist(tmp.path(), data::Split::Train, false), "train-labels-idx1-ubyte");
}

// The real Fashion-MNIST files of Debian's dataset-fashion-mnist package.
TEST(FashionMnist, RealFilesWhenInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!data::is_file(dir + "/train-labels-idx1-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  if (!data::have_zlib()) GTEST_SKIP() << "this build lacks zlib";
  auto train = data::load_mnist(dir, data::Split::Train, true);
  auto test = data::load_mnist(dir, data::Split::Test, true);
  EXPECT_EQ(train->size(), 60000);
  EXPECT_EQ(test->size(), 10000);
  EXPECT_EQ(train->image_shape(), (data::ImageShape{28, 28, 1}));
  EXPECT_EQ(train->label(0), 9);
  EXPECT_EQ(train->classes()[9], "Ankle boot");
  int64_t lo = 10, hi = -1;
  for (int64_t i = 0; i < train->size(); ++i) lo = std::min(lo, train->label(i)), hi = std::max(hi, train->label(i));
  for (int64_t i = 0; i < test->size(); ++i) lo = std::min(lo, test->label(i)), hi = std::max(hi, test->label(i));
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 9);
}

}  // namespace
}  // namespace retort
