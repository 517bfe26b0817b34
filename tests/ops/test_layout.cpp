// Layout ops: cat/split for every dtype, channel shuffle (MODELS.md 1.3),
// pad2d/crop2d pixel by pixel, random_crop reproducibility.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::to_doubles;

// Distinct values per element for any dtype (u8 wraps below 256 elements).
template <class T>
Tensor iota(const Shape& s, int64_t start) {
  std::vector<T> v(s.numel());
  for (int64_t i = 0; i < s.numel(); ++i) v[i] = static_cast<T>((start + i) % 251);
  return from_vector<T>(v, s);
}

// Reference concatenation in double along dim a.
std::vector<double> ref_cat(const std::vector<Tensor>& xs, int a) {
  const Shape& s0 = xs[0].shape();
  const int64_t outer = s0.prod(0, a), inner = s0.prod(a + 1, s0.ndim());
  std::vector<std::vector<double>> values;
  for (const Tensor& x : xs) values.push_back(to_doubles(x));
  std::vector<double> y;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < xs.size(); ++k) {
      const int64_t run = xs[k].shape()[a] * inner;
      for (int64_t i = 0; i < run; ++i) y.push_back(values[k][o * run + i]);
    }
  return y;
}

template <class T>
void check_cat_split(DType dt) {
  SCOPED_TRACE(dtype_name(dt));
  // Along dim 0 and the last dim of [.., 3, 4]-like shapes, with pieces of different sizes (one empty).
  for (int dim : {0, 2, -1, 1}) {
    const int a = dim < 0 ? 3 + dim : dim;
    std::vector<Tensor> xs;
    std::vector<int64_t> sizes = {2, 0, 3, 1};
    int64_t start = 0;
    for (int64_t n : sizes) {
      std::vector<int64_t> d = {2, 3, 4};
      d[a] = n;
      xs.push_back(iota<T>(Shape(d), start));
      start += 37;
    }
    const Tensor y = ops::cat(xs, dim);
    EXPECT_EQ(y.dtype(), dt);
    std::vector<int64_t> d = {2, 3, 4};
    d[a] = 6;
    EXPECT_EQ(y.shape(), Shape(d));
    EXPECT_CLOSE(y, ref_cat(xs, a), 0.0, 0.0);
    // split undoes cat exactly.
    const std::vector<Tensor> parts = ops::split(y, sizes, dim);
    ASSERT_EQ(parts.size(), sizes.size());
    for (size_t i = 0; i < parts.size(); ++i) {
      EXPECT_EQ(parts[i].shape(), xs[i].shape());
      EXPECT_EQ(parts[i].dtype(), dt);
      EXPECT_CLOSE(parts[i], xs[i], 0.0, 0.0);
      EXPECT_TRUE(parts[i].is_contiguous());
    }
  }
}

TEST(CatSplit, EveryDtypeAlongFirstMiddleAndLastDims) {
  check_cat_split<float>(DType::F32);
  check_cat_split<int64_t>(DType::I64);
  check_cat_split<uint8_t>(DType::U8);
}

