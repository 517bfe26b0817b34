#include <gtest/gtest.h>

#include <set>

#include "data/pil_ops.h"
#include "data/randaugment.h"
#include "tests/data/data_files.h"

namespace retort {
namespace {

using data::Image;

Image make(int h, int w, int c, std::vector<uint8_t> px) {
  Image img;
  img.reshape(h, w, c);
  img.pixels = std::move(px);
  return img;
}

template <class Fn>
std::vector<uint8_t> run(const Image& src, Fn fn) {
  Image dst;
  fn(src, dst);
  return dst.pixels;
}

TEST(PilOps, GreyLevelIsPilsConvertL) {
  EXPECT_EQ(data::pil::grey(255, 0, 0), 76);
  EXPECT_EQ(data::pil::grey(0, 255, 0), 150);
  EXPECT_EQ(data::pil::grey(0, 0, 255), 29);
  EXPECT_EQ(data::pil::grey(255, 255, 255), 255);
  EXPECT_EQ(data::pil::grey(0, 0, 0), 0);
}

TEST(PilOps, AutoContrastStretchesEachChannel) {
  const Image img = make(1, 3, 3, {50, 7, 0, 100, 7, 10, 150, 7, 20});
  // Channel 0: scale 255/100, offset -127.5: 50 -> 0, 100 -> int(127.5) = 127, 150 -> 255. Channel 1 is flat:
  // kept. Channel 2: scale 12.75: 10 -> int(127.5) = 127.
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::auto_contrast(s, d); }),
            (std::vector<uint8_t>{0, 7, 0, 127, 7, 127, 255, 7, 255}));
}

TEST(PilOps, EqualizeFollowsPilsLookupTable) {
  // 256 pixels each of 0, 50, 100, 200: step = (1024 - 256) / 256 = 3, lut[v] = (1 + count below v) / 3.
  std::vector<uint8_t> px;
  for (int k = 0; k < 256; ++k) px.insert(px.end(), {0, 50, 100, 200});
  const std::vector<uint8_t> out = run(make(1, 1024, 1, px), [](const Image& s, Image& d) { data::pil::equalize(s, d); });
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 4), (std::vector<uint8_t>{0, 85, 171, 255}));
  // One distinct value, or too few pixels for a step: unchanged.
  const Image few = make(1, 4, 1, {0, 0, 128, 255});
  EXPECT_EQ(run(few, [](const Image& s, Image& d) { data::pil::equalize(s, d); }), few.pixels);
}

TEST(PilOps, BlendsWithBlackGreyAndMean) {
  const Image img = make(1, 3, 1, {255, 101, 0});
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::brightness(s, 0.5f, d); }),
            (std::vector<uint8_t>{127, 50, 0}));
  // Red: grey 76; 76 + 0.5 (255 - 76) = 165.5 -> 165, 76 + 0.5 (0 - 76) = 38.
  const Image red = make(1, 1, 3, {255, 0, 0});
  EXPECT_EQ(run(red, [](const Image& s, Image& d) { data::pil::color(s, 0.5f, d); }),
            (std::vector<uint8_t>{165, 38, 38}));
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::color(s, 0.1f, d); }), img.pixels);  // grey image
  // White and black: mean grey int(127.5 + 0.5) = 128; 128 + 0.5 * 127 = 191.5 -> 191; 128 - 64 = 64.
  const Image wb = make(1, 2, 3, {255, 255, 255, 0, 0, 0});
  EXPECT_EQ(run(wb, [](const Image& s, Image& d) { data::pil::contrast(s, 0.5f, d); }),
            (std::vector<uint8_t>{191, 191, 191, 64, 64, 64}));
}

