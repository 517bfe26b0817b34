// Copies between strided views, fills, dtype casts (truncation and
// saturation) and the NCHW <-> NHWC boundary conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::to_doubles;

TEST(Copy, BetweenStridedViews) {
  // src: the transpose of a [3, 4] tensor; dst: a [4, 3] window of a [6, 5] tensor.
  const Tensor base = from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Shape{3, 4});
  const Tensor src = base.transpose(0, 1);
  Tensor big = full(Shape{6, 5}, -1.0);
  Tensor dst = big.narrow(0, 1, 4).narrow(1, 2, 3);
  ASSERT_FALSE(src.is_contiguous());
  ASSERT_FALSE(dst.is_contiguous());
  const uint64_t v0 = big.version();
  ops::copy_(dst, src);
  EXPECT_GT(big.version(), v0);
  const std::vector<double> expected = {-1, -1, -1, -1, -1,  //
                                        -1, -1, 0,  4,  8,   //
                                        -1, -1, 1,  5,  9,   //
                                        -1, -1, 2,  6,  10,  //
                                        -1, -1, 3,  7,  11,  //
                                        -1, -1, -1, -1, -1};
  EXPECT_CLOSE(big, expected, 0.0, 0.0);
  // Contiguous destination from a strided source, and strided destination from contiguous.
  Tensor c = empty(Shape{4, 3});
  ops::copy_(c, src);
  EXPECT_CLOSE(c, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, 0.0, 0.0);
  Tensor col = zeros(Shape{3, 2});
  Tensor second = col.narrow(1, 1, 1);
  ops::copy_(second, from_vector<float>({7, 8, 9}, Shape{3, 1}));
  EXPECT_CLOSE(col, {0, 7, 0, 8, 0, 9}, 0.0, 0.0);
}

template <class T>
void check_copy_dtype() {
  // A permuted rank-4 view copied into a permuted destination view, element by element.
  const Shape s{2, 3, 4, 5};
  std::vector<T> v(s.numel());
  for (int64_t i = 0; i < s.numel(); ++i) v[i] = static_cast<T>(i % 200);
  const Tensor x = from_vector<T>(v, s);
  const Tensor src = x.permute({3, 1, 0, 2});  // [5, 3, 2, 4]
  Tensor storage = zeros(Shape{4, 2, 3, 5}, dtype_of<T>());
  Tensor dst = storage.permute({3, 2, 1, 0});  // [5, 3, 2, 4] view
  ops::copy_(dst, src);
  const std::vector<double> sv = to_doubles(src.contiguous()), dv = to_doubles(dst.contiguous());
  EXPECT_EQ(sv, dv);
  // Spot check one element by its indices: dst[a, b, c, d] = storage[d, c, b, a] = x[c, b, d, a].
  const std::vector<double> st = to_doubles(storage);
  for (int64_t a = 0; a < 5; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t d = 0; d < 4; ++d)
          ASSERT_EQ(st[((d * 2 + c) * 3 + b) * 5 + a], static_cast<double>(v[((c * 3 + b) * 4 + d) * 5 + a]));
}

TEST(Copy, EveryDtypeThroughPermutedViews) {
  check_copy_dtype<float>();
  check_copy_dtype<int64_t>();
  check_copy_dtype<uint8_t>();
}

TEST(Copy, LongStridedCopy) {
  // Longer than the parallel grain.
  const Tensor x = testing::random_tensor(Shape{300, 400}, 3);
  const Tensor t = x.transpose(0, 1);
  Tensor y = empty(Shape{400, 300});
  ops::copy_(y, t);
  const std::vector<float> xv = x.to_vector<float>(), yv = y.to_vector<float>();
  for (int64_t i = 0; i < 300; ++i)
    for (int64_t j = 0; j < 400; ++j) ASSERT_EQ(yv[j * 300 + i], xv[i * 400 + j]);
}

