#include <gtest/gtest.h>

#include "data/decode.h"
#include "data/spec.h"
#include "data/stats.h"
#include "data/synthetic.h"
#include "tests/data/data_files.h"

namespace retort {
namespace {

using testing::cifar_records;
using testing::idx_bytes;
using testing::png_bytes;
using testing::TempDir;
using testing::write_bytes;

TEST(DataSpec, ParsesKindPathAndOptions) {
  data::DataSpec s = data::DataSpec::parse("cifar100:/data/c100,labels=coarse,cache=64");
  EXPECT_EQ(s.kind, "cifar100");
  EXPECT_EQ(s.path, "/data/c100");
  EXPECT_EQ(s.get("labels", ""), "coarse");
  EXPECT_EQ(s.get("cache", ""), "64");
  EXPECT_EQ(s.get("absent", "x"), "x");
  s = data::DataSpec::parse("synthetic:classes=3,n=9");
  EXPECT_EQ(s.path, "");
  EXPECT_EQ(s.get("n", ""), "9");
  s = data::DataSpec::parse("fashion-mnist");
  EXPECT_EQ(s.kind, "fashion-mnist");
  EXPECT_TRUE(s.options.empty());
  EXPECT_EQ(data::DataSpec::parse("imagefolder:/a:b/c").path, "/a:b/c");
  EXPECT_ERROR_WITH(data::DataSpec::parse(""), "expected KIND");
  EXPECT_ERROR_WITH(data::DataSpec::parse("cifar10:"), "nothing after ':'");
  EXPECT_ERROR_WITH(data::DataSpec::parse("cifar10:/d,,labels=x"), "empty item");
  EXPECT_ERROR_WITH(data::DataSpec::parse("cifar10:/d,coarse"), "expected KEY=VALUE, found 'coarse'");
  EXPECT_ERROR_WITH(data::DataSpec::parse("cifar10:/d,=3"), "expected KEY=VALUE");
  EXPECT_ERROR_WITH(data::DataSpec::parse("synthetic:n=1,n=2"), "given twice");
}

TEST(DataSpec, UnknownKindsOptionsAndMissingDirectories) {
  EXPECT_ERROR_WITH(data::open_dataset("nope:x", data::Split::Train), "unknown kind 'nope'", "cifar10");
  EXPECT_ERROR_WITH(data::open_dataset("synthetic:bogus=1", data::Split::Train), "unknown option 'bogus'", "classes");
  EXPECT_ERROR_WITH(data::open_dataset("synthetic:/some/path", data::Split::Train), "takes no path");
  EXPECT_ERROR_WITH(data::open_dataset("synthetic:n=0", data::Split::Train), "option n", "found '0'");
  EXPECT_ERROR_WITH(data::open_dataset("synthetic:size=abc", data::Split::Train), "option size");
  EXPECT_ERROR_WITH(data::open_dataset("mnist", data::Split::Train), "expected a directory");
  TempDir tmp;
  for (const char* kind : {"cifar10", "cifar100", "imagefolder", "mnist", "fashion-mnist"})
    EXPECT_ERROR_WITH(data::open_dataset(std::string(kind) + ":" + (tmp / "missing"), data::Split::Train),
                      tmp / "missing", "does not exist");
  EXPECT_ERROR_WITH(data::open_dataset("cifar100:" + tmp.path() + ",labels=medium", data::Split::Train),
                    "labels expects fine or coarse");
  EXPECT_ERROR_WITH(data::open_dataset("imagefolder:" + tmp.path() + ",recipe=fancy", data::Split::Train),
                    "recipe expects");
  EXPECT_ERROR_WITH(data::open_dataset("imagefolder:" + tmp.path() + ",norm=fancy", data::Split::Train),
                    "normalisation");
  EXPECT_ERROR_WITH(data::open_dataset("imagefolder:" + tmp.path() + ",size=3x", data::Split::Train), "N or HxW");
}

TEST(DataSpec, CifarBinaryAndFolderForms) {
  TempDir tmp;
  for (int b = 1; b <= 5; ++b) write_bytes(tmp / ("data_batch_" + std::to_string(b) + ".bin"), cifar_records({{1}}));
  write_bytes(tmp / "test_batch.bin", cifar_records({{2}, {3}}));
  data::DataSource src = data::open_dataset("cifar10:" + tmp.path(), data::Split::Test);
  EXPECT_EQ(src.dataset->size(), 2);
  EXPECT_EQ(src.recipe.name, "cifar");
  EXPECT_EQ(src.recipe.train.output_shape({32, 32, 3}), (data::ImageShape{32, 32, 3}));
  EXPECT_EQ(src.transform("default").describe(), src.recipe.test.describe());
  EXPECT_NE(src.recipe.train.describe().find("random_crop(32x32, pad 4) -> hflip(p 0.5) -> normalize(mean 0.4914"),
            std::string::npos)
      << src.recipe.train.describe();
  EXPECT_NE(src.recipe.strong.describe().find("hflip(p 0.5) -> randaugment(2 of 14"), std::string::npos);
  EXPECT_NE(src.recipe.strong.describe().find("cutout"), std::string::npos);
  EXPECT_ERROR_WITH(src.transform("fancy"), "expected default, train, test, strong or none");

  if (!data::have_stb()) GTEST_SKIP() << "this build lacks stb_image";
  TempDir jpg;  // the CIFAR-10 JPEG layout, with PNGs of another size (resized to 32x32)
  for (const char* split : {"train", "test"})
    for (int k = 0; k < 10; ++k)
      write_bytes(jpg / (std::string(split) + "/class" + std::to_string(k) + "/0.png"),
                  png_bytes(16, 16, 3, std::vector<uint8_t>(16 * 16 * 3, static_cast<uint8_t>(k))));
  src = data::open_dataset("cifar10:" + jpg.path(), data::Split::Train);
  EXPECT_EQ(src.dataset->size(), 10);
  EXPECT_EQ(src.dataset->image_shape(), (data::ImageShape{32, 32, 3}));
  EXPECT_FLOAT_EQ(src.dataset->normalization().mean[0], 0.4914f);
  EXPECT_EQ(src.dataset->label(7), 7);
  EXPECT_ERROR_WITH(data::open_dataset("cifar100:" + jpg.path(), data::Split::Train), "10 class folders",
                    "expected 100");
}

TEST(DataSpec, IdxAndImageFolderRecipes) {
  TempDir tmp;
  write_bytes(tmp / "t10k-images-idx3-ubyte", idx_bytes({2, 28, 28}, std::vector<uint8_t>(2 * 784, 9)));
  write_bytes(tmp / "t10k-labels-idx1-ubyte", idx_bytes({2}, {4, 5}));
  data::DataSource src = data::open_dataset("mnist:" + tmp.path(), data::Split::Test);
  EXPECT_EQ(src.dataset->size(), 2);
  EXPECT_TRUE(src.recipe.train.ops().empty());
  src = data::open_dataset("fashion-mnist:" + tmp.path() + ",augment=crop", data::Split::Test);
  EXPECT_EQ(src.recipe.train.ops().size(), 1u);
  EXPECT_NE(src.recipe.train.describe().find("random_crop(28x28, pad 4)"), std::string::npos);
  EXPECT_FLOAT_EQ(src.dataset->normalization().mean[0], 0.2860f);

  if (!data::have_stb()) GTEST_SKIP() << "this build lacks stb_image";
  write_bytes(tmp / "tree/val/cat/a.png", png_bytes(20, 10, 3, std::vector<uint8_t>(600, 1)));
  write_bytes(tmp / "tree/train/cat/a.png", png_bytes(20, 10, 3, std::vector<uint8_t>(600, 1)));
  src = data::open_dataset("imagefolder:" + (tmp / "tree"), data::Split::Test);  // test falls back to val/
  EXPECT_EQ(src.recipe.name, "imagenet");
  EXPECT_FLOAT_EQ(src.dataset->normalization().mean[0], 0.485f);
  EXPECT_EQ(src.recipe.train.output_shape({10, 20, 3}), (data::ImageShape{224, 224, 3}));
  EXPECT_NE(src.recipe.test.describe().find("resize(shorter side 256) -> center_crop(224x224)"), std::string::npos);
  src = data::open_dataset("imagefolder:" + (tmp / "tree") + ",recipe=cifar,size=8x8,crop=8,norm=cifar100,channels=1",
                           data::Split::Train);
  EXPECT_EQ(src.dataset->image_shape(), (data::ImageShape{8, 8, 1}));
  EXPECT_EQ(src.dataset->normalization().mean.size(), 1u);  // colour constants averaged for grey
  EXPECT_EQ(src.recipe.train.output_shape(src.dataset->image_shape()), (data::ImageShape{8, 8, 1}));
  src = data::open_dataset("imagefolder:" + (tmp / "tree") + ",recipe=tiny-imagenet", data::Split::Train);
  EXPECT_NE(src.recipe.train.describe().find("random_rotation(+-20 deg)"), std::string::npos);
  EXPECT_FLOAT_EQ(src.dataset->normalization().mean[0], 0.4802f);
}

TEST(Synthetic, DeterministicBalancedAndSplitDependent) {
  data::SyntheticOptions o;
  o.classes = 4, o.size = 6, o.channels = 3, o.n = 10, o.seed = 5;
  const data::SyntheticDataset train(o, data::Split::Train), again(o, data::Split::Train), test(o, data::Split::Test);
  EXPECT_EQ(train.size(), 10);
  EXPECT_EQ(train.num_classes(), 4);
  EXPECT_EQ(train.label(6), 2);
  data::Image a, b;
  train.load(3, a);
  again.load(3, b);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.shape(), (data::ImageShape{6, 6, 3}));
  test.load(3, b);
  EXPECT_NE(a.pixels, b.pixels);
  train.load(4, b);
  EXPECT_NE(a.pixels, b.pixels);
  o.channels = 1;
  data::SyntheticDataset grey(o, data::Split::Train);
  grey.load(0, b);
  EXPECT_EQ(b.channels, 1);
  EXPECT_ERROR_WITH(data::open_dataset("synthetic:channels=2", data::Split::Train), "channels 1 or 3");
  const data::DataSource src = data::open_dataset("synthetic:classes=10,size=32,channels=3,n=512", data::Split::Train);
  EXPECT_EQ(src.dataset->size(), 512);
  EXPECT_EQ(src.dataset->num_classes(), 10);
}

TEST(Stats, ExactMeanStdAndCountsForAnyThreadCount) {
  TempDir tmp;
  write_bytes(tmp / "train-images-idx3-ubyte", idx_bytes({4, 1, 2}, {0, 255, 0, 255, 0, 255, 0, 255}));
  write_bytes(tmp / "train-labels-idx1-ubyte", idx_bytes({4}, {1, 1, 3, 9}));
  const data::DataSource src = data::open_dataset("mnist:" + tmp.path(), data::Split::Train);
  for (int threads : {1, 3}) {
    const data::SplitStats s = data::compute_stats(*src.dataset, threads);
    EXPECT_EQ(s.samples, 4);
    EXPECT_EQ(s.class_counts, (std::vector<int64_t>{0, 2, 0, 1, 0, 0, 0, 0, 0, 1}));
    ASSERT_EQ(s.mean.size(), 1u);
    EXPECT_DOUBLE_EQ(s.mean[0], 0.5);
    EXPECT_DOUBLE_EQ(s.std[0], 0.5);
    EXPECT_EQ(s.min_height, 1);
    EXPECT_EQ(s.max_width, 2);
  }
}

}  // namespace
}  // namespace retort