TEST(PilOps, SharpnessBlendsWithTheSmoothedInterior) {
  std::vector<uint8_t> px(9, 10);
  px[4] = 100;
  const Image img = make(3, 3, 1, px);
  // Centre smoothed: (8 * 10 + 5 * 100) / 13 = 44.6 -> 45; blended 45 + 0.5 (100 - 45) = 72.5 -> 72.
  std::vector<uint8_t> expected(9, 10);
  expected[4] = 72;
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::sharpness(s, 0.5f, d); }), expected);
  expected[4] = 45;
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::sharpness(s, 0.0f, d); }), expected);
}

TEST(PilOps, PosterizeAndSolarize) {
  const Image img = make(1, 4, 1, {0xAB, 127, 128, 255});
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::posterize(s, 4, d); }),
            (std::vector<uint8_t>{0xA0, 0x70, 0x80, 0xF0}));
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::posterize(s, 1, d); }),
            (std::vector<uint8_t>{128, 0, 128, 128}));
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::solarize(s, 128.0f, d); }),
            (std::vector<uint8_t>{0xAB ^ 0xFF, 127, 127, 0}));
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::solarize(s, 256.0f, d); }), img.pixels);
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::solarize(s, 0.0f, d); }),
            (std::vector<uint8_t>{0x54, 128, 127, 0}));
  // RandAugment's posterize keeps int(v) bits of v in [4, 8].
  Image d;
  data::apply_augment_op(data::AugmentOp::Posterize, 5.9f, img, d);
  EXPECT_EQ(d.pixels[0], 0xA8);
}

TEST(PilOps, RotateCounterClockwiseAboutTheCentre) {
  const Image img = make(2, 2, 1, {1, 2, 3, 4});  // [a b; c d]
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::rotate(s, 90.0f, d); }),
            (std::vector<uint8_t>{2, 4, 1, 3}));  // [b d; a c]
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::rotate(s, -90.0f, d); }),
            (std::vector<uint8_t>{3, 1, 4, 2}));
  const Image nine = make(3, 3, 1, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(run(nine, [](const Image& s, Image& d) { data::pil::rotate(s, 180.0f, d); }),
            (std::vector<uint8_t>{9, 8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(run(nine, [](const Image& s, Image& d) { data::pil::rotate(s, 0.0f, d); }), nine.pixels);
  // 45 degrees: the corners come from outside the image and are black; the centre stays.
  const std::vector<uint8_t> r45 = run(make(4, 4, 1, std::vector<uint8_t>(16, 200)),
                                       [](const Image& s, Image& d) { data::pil::rotate(s, 45.0f, d); });
  EXPECT_EQ(r45[0], 0);
  EXPECT_EQ(r45[15], 0);
  EXPECT_EQ(r45[5], 200);
}

TEST(PilOps, ShearAndTranslateSampleNearestWithBlackOutside) {
  const Image img = make(2, 4, 1, {1, 2, 3, 4, 5, 6, 7, 8});
  // Row 0 reads x + 0.75 -> x; row 1 reads x + 1.25 -> x + 1.
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::shear_x(s, 0.5f, d); }),
            (std::vector<uint8_t>{1, 2, 3, 4, 6, 7, 8, 0}));
  // Column x reads row floor(y + 0.5 + 0.5 (x + 0.5)): y, y + 1, y + 1, y + 2.
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::shear_y(s, 0.5f, d); }),
            (std::vector<uint8_t>{1, 6, 7, 0, 5, 0, 0, 0}));
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::translate_x(s, 1.0f, d); }),
            (std::vector<uint8_t>{2, 3, 4, 0, 6, 7, 8, 0}));
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::translate_x(s, -1.0f, d); }),
            (std::vector<uint8_t>{0, 1, 2, 3, 0, 5, 6, 7}));
  EXPECT_EQ(run(img, [](const Image& s, Image& d) { data::pil::translate_y(s, 1.0f, d); }),
            (std::vector<uint8_t>{5, 6, 7, 8, 0, 0, 0, 0}));
  // RandAugment translates by v * width: 0.25 * 4 = 1 pixel.
  Image d;
  data::apply_augment_op(data::AugmentOp::TranslateX, 0.25f, img, d);
  EXPECT_EQ(d.pixels, (std::vector<uint8_t>{2, 3, 4, 0, 6, 7, 8, 0}));
}