TEST(Copy, Errors) {
  Tensor d = zeros(Shape{2, 3});
  EXPECT_THROW(ops::copy_(d, zeros(Shape{3, 2})), Error);
  EXPECT_THROW(ops::copy_(d, zeros(Shape{2, 3}, DType::I64)), Error);
  EXPECT_THROW(ops::copy_(d, Tensor()), Error);
  Tensor u;
  EXPECT_THROW(ops::copy_(u, d), Error);
}

TEST(Fill, EveryDtype) {
  Tensor f = empty(Shape{3, 2});
  const uint64_t v0 = f.version();
  ops::fill_(f, 2.5);
  EXPECT_GT(f.version(), v0);
  EXPECT_EQ(f.to_vector<float>(), std::vector<float>(6, 2.5f));
  Tensor i = empty(Shape{4}, DType::I64);
  ops::fill_(i, -3.0);
  EXPECT_EQ(i.to_vector<int64_t>(), std::vector<int64_t>(4, -3));
  Tensor b = empty(Shape{5}, DType::U8);
  ops::fill_(b, 200.0);
  EXPECT_EQ(b.to_vector<uint8_t>(), std::vector<uint8_t>(5, 200));
  // Out-of-range values convert as cast() does: truncation toward zero, saturation, NaN -> 0.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<double, uint8_t>> u8_cases = {{300.7, 255}, {-3.0, 0}, {2.9, 2}, {255.0, 255},
                                                            {1e30, 255},  {nan, 0},   {-0.5, 0}};
  for (const auto& c : u8_cases) {
    ops::fill_(b, c.first);
    EXPECT_EQ(b.to_vector<uint8_t>(), std::vector<uint8_t>(5, c.second)) << c.first;
    EXPECT_EQ(ops::cast(full(Shape{1}, c.first), DType::U8).item<uint8_t>(), c.second) << c.first;
  }
  const std::vector<std::pair<double, int64_t>> i64_cases = {{-2.7, -2}, {2.7, 2}, {1e30, INT64_MAX},
                                                             {-1e30, INT64_MIN}, {nan, 0}};
  for (const auto& c : i64_cases) {
    ops::fill_(i, c.first);
    EXPECT_EQ(i.to_vector<int64_t>(), std::vector<int64_t>(4, c.second)) << c.first;
  }
  Tensor big = empty(Shape{100000});
  ops::fill_(big, -0.125);
  EXPECT_EQ(big.to_vector<float>(), std::vector<float>(100000, -0.125f));
  Tensor strided = zeros(Shape{2, 3}).transpose(0, 1);
  EXPECT_THROW(ops::fill_(strided, 1.0), Error);
}

// ---------------------------------------------------------------- casts

TEST(Cast, EveryPair) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor f = from_vector<float>({0.0f, 2.9f, -2.7f, 300.7f, -3.0f, 255.0f, 254.99f, 1e20f, -1e20f,
                                       static_cast<float>(nan), 0.5f, -0.5f},
                                      Shape{12});
  // f32 -> i64 truncates toward zero and saturates; NaN -> 0.
  EXPECT_EQ(ops::cast(f, DType::I64).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 2, -2, 300, -3, 255, 254, INT64_MAX, INT64_MIN, 0, 0, 0}));
  // f32 -> u8 truncates and saturates to [0, 255]: 300.7 -> 255, -3 -> 0; NaN -> 0.
  EXPECT_EQ(ops::cast(f, DType::U8).to_vector<uint8_t>(),
            (std::vector<uint8_t>{0, 2, 0, 255, 0, 255, 254, 255, 0, 0, 0, 0}));
  // f32 -> f32 is a contiguous copy.
  const Tensor ff = ops::cast(f, DType::F32);
  EXPECT_NE(ff.storage(), f.storage());
  EXPECT_CLOSE(ff, f, 0.0, 0.0);

  const Tensor i = from_vector<int64_t>({0, 1, -1, 255, 256, 300, -300, int64_t{1} << 40, (int64_t{1} << 24) + 1},
                                        Shape{9});
  // i64 -> u8 saturates.
  EXPECT_EQ(ops::cast(i, DType::U8).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 0, 255, 255, 255, 0, 255, 255}));
  // i64 -> f32 rounds to nearest (2^24 + 1 is not representable).
  EXPECT_EQ(ops::cast(i, DType::F32).to_vector<float>(),
            (std::vector<float>{0, 1, -1, 255, 256, 300, -300, 1099511627776.0f, 16777216.0f}));
  const Tensor ii = ops::cast(i, DType::I64);
  EXPECT_NE(ii.storage(), i.storage());
  EXPECT_EQ(ii.to_vector<int64_t>(), i.to_vector<int64_t>());

  const Tensor u = from_vector<uint8_t>({0, 1, 127, 128, 255}, Shape{5});
  EXPECT_EQ(ops::cast(u, DType::F32).to_vector<float>(), (std::vector<float>{0, 1, 127, 128, 255}));
  EXPECT_EQ(ops::cast(u, DType::I64).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 127, 128, 255}));
  EXPECT_EQ(ops::cast(u, DType::U8).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 127, 128, 255}));
  // Round trips that must be exact.
  EXPECT_EQ(ops::cast(ops::cast(u, DType::F32), DType::U8).to_vector<uint8_t>(), u.to_vector<uint8_t>());
  EXPECT_EQ(ops::cast(ops::cast(u, DType::I64), DType::U8).to_vector<uint8_t>(), u.to_vector<uint8_t>());
}