TEST(CatSplit, HandComputed) {
  const Tensor a = from_vector<float>({1, 2, 3, 4}, Shape{2, 2});
  const Tensor b = from_vector<float>({5, 6}, Shape{2, 1});
  EXPECT_CLOSE(ops::cat({a, b}, 1), {1, 2, 5, 3, 4, 6}, 0.0, 0.0);
  EXPECT_CLOSE(ops::cat({a, b.reshape({1, 2})}, 0), {1, 2, 3, 4, 5, 6}, 0.0, 0.0);
  const Tensor u = from_vector<uint8_t>({250, 1, 2}, Shape{3});
  EXPECT_EQ(ops::cat({u, u}, 0).to_vector<uint8_t>(), (std::vector<uint8_t>{250, 1, 2, 250, 1, 2}));
  const Tensor l = from_vector<int64_t>({int64_t{1} << 40, -7}, Shape{1, 2});
  EXPECT_EQ(ops::cat({l, l}, -1).to_vector<int64_t>(),
            (std::vector<int64_t>{int64_t{1} << 40, -7, int64_t{1} << 40, -7}));
  const std::vector<Tensor> p = ops::split(from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3}), {1, 2}, 1);
  EXPECT_CLOSE(p[0], {1, 4}, 0.0, 0.0);
  EXPECT_CLOSE(p[1], {2, 3, 5, 6}, 0.0, 0.0);
  // Strided inputs are read in logical order.
  const Tensor t = from_vector<float>({1, 2, 3, 4}, Shape{2, 2}).transpose(0, 1);  // [[1,3],[2,4]]
  EXPECT_CLOSE(ops::cat({t, t}, 0), {1, 3, 2, 4, 1, 3, 2, 4}, 0.0, 0.0);
  EXPECT_CLOSE(ops::split(t, {1, 1}, 1)[1], {3, 4}, 0.0, 0.0);
  // One input: a copy.
  const Tensor c = ops::cat({a}, 0);
  EXPECT_NE(c.storage(), a.storage());
  EXPECT_CLOSE(c, a, 0.0, 0.0);
}

TEST(CatSplit, LargeChannelConcatenation) {
  // The shape of a ShuffleNet/DenseNet-style channel concat: [N, H, W, C1] ++ [N, H, W, C2].
  const Tensor a = testing::random_tensor(Shape{8, 16, 16, 24}, 1), b = testing::random_tensor(Shape{8, 16, 16, 40}, 2);
  const Tensor y = ops::cat({a, b}, 3);
  EXPECT_CLOSE(y, ref_cat({a, b}, 3), 0.0, 0.0);
  const std::vector<Tensor> back = ops::split(y, {24, 40}, -1);
  EXPECT_CLOSE(back[0], a, 0.0, 0.0);
  EXPECT_CLOSE(back[1], b, 0.0, 0.0);
}

