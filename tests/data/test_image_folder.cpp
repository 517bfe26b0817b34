#include <gtest/gtest.h>

#include "data/decode.h"
#include "data/image_folder.h"
#include "data/resize.h"
#include "tests/data/data_files.h"

#if __has_include(<stb/stb_image_write.h>)
#define RETORT_TEST_HAVE_JPEG_WRITER 1
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>  // implemented in stb_image_write_impl.cpp
#endif

namespace retort {
namespace {

using testing::png_bytes;
using testing::TempDir;
using testing::write_bytes;

std::vector<uint8_t> pattern(int w, int h, int c, int seed) {
  std::vector<uint8_t> v(static_cast<size_t>(w) * h * c);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return v;
}

#define SKIP_WITHOUT_STB()                                                      \
  if (!data::have_stb()) GTEST_SKIP() << "this build lacks stb_image"

TEST(ImageFolder, PngClassesSortedGreyPromotedAlphaDropped) {
  SKIP_WITHOUT_STB();
  TempDir tmp;
  // Classes and files are sorted by name, whatever order they were written in.
  write_bytes(tmp / "zebra/b.png", png_bytes(3, 2, 3, pattern(3, 2, 3, 1)));
  write_bytes(tmp / "zebra/a.PNG", png_bytes(3, 2, 3, pattern(3, 2, 3, 2)));
  write_bytes(tmp / "ant/grey.png", png_bytes(3, 2, 1, pattern(3, 2, 1, 3)));
  write_bytes(tmp / "ant/rgba.png", png_bytes(3, 2, 4, pattern(3, 2, 4, 4)));
  write_bytes(tmp / "ant/notes.txt", "not an image");
  write_bytes(tmp / "ant/._grey.png", "AppleDouble junk");
  data::ImageFolder ds(tmp.path(), "t", data::standard_normalization("imagenet"));
  ASSERT_EQ(ds.size(), 4);
  EXPECT_EQ(ds.classes(), (std::vector<std::string>{"ant", "zebra"}));
  EXPECT_EQ(ds.label(0), 0);
  EXPECT_EQ(ds.label(3), 1);
  EXPECT_EQ(ds.path(0), tmp / "ant/grey.png");
  EXPECT_EQ(ds.path(2), tmp / "zebra/a.PNG");
  EXPECT_FALSE(ds.image_shape().fixed());
  EXPECT_EQ(ds.image_shape().channels, 3);

  data::Image img;
  ds.load(0, img);  // grey -> RGB: each channel the grey value
  ASSERT_EQ(img.shape(), (data::ImageShape{2, 3, 3}));
  const std::vector<uint8_t> g = pattern(3, 2, 1, 3);
  for (int i = 0; i < 6; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(img.pixels[3 * i + c], g[i]);
  ds.load(1, img);  // RGBA -> RGB
  const std::vector<uint8_t> rgba = pattern(3, 2, 4, 4);
  for (int i = 0; i < 6; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(img.pixels[3 * i + c], rgba[4 * i + c]);
  ds.load(2, img);  // RGB, lossless
  EXPECT_EQ(img.pixels, pattern(3, 2, 3, 2));
}

TEST(ImageFolder, ResizeOnLoadAndGreyOutput) {
  SKIP_WITHOUT_STB();
  TempDir tmp;
  write_bytes(tmp / "a/x.png", png_bytes(4, 4, 3, pattern(4, 4, 3, 5)));
  write_bytes(tmp / "b/y.png", png_bytes(2, 2, 3, pattern(2, 2, 3, 6)));
  data::ImageFolderOptions o;
  o.height = 2, o.width = 2;
  data::ImageFolder ds(tmp.path(), "t", {}, o);
  EXPECT_EQ(ds.image_shape(), (data::ImageShape{2, 2, 3}));
  data::Image img, decoded, expected;
  ds.load(0, img);
  data::read_image(tmp / "a/x.png", 3, decoded);
  data::resize_bilinear(decoded, 2, 2, expected);
  EXPECT_EQ(img.pixels, expected.pixels);
  ds.load(1, img);  // already 2x2: untouched
  EXPECT_EQ(img.pixels, pattern(2, 2, 3, 6));

  data::ImageFolderOptions grey;
  grey.channels = 1;
  data::ImageFolder g(tmp.path(), "t", {}, grey);
  g.load(1, img);
  ASSERT_EQ(img.channels, 1);
  const std::vector<uint8_t> p = pattern(2, 2, 3, 6);
  // stb's grey level: (77 R + 150 G + 29 B) >> 8.
  EXPECT_EQ(img.pixels[0], static_cast<uint8_t>((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8));
}

TEST(ImageFolder, JpegDecodes) {
  SKIP_WITHOUT_STB();
#ifndef RETORT_TEST_HAVE_JPEG_WRITER
  GTEST_SKIP() << "no stb_image_write.h to write a JPEG with";
#else
  TempDir tmp;
  std::vector<uint8_t> rgb(16 * 16 * 3);
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = 200, rgb[i + 1] = 40, rgb[i + 2] = 90;
  std::string jpg;
  stbi_write_jpg_to_func([](void* ctx, void* d, int n) { static_cast<std::string*>(ctx)->append(static_cast<char*>(d), n); },
                         &jpg, 16, 16, 3, rgb.data(), 95);
  write_bytes(tmp / "red/0000.jpg", jpg);
  write_bytes(tmp / "red/0001.JPEG", jpg);
  data::ImageFolder ds(tmp.path(), "t", {});
  ASSERT_EQ(ds.size(), 2);
  data::Image img;
  ds.load(1, img);
  ASSERT_EQ(img.shape(), (data::ImageShape{16, 16, 3}));
  for (size_t i = 0; i < img.pixels.size(); ++i) EXPECT_NEAR(img.pixels[i], rgb[i], 4) << i;
#endif
}

TEST(ImageFolder, CacheKeepsDecodedImagesWithinTheBudget) {
  SKIP_WITHOUT_STB();
  TempDir tmp;
  for (int i = 0; i < 4; ++i)
    write_bytes(tmp / ("c/" + std::to_string(i) + ".png"), png_bytes(4, 4, 3, pattern(4, 4, 3, i)));
  data::ImageFolderOptions o;
  o.cache_bytes = 2 * 48;  // two 4x4x3 images
  data::ImageFolder ds(tmp.path(), "t", {}, o);
  data::Image img;
  for (int i = 0; i < 4; ++i) ds.load(i, img);
  EXPECT_EQ(ds.cached_images(), 2);
  EXPECT_EQ(ds.cached_bytes(), 96);
  // Cached images (the first two loaded) no longer need their files; the others do.
  std::filesystem::remove(tmp / "c/0.png");
  std::filesystem::remove(tmp / "c/3.png");
  ds.load(0, img);
  EXPECT_EQ(img.pixels, pattern(4, 4, 3, 0));
  EXPECT_ERROR_WITH(ds.load(3, img), tmp / "c/3.png");  // not cached: read again
  o.cache_bytes = 0;
  data::ImageFolder none(tmp.path(), "t", {}, o);
  none.load(1, img);
  EXPECT_EQ(none.cached_images(), 0);
}

TEST(ImageFolder, TinyImageNetLayoutNestedFoldersAndSharedClasses) {
  TempDir tmp;
  const std::string png = png_bytes(2, 2, 3, pattern(2, 2, 3, 0));
  // train/<wnid>/images/*.JPEG-style nesting, plus a boxes file that is not an image.
  write_bytes(tmp / "train/n01/images/n01_0.png", png);
  write_bytes(tmp / "train/n01/images/n01_1.png", png);
  write_bytes(tmp / "train/n01/n01_boxes.txt", "n01_0.png 0 0 1 1\n");
  write_bytes(tmp / "train/n02/images/n02_0.png", png);
  write_bytes(tmp / "train/n03/a.png", png);
  const std::vector<std::string> classes = data::image_folder_classes(tmp / "train");
  EXPECT_EQ(classes, (std::vector<std::string>{"n01", "n02", "n03"}));
  data::ImageFolder train(tmp / "train", "t", {});
  ASSERT_EQ(train.size(), 4);
  EXPECT_EQ(train.path(1), tmp / "train/n01/images/n01_1.png");
  EXPECT_EQ(train.label(2), 1);
  // val/images + val_annotations.txt, labelled with the train classes.
  write_bytes(tmp / "val/images/val_1.png", png);
  write_bytes(tmp / "val/images/val_0.png", png);
  write_bytes(tmp / "val/val_annotations.txt", "val_1.png\tn03\t0\t0\t1\t1\nval_0.png\tn02\t0\t0\t1\t1\n\n");
  data::ImageFolderOptions o;
  o.classes = classes;
  data::ImageFolder val(tmp / "val", "v", {}, o);
  ASSERT_EQ(val.size(), 2);
  EXPECT_EQ(val.path(0), tmp / "val/images/val_0.png");
  EXPECT_EQ(val.label(0), 1);
  EXPECT_EQ(val.label(1), 2);
  EXPECT_ERROR_WITH(data::ImageFolder(tmp / "val", "v", {}), "val_annotations.txt", "train folder");
  write_bytes(tmp / "val/val_annotations.txt", "val_0.png\tn09\n");
  EXPECT_ERROR_WITH(data::ImageFolder(tmp / "val", "v", {}, o), "line 1", "class 'n09'");
  write_bytes(tmp / "val/val_annotations.txt", "val_7.png\tn01\n");
  EXPECT_ERROR_WITH(data::ImageFolder(tmp / "val", "v", {}, o), tmp / "val/images/val_7.png", "does not exist");
  // A test split lacking a class keeps the train labels; an unknown class folder is an error.
  write_bytes(tmp / "test/n03/x.png", png);
  data::ImageFolder test(tmp / "test", "t", {}, o);
  EXPECT_EQ(test.num_classes(), 3);
  EXPECT_EQ(test.label(0), 2);
  write_bytes(tmp / "test/zzz/x.png", png);
  EXPECT_ERROR_WITH(data::ImageFolder(tmp / "test", "t", {}, o), tmp / "test/zzz", "not one of the 3 classes");
}

TEST(ImageFolderErrors, EmptyClassFolderZeroSizeAndCorruptImages) {
  TempDir tmp;
  write_bytes(tmp / "a/x.png", png_bytes(2, 2, 3, pattern(2, 2, 3, 0)));
  std::filesystem::create_directories(tmp / "b");
  write_bytes(tmp / "b/readme.txt", "no images here");
  EXPECT_ERROR_WITH(data::ImageFolder(tmp.path(), "t", {}), "class folder", tmp / "b", "holds no image files");
  write_bytes(tmp / "b/zero.png", "");
  EXPECT_ERROR_WITH(data::ImageFolder(tmp.path(), "t", {}), tmp / "b/zero.png", "empty image file");
  write_bytes(tmp / "b/zero.png", "this is not a PNG");
  data::ImageFolder ds(tmp.path(), "t", {});
  data::Image img;
  if (data::have_stb()) {
    EXPECT_ERROR_WITH(ds.load(1, img), tmp / "b/zero.png", "cannot decode image");
  } else {
    EXPECT_ERROR_WITH(ds.load(1, img), tmp / "b/zero.png", "lacks stb_image");
  }
  // A truncated PNG.
  std::string png = png_bytes(8, 8, 3, pattern(8, 8, 3, 1));
  write_bytes(tmp / "b/zero.png", png.substr(0, png.size() / 2));
  EXPECT_ERROR_WITH(ds.load(1, img), tmp / "b/zero.png");
}

// A grey PNG whose header declares width x height; its data holds one pixel.
std::string png_declaring(uint32_t width, uint32_t height) {
  std::string png = png_bytes(1, 1, 1, {0});
  std::string size;
  testing::put_be32(size, width);
  testing::put_be32(size, height);
  png.replace(16, 8, size);  // IHDR: length 8..11, type 12..15, width, height, ...
  std::string crc;
  testing::put_be32(crc, testing::crc32(png.substr(12, 17)));
  return png.replace(29, 4, crc);
}

// Restores the process-wide pixel limit however the test ends.
struct PixelLimitGuard {
  ~PixelLimitGuard() { data::set_max_image_pixels(data::kDefaultMaxImagePixels); }
};

TEST(ImageLimits, ThePixelLimitRefusesAnImageBeforeDecodingIt) {
  SKIP_WITHOUT_STB();
  PixelLimitGuard guard;
  EXPECT_EQ(data::max_image_pixels(), int64_t{1} << 28);
  data::Image img;
  // A 70-byte file declaring 400 M pixels: refused from its header, before
  // stb allocates the image.
  EXPECT_ERROR_WITH(data::decode_image(png_declaring(20000, 20000), "bomb.png", 3, img),
                    "bomb.png: image of 20000 x 20000 = 400000000 pixels exceeds the limit of 268435456 pixels");
  // A top-down BMP (negative height in its header) is measured by the height's size.
  std::string bmp = "BM";
  for (uint32_t v : {54u + 46 * 3, 0u, 54u, 40u, 46u, static_cast<uint32_t>(-13762516), 1u | 24u << 16, 0u, 0u, 0u, 0u,
                     0u, 0u})
    testing::put_le32(bmp, v);
  bmp += std::string(46 * 3, '\x7f');
  EXPECT_ERROR_WITH(data::decode_image(bmp, "tall.bmp", 3, img),
                    "tall.bmp: image of 46 x 13762516 = 633075736 pixels exceeds the limit of 268435456 pixels");
  data::set_max_image_pixels(100);
  EXPECT_EQ(data::max_image_pixels(), 100);
  EXPECT_ERROR_WITH(data::decode_image(png_bytes(20, 10, 3, pattern(20, 10, 3, 2)), "wide.png", 3, img),
                    "wide.png: image of 20 x 10 = 200 pixels exceeds the limit of 100 pixels");
  data::decode_image(png_bytes(10, 10, 3, pattern(10, 10, 3, 2)), "square.png", 3, img);
  EXPECT_EQ(img.shape(), (data::ImageShape{10, 10, 3}));
  EXPECT_ERROR_WITH(data::set_max_image_pixels(0), "set_max_image_pixels: expected a positive pixel count, found 0");
  EXPECT_EQ(data::max_image_pixels(), 100);
}

// Inputs the fuzzer found crashing stb_image 2.27, refused by retort first.
TEST(ImageErrors, StbImageBugsAreRefusedFirst) {
  SKIP_WITHOUT_STB();
  data::Image img;
  // SOI, then a DHT segment whose 16 code counts sum to 512.
  const std::string dht = std::string("\xFF\xD8\xFF\xC4\x00\x13\x00", 7) + std::string(16, '\x20') + "\xFF\xD9";
  EXPECT_ERROR_WITH(data::decode_image(dht, "bad.jpg", 3, img),
                    "bad.jpg: corrupt JPEG: a Huffman table declares 512 codes, more than the 256");
  // The same after fill bytes before the start marker, which stb skips.
  EXPECT_ERROR_WITH(data::decode_image(std::string(5, '\xFF') + dht.substr(1), "fill.jpg", 3, img),
                    "fill.jpg: corrupt JPEG: a Huffman table declares 512 codes");
  EXPECT_ERROR_WITH(data::decode_image(std::string("P6\n0 2\n255\n"), "empty.ppm", 3, img),
                    "empty.ppm: image of 0 x 2 pixels is empty");
  // A scan decoding with Huffman tables no DHT segment defined: stb reads uninitialised memory.
  const std::string no_tables = std::string("\xFF\xD8\xFF\xC0\x00\x0B\x08\x00\x01\x00\x01\x01\x01\x11\x00", 15) +
                                std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\x12\x34\xFF\xD9", 14);
  EXPECT_ERROR_WITH(data::decode_image(no_tables, "mjpeg.jpg", 3, img),
                    "mjpeg.jpg: corrupt JPEG: a scan decodes with the DC Huffman table 0, which no DHT segment "
                    "defines before it");
  // A PNM header number that overflows stb's int.
  EXPECT_ERROR_WITH(data::decode_image("P6\n3 2\n" + std::string(40, '3') + "\n", "long.ppm", 3, img),
                    "long.ppm: corrupt PNM: a header number (1099511627776) exceeds the largest dimension, 16777216");
  // A 16-bit PNM (maxval above 255): stb reads past its buffer converting it to grey.
  const std::string deep = "P6\n1 1\n65535\n\x01\x02\x03\x04\x05\x06";
  EXPECT_ERROR_WITH(data::decode_image(deep, "deep.ppm", 1, img), "deep.ppm: 16-bit PNM images are not supported");
  // A 4 x 3 PNG whose data chunk declares 1 GB: stb would allocate it before reading.
  std::string png = png_bytes(4, 3, 1, pattern(4, 3, 1, 3));
  std::string length;
  testing::put_be32(length, 1u << 30);
  png.replace(png.find("IDAT") - 4, 4, length);
  EXPECT_ERROR_WITH(data::decode_image(png, "chunk.png", 3, img),
                    "chunk.png: cannot decode image: its chunks declare more memory than a 4 x 3 image in 83 bytes");
}

TEST(ImageFolderErrors, MissingDirectoriesAndSplits) {
  TempDir tmp;
  EXPECT_ERROR_WITH(data::ImageFolder(tmp / "absent", "t", {}), tmp / "absent", "does not exist");
  EXPECT_ERROR_WITH(data::ImageFolder(tmp.path(), "t", {}), "holds no class folders");
  std::filesystem::create_directories(tmp / "train/a");
  std::filesystem::create_directories(tmp / "val/a");
  EXPECT_EQ(data::image_folder_split_dir(tmp.path(), data::Split::Train, "k"), tmp / "train");
  EXPECT_EQ(data::image_folder_split_dir(tmp.path(), data::Split::Test, "k"), tmp / "val");
  std::filesystem::create_directories(tmp / "test/a");
  EXPECT_EQ(data::image_folder_split_dir(tmp.path(), data::Split::Test, "k"), tmp / "test");
  TempDir empty;
  EXPECT_ERROR_WITH(data::image_folder_split_dir(empty.path(), data::Split::Train, "imagefolder"), "imagefolder",
                    empty.path(), "no train/ folder");
  EXPECT_ERROR_WITH(data::image_folder_split_dir(empty.path(), data::Split::Test, "imagefolder"), "neither test/ nor val/");
  EXPECT_ERROR_WITH(data::image_folder_split_dir(empty / "x", data::Split::Test, "imagefolder"), empty / "x",
                    "does not exist");
}

}  // namespace
}  // namespace retort