TEST(Cast, StridedAndLongInputs) {
  // A transposed u8 image batch cast to f32 reads in logical order.
  std::vector<uint8_t> v(6 * 50000);
  for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<uint8_t>(k * 7 % 256);
  const Tensor u = from_vector<uint8_t>(v, Shape{6, 50000});
  const Tensor f = ops::cast(u.transpose(0, 1), DType::F32);
  EXPECT_EQ(f.shape(), (Shape{50000, 6}));
  const std::vector<float> fv = f.to_vector<float>();
  for (int64_t r = 0; r < 50000; r += 997)
    for (int64_t c = 0; c < 6; ++c) ASSERT_EQ(fv[r * 6 + c], static_cast<float>(v[c * 50000 + r]));
  std::vector<double> expected(v.begin(), v.end());
  EXPECT_CLOSE(ops::cast(u, DType::F32), expected, 0.0, 0.0);
  EXPECT_CLOSE(ops::cast(ops::cast(u, DType::F32), DType::I64), expected, 0.0, 0.0);
  EXPECT_THROW(ops::cast(Tensor(), DType::F32), Error);
}

// ---------------------------------------------------------------- NCHW <-> NHWC

TEST(Layout, NchwNhwcExact) {
  const int64_t N = 2, C = 3, H = 4, W = 5;
  std::vector<float> v;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) v.push_back(static_cast<float>(1000 * n + 100 * c + 10 * h + w));
  const Tensor nchw = from_vector<float>(v, Shape{N, C, H, W});
  const Tensor nhwc = ops::nchw_to_nhwc(nchw);
  EXPECT_EQ(nhwc.shape(), (Shape{N, H, W, C}));
  EXPECT_TRUE(nhwc.is_contiguous());
  const std::vector<float> y = nhwc.to_vector<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c)
          ASSERT_EQ(y[((n * H + h) * W + w) * C + c], static_cast<float>(1000 * n + 100 * c + 10 * h + w));
  const Tensor back = ops::nhwc_to_nchw(nhwc);
  EXPECT_EQ(back.shape(), (Shape{N, C, H, W}));
  EXPECT_TRUE(back.is_contiguous());
  EXPECT_EQ(back.to_vector<float>(), v);
  // u8 images convert the same way.
  const Tensor u = ops::cast(nchw, DType::U8);
  EXPECT_EQ(ops::nchw_to_nhwc(u).to_vector<uint8_t>(), ops::cast(nhwc, DType::U8).to_vector<uint8_t>());
  EXPECT_THROW(ops::nchw_to_nhwc(zeros(Shape{2, 3, 4})), Error);
  EXPECT_THROW(ops::nhwc_to_nchw(zeros(Shape{1, 2, 3, 4, 5})), Error);
}

}  // namespace
}  // namespace retort