TEST(CatSplit, Errors) {
  EXPECT_THROW(ops::cat({}, 0), Error);
  EXPECT_THROW(ops::cat({zeros(Shape{2, 3}), zeros(Shape{2, 4})}, 0), Error);
  EXPECT_THROW(ops::cat({zeros(Shape{2, 3}), zeros(Shape{2, 3}, DType::I64)}, 0), Error);
  EXPECT_THROW(ops::cat({zeros(Shape{2, 3}), zeros(Shape{2, 3, 1})}, 0), Error);
  EXPECT_THROW(ops::cat({zeros(Shape{2, 3}), zeros(Shape{2, 3})}, 2), Error);
  EXPECT_THROW(ops::cat({zeros(Shape{2, 3}), Tensor()}, 0), Error);
  try {
    ops::cat({zeros(Shape{2, 3}), zeros(Shape{5, 4})}, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("cat"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("[5, 4]"), std::string::npos) << e.message();
  }
  EXPECT_THROW(ops::split(zeros(Shape{2, 5}), {2, 2}, 1), Error);
  EXPECT_THROW(ops::split(zeros(Shape{2, 5}), {3, 3}, 1), Error);
  EXPECT_THROW(ops::split(zeros(Shape{2, 5}), {6, -1}, 1), Error);
  EXPECT_THROW(ops::split(zeros(Shape{2, 5}), {5}, 2), Error);
}

// ---------------------------------------------------------------- channel shuffle

std::vector<double> ref_shuffle(const Tensor& x, int64_t g) {
  const std::vector<double> v = to_doubles(x);
  const int64_t C = x.size(-1), per = C / g, rows = x.numel() / C;
  std::vector<double> y(v.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < g; ++i)
      for (int64_t j = 0; j < per; ++j) y[r * C + j * g + i] = v[r * C + i * per + j];
  return y;
}

TEST(ChannelShuffle, HandComputed) {
  // C = 6, g = 3: output channel j*3 + i = input channel i*2 + j -> [0, 2, 4, 1, 3, 5].
  const Tensor x = from_vector<float>({0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}, Shape{2, 6});
  EXPECT_CLOSE(ops::channel_shuffle(x, 3), {0, 2, 4, 1, 3, 5, 10, 12, 14, 11, 13, 15}, 0.0, 0.0);
  // g = 2: output j*2 + i = input i*3 + j -> [0, 3, 1, 4, 2, 5].
  EXPECT_CLOSE(ops::channel_shuffle(x, 2), {0, 3, 1, 4, 2, 5, 10, 13, 11, 14, 12, 15}, 0.0, 0.0);
  // g = 1 and g = C are the identity.
  EXPECT_CLOSE(ops::channel_shuffle(x, 1), x, 0.0, 0.0);
  EXPECT_CLOSE(ops::channel_shuffle(x, 6), x, 0.0, 0.0);
}

TEST(ChannelShuffle, AgainstReferenceAndInverse) {
  const Tensor x = testing::random_tensor(Shape{4, 8, 8, 24}, 5);
  for (int64_t g : {1, 2, 3, 4, 6, 8, 12, 24}) {
    SCOPED_TRACE(g);
    const Tensor y = ops::channel_shuffle(x, g);
    EXPECT_EQ(y.shape(), x.shape());
    EXPECT_CLOSE(y, ref_shuffle(x, g), 0.0, 0.0);
    // Shuffling with C/g groups inverts it.
    EXPECT_CLOSE(ops::channel_shuffle(y, 24 / g), x, 0.0, 0.0);
  }
  // A strided input.
  const Tensor v = testing::random_tensor(Shape{6, 5}, 6).transpose(0, 1);
  EXPECT_CLOSE(ops::channel_shuffle(v, 3), ref_shuffle(v.contiguous(), 3), 0.0, 0.0);
}

TEST(ChannelShuffle, Errors) {
  EXPECT_THROW(ops::channel_shuffle(zeros(Shape{2, 6}), 4), Error);
  EXPECT_THROW(ops::channel_shuffle(zeros(Shape{2, 6}), 0), Error);
  EXPECT_THROW(ops::channel_shuffle(zeros(Shape{2, 6}), -3), Error);
  EXPECT_THROW(ops::channel_shuffle(scalar(1.0f), 1), Error);
}

// ---------------------------------------------------------------- pad2d and crop2d

template <class T>
void check_pad_crop(DType dt) {
  SCOPED_TRACE(dtype_name(dt));
  // x [2, 2, 3, 2]: value = 100 n + 10 h + w + c/2 (exact in every dtype after the cast below).
  const int64_t N = 2, H = 2, W = 3, C = 2;
  std::vector<T> v;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c) v.push_back(static_cast<T>(100 * n + 10 * h + w + 5 * c + 1));
  const Tensor x = from_vector<T>(v, Shape{N, H, W, C});
  const int64_t top = 1, bottom = 2, left = 2, right = 1;
  const Tensor y = ops::pad2d(x, top, bottom, left, right, 7.0);
  EXPECT_EQ(y.dtype(), dt);
  ASSERT_EQ(y.shape(), (Shape{N, H + 3, W + 3, C}));
  const std::vector<double> yv = to_doubles(y);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H + 3; ++h)
      for (int64_t w = 0; w < W + 3; ++w)
        for (int64_t c = 0; c < C; ++c) {
          const bool inside = h >= top && h < top + H && w >= left && w < left + W;
          const double expected = inside ? 100 * n + 10 * (h - top) + (w - left) + 5 * c + 1 : 7.0;
          ASSERT_EQ(yv[((n * (H + 3) + h) * (W + 3) + w) * C + c], expected) << n << " " << h << " " << w << " " << c;
        }
  // crop2d takes the original back out exactly.
  EXPECT_CLOSE(ops::crop2d(y, top, left, H, W), x, 0.0, 0.0);
  // [H, W, C] inputs work the same way.
  const Tensor x3 = x.narrow(0, 1, 1).reshape({H, W, C});
  const Tensor y3 = ops::pad2d(x3, top, bottom, left, right, 7.0);
  EXPECT_EQ(y3.shape(), (Shape{H + 3, W + 3, C}));
  EXPECT_CLOSE(y3, y.narrow(0, 1, 1).reshape({H + 3, W + 3, C}), 0.0, 0.0);
  EXPECT_CLOSE(ops::crop2d(y3, top, left, H, W), x3, 0.0, 0.0);
}