TEST(Cutout, RectangleOfTheReference) {
  // f = 0.25 on 32x32: side 8. u = 0: x0 = 32, x1 = int(28) = 28, x2 = min(32, 36) -> clipped to 31.
  // u' = 0.5: y0 = 16.5, y1 = int(12.5) = 12, y2 = int(20) = 20 (inclusive: 9 rows).
  const data::Cutout::Rect r = data::Cutout::rectangle(32, 32, 0.25f, 0.0f, 0.5f);
  EXPECT_EQ(r.x1, 28);
  EXPECT_EQ(r.x2, 31);
  EXPECT_EQ(r.y1, 12);
  EXPECT_EQ(r.y2, 20);
  const data::Cutout::Rect none = data::Cutout::rectangle(32, 32, 0.0f, 0.3f, 0.3f);
  EXPECT_LT(none.x2, none.x1);
}

TEST(Cutout, FillsTheDrawnSquareWithTheReferenceColour) {
  Image img;
  img.reshape(32, 32, 3);
  std::fill(img.pixels.begin(), img.pixels.end(), 9);
  const data::Cutout cutout;
  for (int index = 0; index < 20; ++index) {
    data::SampleRng rng = data::sample_rng(2, 1, 1, index);
    Image out;
    cutout.apply(img, out, rng);
    data::SampleRng again = data::sample_rng(2, 1, 1, index);
    const float f = again.uniform() * 0.5f, u = again.uniform(), u2 = again.uniform();
    const data::Cutout::Rect r = data::Cutout::rectangle(32, 32, f, u, u2);
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        const bool in = x >= r.x1 && x <= r.x2 && y >= r.y1 && y <= r.y2;
        ASSERT_EQ(out.at(y, x, 0), in ? 125 : 9);
        ASSERT_EQ(out.at(y, x, 1), in ? 123 : 9);
        ASSERT_EQ(out.at(y, x, 2), in ? 114 : 9);
      }
  }
  // One channel: the fill's grey level.
  Image grey;
  grey.reshape(4, 4, 1);
  data::pil::fill_rect(grey, 2, -1, 9, 0, std::vector<uint8_t>{7}.data());
  EXPECT_EQ(grey.pixels, (std::vector<uint8_t>{0, 0, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(RandAugment, AppliesTwoDrawnOpsAtDrawnMagnitudes) {
  Image img;
  img.reshape(8, 8, 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 37 + 11);
  const data::RandAugment ra(2);
  std::set<int> ops;
  for (int index = 0; index < 300; ++index) {
    data::SampleRng rng = data::sample_rng(0, 0, 1, index);
    Image out;
    ra.apply(img, out, rng);
    data::SampleRng again = data::sample_rng(0, 0, 1, index);
    Image a, b;
    const Image* cur = &img;
    Image* bufs[2] = {&a, &b};
    for (int k = 0; k < 2; ++k) {
      const auto op = static_cast<data::AugmentOp>(again.below(data::kNumAugmentOps));
      const auto range = data::augment_op_range(op);
      const float v = again.uniform(range[0], range[1]);
      ops.insert(static_cast<int>(op));
      data::apply_augment_op(op, v, *cur, *bufs[k]);
      cur = bufs[k];
    }
    ASSERT_EQ(out.pixels, cur->pixels) << "sample " << index;
    ASSERT_EQ(rng.words_used(), 4u);
  }
  EXPECT_EQ(ops.size(), 14u);  // every operation is drawn
  EXPECT_EQ(data::augment_op_range(data::AugmentOp::Rotate)[1], 30.0f);
  EXPECT_STREQ(data::augment_op_name(data::AugmentOp::TranslateY), "translate_y");
}

}  // namespace
}  // namespace retort
