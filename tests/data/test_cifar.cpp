#include <gtest/gtest.h>

#include "data/cifar.h"
#include "tests/data/data_files.h"

namespace retort {
namespace {

using testing::cifar_pixel;
using testing::cifar_records;
using testing::TempDir;
using testing::write_bytes;

// Five training batches of 2 records each and a test batch of 3.
void write_cifar10(const std::string& dir) {
  for (int b = 1; b <= 5; ++b)
    write_bytes(dir + "/data_batch_" + std::to_string(b) + ".bin",
                cifar_records({{static_cast<uint8_t>(b)}, {static_cast<uint8_t>(9 - b)}}, 2 * (b - 1)));
  write_bytes(dir + "/test_batch.bin", cifar_records({{3}, {0}, {9}}));
}

TEST(Cifar10, ReadsAllBatchesAndInterleavesPlanarPixels) {
  TempDir tmp;
  write_cifar10(tmp.path());
  auto train = data::load_cifar10(tmp.path(), data::Split::Train);
  ASSERT_EQ(train->size(), 10);
  EXPECT_EQ(train->image_shape(), (data::ImageShape{32, 32, 3}));
  EXPECT_EQ(train->classes(), data::cifar10_classes());
  EXPECT_EQ(train->label(0), 1);
  EXPECT_EQ(train->label(1), 8);
  EXPECT_EQ(train->label(8), 5);
  EXPECT_EQ(train->label(9), 4);
  data::Image img;
  for (int r : {0, 3, 9}) {
    train->load(r, img);
    for (int y : {0, 17, 31})
      for (int x : {0, 5, 31})
        for (int c = 0; c < 3; ++c) ASSERT_EQ(img.at(y, x, c), cifar_pixel(r, y, x, c)) << r << " " << y << " " << x;
  }
  auto test = data::load_cifar10(tmp.path(), data::Split::Test);
  ASSERT_EQ(test->size(), 3);
  EXPECT_EQ(test->label(2), 9);
  EXPECT_FLOAT_EQ(test->normalization().mean[0], 0.4914f);
  EXPECT_FLOAT_EQ(test->normalization().std[2], 0.2616f);
}

TEST(Cifar10, FindsTheTarballFolderAndItsClassNames) {
  TempDir tmp;
  const std::string dir = tmp / "cifar-10-batches-bin";
  write_cifar10(dir);
  write_bytes(dir + "/batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n");
  auto test = data::load_cifar10(tmp.path(), data::Split::Test);
  EXPECT_EQ(test->size(), 3);
  EXPECT_EQ(test->classes()[9], "j");
}

TEST(Cifar100, FineLabelsByDefaultCoarseOnRequest) {
  TempDir tmp;
  write_bytes(tmp / "train.bin", cifar_records({{19, 99}, {0, 42}}));
  write_bytes(tmp / "test.bin", cifar_records({{7, 5}}));
  auto fine = data::load_cifar100(tmp.path(), data::Split::Train, false);
  ASSERT_EQ(fine->size(), 2);
  EXPECT_EQ(fine->num_classes(), 100);
  EXPECT_EQ(fine->label(0), 99);
  EXPECT_EQ(fine->label(1), 42);
  EXPECT_EQ(fine->classes()[99], "worm");
  EXPECT_FLOAT_EQ(fine->normalization().mean[0], 0.5071f);
  data::Image img;
  fine->load(1, img);
  EXPECT_EQ(img.at(4, 9, 2), cifar_pixel(1, 4, 9, 2));
  auto coarse = data::load_cifar100(tmp.path(), data::Split::Train, true);
  EXPECT_EQ(coarse->num_classes(), 20);
  EXPECT_EQ(coarse->label(0), 19);
  EXPECT_EQ(coarse->classes()[19], "vehicles_2");
  EXPECT_EQ(data::load_cifar100(tmp.path(), data::Split::Test, false)->label(0), 5);
  EXPECT_EQ(data::cifar100_fine_classes().size(), 100u);
  EXPECT_EQ(data::cifar100_coarse_classes().size(), 20u);
}

TEST(CifarErrors, TruncatedFileNamesTheFileAndTheRecordSize) {
  TempDir tmp;
  write_cifar10(tmp.path());
  std::string bytes = cifar_records({{1}, {2}});
  bytes.resize(bytes.size() - 100);
  write_bytes(tmp / "data_batch_4.bin", bytes);
  EXPECT_ERROR_WITH(data::load_cifar10(tmp.path(), data::Split::Train), tmp / "data_batch_4.bin",
                    "not a whole number of 3073-byte records", "truncated");
  // The test split does not read the bad file.
  EXPECT_EQ(data::load_cifar10(tmp.path(), data::Split::Test)->size(), 3);
}

TEST(CifarErrors, RecordCountMustMatchTheFileSize) {
  TempDir tmp;
  // A CIFAR-10 file read as CIFAR-100: 3073-byte records are not 3074-byte ones.
  write_bytes(tmp / "train.bin", cifar_records({{1}, {2}, {3}}));
  EXPECT_ERROR_WITH(data::load_cifar100(tmp.path(), data::Split::Train, false), tmp / "train.bin",
                    "3074-byte records");
}

TEST(CifarErrors, EmptyFile) {
  TempDir tmp;
  write_cifar10(tmp.path());
  write_bytes(tmp / "test_batch.bin", "");
  EXPECT_ERROR_WITH(data::load_cifar10(tmp.path(), data::Split::Test), tmp / "test_batch.bin", "empty file");
}

TEST(CifarErrors, LabelOutOfRange) {
  TempDir tmp;
  write_cifar10(tmp.path());
  write_bytes(tmp / "test_batch.bin", cifar_records({{3}, {10}}));
  EXPECT_ERROR_WITH(data::load_cifar10(tmp.path(), data::Split::Test), tmp / "test_batch.bin", "label 10 of record 1",
                    "[0, 10)");
  write_bytes(tmp / "train.bin", cifar_records({{20, 1}}));
  EXPECT_ERROR_WITH(data::load_cifar100(tmp.path(), data::Split::Train, true), "label 20 of record 0", "[0, 20)");
  write_bytes(tmp / "train.bin", cifar_records({{2, 100}}));
  EXPECT_ERROR_WITH(data::load_cifar100(tmp.path(), data::Split::Train, false), "label 100 of record 0");
}

TEST(CifarErrors, MissingBatchMissingDirectoryAndPickleVersion) {
  TempDir tmp;
  write_cifar10(tmp.path());
  std::filesystem::remove(tmp / "data_batch_3.bin");
  EXPECT_ERROR_WITH(data::load_cifar10(tmp.path(), data::Split::Train), "missing", tmp / "data_batch_3.bin");
  EXPECT_ERROR_WITH(data::load_cifar10(tmp / "nope", data::Split::Train), tmp / "nope", "does not exist");
  TempDir py;
  write_bytes(py / "data_batch_1", "pickle");
  EXPECT_ERROR_WITH(data::load_cifar10(py.path(), data::Split::Train), "Python (pickle) version");
  EXPECT_ERROR_WITH(data::load_cifar100(py.path(), data::Split::Train, false), "neither train.bin");
}

}  // namespace
}  // namespace retort