TEST(Pad2dCrop2d, ExactPixelsEveryDtype) {
  check_pad_crop<float>(DType::F32);
  check_pad_crop<int64_t>(DType::I64);
  check_pad_crop<uint8_t>(DType::U8);
}

TEST(Pad2dCrop2d, HandComputed) {
  // [1, 2, 2, 1] image [[1, 2], [3, 4]], padded by one zero on every side.
  const Tensor x = from_vector<float>({1, 2, 3, 4}, Shape{1, 2, 2, 1});
  EXPECT_CLOSE(ops::pad2d(x, 1, 1, 1, 1), {0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::pad2d(x, 0, 1, 0, 0, -1.0), {1, 2, 3, 4, -1, -1}, 0.0, 0.0);
  EXPECT_CLOSE(ops::crop2d(x, 1, 0, 1, 2), {3, 4}, 0.0, 0.0);
  EXPECT_CLOSE(ops::crop2d(x, 0, 1, 2, 1), {2, 4}, 0.0, 0.0);
  EXPECT_EQ(ops::crop2d(x, 0, 1, 2, 1).shape(), (Shape{1, 2, 1, 1}));
  EXPECT_TRUE(ops::crop2d(x, 0, 1, 2, 1).is_contiguous());
  EXPECT_CLOSE(ops::pad2d(x, 0, 0, 0, 0), x, 0.0, 0.0);
  // A strided input (a channel slice of an NHWC tensor).
  const Tensor wide = from_vector<float>({1, 10, 2, 20, 3, 30, 4, 40}, Shape{1, 2, 2, 2});
  const Tensor ch1 = wide.narrow(3, 1, 1);
  EXPECT_CLOSE(ops::pad2d(ch1, 0, 0, 1, 0), {0, 10, 20, 0, 30, 40}, 0.0, 0.0);
  EXPECT_CLOSE(ops::crop2d(ch1, 1, 1, 1, 1), {40}, 0.0, 0.0);
}

TEST(Pad2dCrop2d, Errors) {
  const Tensor x = zeros(Shape{1, 4, 4, 2});
  EXPECT_THROW(ops::pad2d(x, -1, 0, 0, 0), Error);
  EXPECT_THROW(ops::pad2d(zeros(Shape{4, 4}), 1, 1, 1, 1), Error);
  EXPECT_THROW(ops::pad2d(zeros(Shape{1, 1, 4, 4, 2}), 1, 1, 1, 1), Error);
  EXPECT_THROW(ops::crop2d(x, 1, 1, 4, 2), Error);
  EXPECT_THROW(ops::crop2d(x, 0, 3, 2, 2), Error);
  EXPECT_THROW(ops::crop2d(x, -1, 0, 2, 2), Error);
  EXPECT_THROW(ops::crop2d(zeros(Shape{4, 4}), 0, 0, 2, 2), Error);
  EXPECT_NO_THROW(ops::crop2d(x, 0, 0, 4, 4));
  EXPECT_NO_THROW(ops::crop2d(x, 4, 4, 0, 0));
}

// ---------------------------------------------------------------- random_crop

// The offset (top, left) at which `crop` (one image) sits in `padded`, or (-1, -1).
std::pair<int64_t, int64_t> locate(const Tensor& padded, const Tensor& crop) {
  const int64_t h = crop.size(1), w = crop.size(2);
  const std::vector<double> want = to_doubles(crop);
  for (int64_t t = 0; t + h <= padded.size(1); ++t)
    for (int64_t l = 0; l + w <= padded.size(2); ++l)
      if (to_doubles(ops::crop2d(padded, t, l, h, w)) == want) return {t, l};
  return {-1, -1};
}

TEST(RandomCrop, ReproducibleOffsetsForAFixedSeed) {
  // Images whose pixels are all distinct and nonzero, so an offset is identified uniquely.
  const int64_t N = 48, H = 6, W = 5, C = 2, pad = 2;
  std::vector<uint8_t> v(N * H * W * C);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(1 + i % (H * W * C));
  const Tensor x = from_vector<uint8_t>(v, Shape{N, H, W, C});
  const Tensor padded = ops::pad2d(x, pad, pad, pad, pad, 0.0);

  Generator g1(2024), g2(2024), g3(2025);
  const Tensor a = ops::random_crop(x, H, W, pad, g1);
  const Tensor b = ops::random_crop(x, H, W, pad, g2);
  const Tensor c = ops::random_crop(x, H, W, pad, g3);
  EXPECT_EQ(a.shape(), (Shape{N, H, W, C}));
  EXPECT_EQ(a.dtype(), DType::U8);
  EXPECT_EQ(a.to_vector<uint8_t>(), b.to_vector<uint8_t>());
  EXPECT_EQ(g1.offset(), g2.offset());
  EXPECT_NE(a.to_vector<uint8_t>(), c.to_vector<uint8_t>());

  std::set<int64_t> tops, lefts;
  for (int64_t n = 0; n < N; ++n) {
    const auto off = locate(padded.narrow(0, n, 1), a.narrow(0, n, 1));
    ASSERT_GE(off.first, 0) << "image " << n << " is not a window of its padded image";
    tops.insert(off.first);
    lefts.insert(off.second);
  }
  // Offsets are uniform over [0, 2 pad]: 48 images reach every value.
  EXPECT_EQ(tops.size(), 5u);
  EXPECT_EQ(lefts.size(), 5u);
  // A second draw from the same generator continues the stream: different crops.
  EXPECT_NE(ops::random_crop(x, H, W, pad, g1).to_vector<uint8_t>(), a.to_vector<uint8_t>());

  // Smaller window, no padding: still a window of the image, reproducible.
  Generator g4(7), g5(7);
  const Tensor s1 = ops::random_crop(x, 3, 2, 0, g4), s2 = ops::random_crop(x, 3, 2, 0, g5);
  EXPECT_EQ(s1.to_vector<uint8_t>(), s2.to_vector<uint8_t>());
  for (int64_t n = 0; n < N; ++n) EXPECT_GE(locate(x.narrow(0, n, 1), s1.narrow(0, n, 1)).first, 0);
  // A window equal to the image with no padding is the identity.
  Generator g6(1);
  EXPECT_EQ(ops::random_crop(x, H, W, 0, g6).to_vector<uint8_t>(), v);
}

TEST(RandomCrop, Errors) {
  Generator g(1);
  EXPECT_THROW(ops::random_crop(zeros(Shape{1, 4, 4, 1}), 5, 4, 0, g), Error);
  EXPECT_THROW(ops::random_crop(zeros(Shape{1, 4, 4, 1}), 4, 4, -1, g), Error);
  EXPECT_THROW(ops::random_crop(zeros(Shape{4, 4, 1}), 2, 2, 0, g), Error);
  EXPECT_THROW(ops::random_crop(zeros(Shape{1, 4, 4, 1}), 0, 2, 0, g), Error);
  EXPECT_NO_THROW(ops::random_crop(zeros(Shape{1, 4, 4, 1}), 6, 6, 1, g));
}

}  // namespace
}  // namespace retort
