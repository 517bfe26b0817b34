// Pooling ops against naive double-precision NCHW loops written from PyTorch's
// rules, and hand-computed cases.
//
// Inputs are generated in NCHW, converted to NHWC for the op, and the op's
// results are converted back with an explicit transpose before comparison.
// Each case runs with 2 threads, 1, then 2 again; the two 2-thread runs must
// agree bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::to_doubles;

class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(saved_); }

 private:
  int saved_;
};

void expect_error(const std::function<void()>& fn, const std::string& op) {
  try {
    fn();
    ADD_FAILURE() << "expected retort::Error from " << op;
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(op), std::string::npos) << "message does not name " << op << ": " << e.message();
  }
}

Tensor nhwc(const std::vector<float>& v, const Shape& nchw_shape) {
  return ops::nchw_to_nhwc(from_vector<float>(v, nchw_shape));
}

// PyTorch's pooling_output_shape: floor division rounding toward -inf (div_rtn)
// of in + 2p - k (+ s - 1 in ceil mode), plus one; in ceil mode a last window
// that would start at or after in + p is dropped.
int64_t ref_out_size(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const int64_t num = in + 2 * p - k + (ceil_mode ? s - 1 : 0);
  int64_t out = static_cast<int64_t>(std::floor(static_cast<double>(num) / static_cast<double>(s))) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

struct PoolCase {
  const char* name;
  int64_t N, C, H, W;
  ops::Pool2dOptions o;  // kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, ceil_mode, count_include_pad
};

std::ostream& operator<<(std::ostream& os, const PoolCase& c) { return os << c.name; }

struct PoolDims {
  int64_t N, C, H, W, OH, OW;
};

PoolDims dims_of(const PoolCase& k) {
  return PoolDims{k.N, k.C, k.H, k.W, ref_out_size(k.H, k.o.kernel_h, k.o.stride_h, k.o.pad_h, k.o.ceil_mode),
                  ref_out_size(k.W, k.o.kernel_w, k.o.stride_w, k.o.pad_w, k.o.ceil_mode)};
}

struct MaxRef {
  std::vector<double> y, idx, dx;
};

// Max over the in-image part of each window (padding never wins); a NaN
// replaces the running maximum (PyTorch's `val > max || isnan(val)`); ties keep
// the first. dx scatters dy to the recorded positions.
MaxRef naive_max_pool(const PoolDims& d, const ops::Pool2dOptions& o, const std::vector<double>& x,
                      const std::vector<double>& dy) {
  MaxRef r;
  r.y.assign(d.N * d.C * d.OH * d.OW, 0.0);
  r.idx.assign(r.y.size(), -1.0);
  r.dx.assign(d.N * d.C * d.H * d.W, 0.0);
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t c = 0; c < d.C; ++c) {
      const int64_t plane = (n * d.C + c) * d.H * d.W;
      for (int64_t oh = 0; oh < d.OH; ++oh)
        for (int64_t ow = 0; ow < d.OW; ++ow) {
          double best = 0.0;
          int64_t at = -1;
          for (int64_t ih = oh * o.stride_h - o.pad_h; ih < oh * o.stride_h - o.pad_h + o.kernel_h; ++ih)
            for (int64_t iw = ow * o.stride_w - o.pad_w; iw < ow * o.stride_w - o.pad_w + o.kernel_w; ++iw) {
              if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
              const double v = x[plane + ih * d.W + iw];
              if (at < 0 || v > best || std::isnan(v)) {
                best = v;
                at = ih * d.W + iw;
              }
            }
          const int64_t q = ((n * d.C + c) * d.OH + oh) * d.OW + ow;
          r.y[q] = best;
          r.idx[q] = static_cast<double>(at);
          if (at >= 0) r.dx[plane + at] += dy[q];
        }
    }
  return r;
}

struct AvgRef {
  std::vector<double> y, dx;
};

// PyTorch's avg_pool2d: the window is clipped to input + padding for the
// count_include_pad divisor, then to the input for the sum (and the other divisor).
AvgRef naive_avg_pool(const PoolDims& d, const ops::Pool2dOptions& o, const std::vector<double>& x,
                      const std::vector<double>& dy) {
  AvgRef r;
  r.y.assign(d.N * d.C * d.OH * d.OW, 0.0);
  r.dx.assign(d.N * d.C * d.H * d.W, 0.0);
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t c = 0; c < d.C; ++c) {
      const int64_t plane = (n * d.C + c) * d.H * d.W;
      for (int64_t oh = 0; oh < d.OH; ++oh)
        for (int64_t ow = 0; ow < d.OW; ++ow) {
          int64_t hs = oh * o.stride_h - o.pad_h, ws = ow * o.stride_w - o.pad_w;
          int64_t he = std::min(hs + o.kernel_h, d.H + o.pad_h), we = std::min(ws + o.kernel_w, d.W + o.pad_w);
          const int64_t padded = (he - hs) * (we - ws);
          hs = std::max<int64_t>(hs, 0);
          ws = std::max<int64_t>(ws, 0);
          he = std::min(he, d.H);
          we = std::min(we, d.W);
          const double div = static_cast<double>(o.count_include_pad ? padded : (he - hs) * (we - ws));
          const int64_t q = ((n * d.C + c) * d.OH + oh) * d.OW + ow;
          double s = 0.0;
          for (int64_t ih = hs; ih < he; ++ih)
            for (int64_t iw = ws; iw < we; ++iw) {
              s += x[plane + ih * d.W + iw];
              r.dx[plane + ih * d.W + iw] += dy[q] / div;
            }
          r.y[q] = s / div;
        }
    }
  return r;
}

// Adaptive windows [floor(i*in/out), ceil((i+1)*in/out)), computed in floating point.
AvgRef naive_adaptive(int64_t N, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW,
                      const std::vector<double>& x, const std::vector<double>& dy) {
  auto lo = [](int64_t i, int64_t in, int64_t out) { return static_cast<int64_t>(std::floor(double(i) * in / out)); };
  auto hi = [](int64_t i, int64_t in, int64_t out) { return static_cast<int64_t>(std::ceil(double(i + 1) * in / out)); };
  AvgRef r;
  r.y.assign(N * C * OH * OW, 0.0);
  r.dx.assign(N * C * H * W, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t plane = (n * C + c) * H * W;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t hs = lo(oh, H, OH), he = hi(oh, H, OH), ws = lo(ow, W, OW), we = hi(ow, W, OW);
          const double cnt = static_cast<double>((he - hs) * (we - ws));
          const int64_t q = ((n * C + c) * OH + oh) * OW + ow;
          double s = 0.0;
          for (int64_t ih = hs; ih < he; ++ih)
            for (int64_t iw = ws; iw < we; ++iw) {
              s += x[plane + ih * W + iw];
              r.dx[plane + ih * W + iw] += dy[q] / cnt;
            }
          r.y[q] = s / cnt;
        }
    }
  return r;
}

ops::Pool2dOptions popts(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, bool ceil_mode,
                         bool count_include_pad = true) {
  return ops::Pool2dOptions{kh, kw, sh, sw, ph, pw, ceil_mode, count_include_pad};
}

const PoolCase kPoolCases[] = {
    // name, N, C, H, W, options
    {"K2S2Even", 2, 3, 8, 8, popts(2, 2, 2, 2, 0, 0, false)},
    {"K2S2Odd7x5Floor", 3, 2, 7, 5, popts(2, 2, 2, 2, 0, 0, false)},
    {"K2S2Odd7x5Ceil", 3, 2, 7, 5, popts(2, 2, 2, 2, 0, 0, true)},
    {"K2S2Pad1CeilDropsLastWindow", 1, 3, 5, 5, popts(2, 2, 2, 2, 1, 1, true)},
    {"K3S2Pad1", 2, 4, 7, 5, popts(3, 3, 2, 2, 1, 1, false)},
    {"K3S2Pad1Ceil", 2, 4, 8, 6, popts(3, 3, 2, 2, 1, 1, true)},
    {"K3S2Pad1CeilExcludePad", 1, 4, 8, 6, popts(3, 3, 2, 2, 1, 1, true, false)},
    {"K3S2Pad1ExcludePad", 3, 5, 9, 7, popts(3, 3, 2, 2, 1, 1, false, false)},
    {"K3S1Pad1", 1, 3, 6, 5, popts(3, 3, 1, 1, 1, 1, false)},
    {"K3S3Ceil8x8", 2, 2, 8, 8, popts(3, 3, 3, 3, 0, 0, true)},
    {"K5S2Pad2Ceil", 1, 2, 6, 9, popts(5, 5, 2, 2, 2, 2, true, false)},
    {"NonSquare", 2, 3, 7, 5, popts(3, 2, 2, 1, 1, 0, true)},
    {"NonSquareExcludePad", 1, 3, 6, 9, popts(2, 4, 1, 3, 1, 2, false, false)},
    {"GlobalWindow", 2, 5, 4, 4, popts(4, 4, 4, 4, 0, 0, false)},
    {"CeilKernelLargerThanInput", 1, 2, 2, 2, popts(3, 3, 2, 2, 0, 0, true)},
    {"Cifar16x32x32K2", 2, 16, 32, 32, popts(2, 2, 2, 2, 0, 0, false)},
    {"Cifar16x32x32K3S2Pad1", 1, 16, 32, 32, popts(3, 3, 2, 2, 1, 1, false)},
};

class PoolReference : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolReference, MaxPoolMatchesNaiveNchw) {
  const PoolCase& k = GetParam();
  const PoolDims d = dims_of(k);
  ASSERT_GE(d.OH, 1);
  ASSERT_GE(d.OW, 1);
  const Tensor x_nchw = testing::random_tensor(Shape{d.N, d.C, d.H, d.W}, 31);
  const Tensor dy_nchw = testing::random_tensor(Shape{d.N, d.C, d.OH, d.OW}, 32);
  const MaxRef ref = naive_max_pool(d, k.o, to_doubles(x_nchw), to_doubles(dy_nchw));
  const Tensor x = ops::nchw_to_nhwc(x_nchw), dy = ops::nchw_to_nhwc(dy_nchw);
  std::vector<std::vector<float>> two;
  for (int threads : {2, 1, 2}) {
    SCOPED_TRACE(::testing::Message() << threads << " thread(s)");
    ThreadCount tc(threads);
    const ops::MaxPoolResult r = ops::max_pool2d(x, k.o);
    ASSERT_EQ(r.y.shape(), (Shape{d.N, d.OH, d.OW, d.C}));
    EXPECT_CLOSE(ops::nhwc_to_nchw(r.y), ref.y, 0, 0);
    EXPECT_CLOSE(ops::nhwc_to_nchw(r.indices), ref.idx, 0, 0);
    const Tensor dx = ops::max_pool2d_backward(dy, r.indices, x.shape());
    EXPECT_CLOSE(ops::nhwc_to_nchw(dx), ref.dx, 1e-6, 1e-6);
    if (threads == 2) {
      std::vector<float> all = r.y.to_vector<float>(), g = dx.to_vector<float>();
      all.insert(all.end(), g.begin(), g.end());
      two.push_back(all);
    }
  }
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0], two[1]);
}

TEST_P(PoolReference, AvgPoolMatchesNaiveNchw) {
  const PoolCase& k = GetParam();
  const PoolDims d = dims_of(k);
  const Tensor x_nchw = testing::random_tensor(Shape{d.N, d.C, d.H, d.W}, 33);
  const Tensor dy_nchw = testing::random_tensor(Shape{d.N, d.C, d.OH, d.OW}, 34);
  const Tensor x = ops::nchw_to_nhwc(x_nchw), dy = ops::nchw_to_nhwc(dy_nchw);
  // Both divisors on every geometry: they differ wherever a window touches padding.
  for (bool include : {true, false}) {
    SCOPED_TRACE(include ? "count_include_pad" : "exclude pad");
    ops::Pool2dOptions o = k.o;
    o.count_include_pad = include;
    const AvgRef ref = naive_avg_pool(d, o, to_doubles(x_nchw), to_doubles(dy_nchw));
    std::vector<std::vector<float>> two;
    for (int threads : {2, 1, 2}) {
      SCOPED_TRACE(::testing::Message() << threads << " thread(s)");
      ThreadCount tc(threads);
      const Tensor y = ops::avg_pool2d(x, o);
      ASSERT_EQ(y.shape(), (Shape{d.N, d.OH, d.OW, d.C}));
      EXPECT_CLOSE(ops::nhwc_to_nchw(y), ref.y, 1e-5, 1e-5);
      const Tensor dx = ops::avg_pool2d_backward(dy, x.shape(), o);
      EXPECT_CLOSE(ops::nhwc_to_nchw(dx), ref.dx, 1e-5, 1e-5);
      if (threads == 2) {
        std::vector<float> all = y.to_vector<float>(), g = dx.to_vector<float>();
        all.insert(all.end(), g.begin(), g.end());
        two.push_back(all);
      }
    }
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0], two[1]);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PoolReference, ::testing::ValuesIn(kPoolCases),
                         [](const ::testing::TestParamInfo<PoolCase>& info) { return std::string(info.param.name); });

struct AdaptiveCase {
  const char* name;
  int64_t N, C, H, W, OH, OW;
};

std::ostream& operator<<(std::ostream& os, const AdaptiveCase& c) { return os << c.name; }

const AdaptiveCase kAdaptiveCases[] = {
    {"NonDivisible5x7To3x2", 2, 3, 5, 7, 3, 2},
    {"Global", 3, 4, 6, 5, 1, 1},
    {"Divisible8x8To4x4", 1, 2, 8, 8, 4, 4},
    {"Upsample3x2To5x4", 2, 2, 3, 2, 5, 4},
    {"Identity", 1, 3, 4, 3, 4, 3},
    {"Cifar64x8x8Global", 2, 64, 8, 8, 1, 1},
    {"ImageNet7x7From13x11", 1, 5, 13, 11, 7, 7},
};

class AdaptiveReference : public ::testing::TestWithParam<AdaptiveCase> {};

TEST_P(AdaptiveReference, MatchesNaiveNchw) {
  const AdaptiveCase& k = GetParam();
  const Tensor x_nchw = testing::random_tensor(Shape{k.N, k.C, k.H, k.W}, 35);
  const Tensor dy_nchw = testing::random_tensor(Shape{k.N, k.C, k.OH, k.OW}, 36);
  const AvgRef ref = naive_adaptive(k.N, k.C, k.H, k.W, k.OH, k.OW, to_doubles(x_nchw), to_doubles(dy_nchw));
  const Tensor x = ops::nchw_to_nhwc(x_nchw), dy = ops::nchw_to_nhwc(dy_nchw);
  std::vector<std::vector<float>> two;
  for (int threads : {2, 1, 2}) {
    SCOPED_TRACE(::testing::Message() << threads << " thread(s)");
    ThreadCount tc(threads);
    const Tensor y = ops::adaptive_avg_pool2d(x, k.OH, k.OW);
    ASSERT_EQ(y.shape(), (Shape{k.N, k.OH, k.OW, k.C}));
    EXPECT_CLOSE(ops::nhwc_to_nchw(y), ref.y, 1e-5, 1e-5);
    const Tensor dx = ops::adaptive_avg_pool2d_backward(dy, x.shape());
    EXPECT_CLOSE(ops::nhwc_to_nchw(dx), ref.dx, 1e-5, 1e-5);
    if (threads == 2) {
      std::vector<float> all = y.to_vector<float>(), g = dx.to_vector<float>();
      all.insert(all.end(), g.begin(), g.end());
      two.push_back(all);
    }
  }
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0], two[1]);
}

INSTANTIATE_TEST_SUITE_P(Cases, AdaptiveReference, ::testing::ValuesIn(kAdaptiveCases),
                         [](const ::testing::TestParamInfo<AdaptiveCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------- output sizes

TEST(PoolOutputSize, FollowsPyTorch) {
  // (in, k, s, p, ceil) -> PyTorch's output size.
  struct S {
    int64_t in, k, s, p;
    bool ceil;
    int64_t out;
  };
  const S cases[] = {
      {5, 2, 2, 0, false, 2}, {5, 2, 2, 0, true, 3},   {32, 3, 2, 1, false, 16}, {32, 3, 2, 1, true, 17},
      {5, 2, 2, 1, true, 3},  // ceil would give 4, but that window starts at 6 >= in + p: dropped
      {4, 3, 2, 1, true, 3},  {8, 3, 3, 0, true, 3},   {2, 3, 2, 0, true, 1},   {112, 3, 2, 1, false, 56},
  };
  for (const S& c : cases) {
    SCOPED_TRACE(::testing::Message() << "in " << c.in << " k " << c.k << " s " << c.s << " p " << c.p << " ceil "
                                      << c.ceil);
    EXPECT_EQ(ref_out_size(c.in, c.k, c.s, c.p, c.ceil), c.out);
    const Tensor y = ops::avg_pool2d(zeros(Shape{1, c.in, c.in, 1}), ops::Pool2dOptions::make(c.k, c.s, c.p, c.ceil));
    EXPECT_EQ(y.size(1), c.out);
    EXPECT_EQ(y.size(2), c.out);
  }
}

// ---------------------------------------------------------------- hand-computed

//  1  3  2  2        window maxima (k2 s2): 4 at (1,0); the 2s tie -> first, (0,2);
//  4  0  2 -1        -5 at (2,0); all four 7s tie -> first, (2,2).
// -5 -6  7  7
// -7 -8  7  7
TEST(MaxPoolHand, ValuesIndicesTiesAndBackward) {
  const Tensor x = nhwc({1, 3, 2, 2, 4, 0, 2, -1, -5, -6, 7, 7, -7, -8, 7, 7}, Shape{1, 1, 4, 4});
  const ops::MaxPoolResult r = ops::max_pool2d(x, ops::Pool2dOptions::make(2));
  EXPECT_CLOSE(r.y, std::vector<double>{4, 2, -5, 7}, 0, 0);
  EXPECT_CLOSE(r.indices, std::vector<double>{4, 2, 8, 10}, 0, 0);
  const Tensor dx = ops::max_pool2d_backward(nhwc({1, 2, 3, 4}, Shape{1, 1, 2, 2}), r.indices, x.shape());
  EXPECT_CLOSE(dx, std::vector<double>{0, 0, 2, 0, 1, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0}, 0, 0);
}

// All-negative input with padding 1: the zero padding must never be the maximum.
// x[i][j] = -(3i + j + 1) decreases along both axes, so each window's maximum is its top-left in-image pixel.
TEST(MaxPoolHand, PaddingNeverWins) {
  const Tensor x = nhwc({-1, -2, -3, -4, -5, -6, -7, -8, -9}, Shape{1, 1, 3, 3});
  const ops::MaxPoolResult r = ops::max_pool2d(x, ops::Pool2dOptions::make(3, 1, 1));
  EXPECT_CLOSE(r.y, std::vector<double>{-1, -1, -2, -1, -1, -2, -4, -4, -5}, 0, 0);
  EXPECT_CLOSE(r.indices, std::vector<double>{0, 0, 1, 0, 0, 1, 3, 3, 4}, 0, 0);
}

// A window of -inf still points at a pixel of the window (the first), never at padding.
TEST(MaxPoolHand, AllMinusInfinityWindow) {
  const float m = -std::numeric_limits<float>::infinity();
  const Tensor x = nhwc({m, m, m, m}, Shape{1, 1, 2, 2});
  const ops::MaxPoolResult r = ops::max_pool2d(x, ops::Pool2dOptions::make(2, 1, 1));
  EXPECT_CLOSE(r.y, std::vector<double>(9, -INFINITY), 0, 0);
  EXPECT_CLOSE(r.indices, std::vector<double>{0, 0, 1, 0, 0, 1, 2, 2, 3}, 0, 0);
  const Tensor dx = ops::max_pool2d_backward(ones(Shape{1, 3, 3, 1}), r.indices, x.shape());
  EXPECT_CLOSE(dx, std::vector<double>{4, 2, 2, 1}, 0, 0);
}

// NaN propagates whether it comes before or after the larger values, and the
// index points at it; the gradient goes to the NaN's position.
TEST(MaxPoolHand, NaNPropagates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Two 1x2 windows (k (1,2)): [NaN, 5] and [5, NaN]; one channel, one image, one row.
  const Tensor x = nhwc({nan, 5, 5, nan}, Shape{1, 1, 1, 4});
  const ops::MaxPoolResult r = ops::max_pool2d(x, popts(1, 2, 1, 2, 0, 0, false));
  const std::vector<float> y = r.y.to_vector<float>();
  ASSERT_EQ(y.size(), 2u);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_CLOSE(r.indices, std::vector<double>{0, 3}, 0, 0);
  EXPECT_CLOSE(ops::max_pool2d_backward(from_vector<float>({1, 2}, Shape{1, 1, 2, 1}), r.indices, x.shape()),
               std::vector<double>{1, 0, 0, 2}, 0, 0);
  // Channels are independent: a NaN in channel 0 leaves channel 1's maximum alone.
  const Tensor x2 = from_vector<float>({nan, 1, 0, 3}, Shape{1, 1, 2, 2});
  const ops::MaxPoolResult r2 = ops::max_pool2d(x2, popts(1, 2, 1, 1, 0, 0, false));
  const std::vector<float> y2 = r2.y.to_vector<float>();
  EXPECT_TRUE(std::isnan(y2[0]));
  EXPECT_EQ(y2[1], 3.0f);
  EXPECT_CLOSE(r2.indices, std::vector<double>{0, 1}, 0, 0);
}

// PyTorch's documented example: arange(25) as 1x1x5x5, kernel 2, stride 2,
// ceil_mode: 3x3 outputs; the last row/column windows hold 2 (and the corner 1)
// pixels and, with no padding, count_include_pad divides by those counts too.
TEST(AvgPoolHand, CeilModeArange5x5) {
  std::vector<float> v(25);
  for (int i = 0; i < 25; ++i) v[i] = static_cast<float>(i);
  const Tensor x = nhwc(v, Shape{1, 1, 5, 5});
  const std::vector<double> expected{3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24};
  for (bool include : {true, false}) {
    const Tensor y = ops::avg_pool2d(x, ops::Pool2dOptions::make(2, 2, 0, true, include));
    EXPECT_EQ(y.shape(), (Shape{1, 3, 3, 1}));
    EXPECT_CLOSE(y, expected, 1e-6, 0);
  }
  // Backward with dy = 1: each pixel gets 1/divisor of its window.
  const Tensor dx = ops::avg_pool2d_backward(ones(Shape{1, 3, 3, 1}), x.shape(), ops::Pool2dOptions::make(2, 2, 0, true));
  EXPECT_CLOSE(dx,
               std::vector<double>{.25, .25, .25, .25, .5, .25, .25, .25, .25, .5, .25, .25, .25, .25, .5, .25, .25,
                                   .25, .25, .5, .5, .5, .5, .5, 1},
               1e-7, 0);
}

// arange(16) as 4x4, kernel 3, stride 2, padding 1, ceil_mode: 3x3 outputs with
// row/column windows [-1,2), [1,4), [3,6) -> clipped to input+padding [3,5).
// Sums (x[i][j] = 4i + j): 10 24 10 / 51 90 33 / 25 42 15.
// count_include_pad divisors 9 9 6 / 9 9 6 / 6 6 4; without: 4 6 2 / 6 9 3 / 2 3 1.
TEST(AvgPoolHand, CeilModeWithPaddingBothDivisors) {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i);
  const Tensor x = nhwc(v, Shape{1, 1, 4, 4});
  const Tensor inc = ops::avg_pool2d(x, ops::Pool2dOptions::make(3, 2, 1, true, true));
  EXPECT_EQ(inc.shape(), (Shape{1, 3, 3, 1}));
  EXPECT_CLOSE(inc, std::vector<double>{10. / 9, 24. / 9, 10. / 6, 51. / 9, 10, 33. / 6, 25. / 6, 7, 15. / 4}, 1e-6, 1e-6);
  const Tensor exc = ops::avg_pool2d(x, ops::Pool2dOptions::make(3, 2, 1, true, false));
  EXPECT_CLOSE(exc, std::vector<double>{2.5, 4, 5, 8.5, 10, 11, 12.5, 14, 15}, 1e-6, 1e-6);
}

// ShuffleNetV1's shortcut: avg_pool2d(3, stride 2, padding 1) with
// count_include_pad divides by 9 even at the border. On ones(6x6) the windows
// hold 4 / 6 / 9 real pixels: 4/9, 6/9, 6/9 / 6/9, 1, 1 / 6/9, 1, 1.
TEST(AvgPoolHand, ShuffleNetShortcutDividesByNine) {
  const Tensor x = ones(Shape{2, 6, 6, 3});
  const Tensor y = ops::avg_pool2d(x, ops::Pool2dOptions::make(3, 2, 1));
  ASSERT_EQ(y.shape(), (Shape{2, 3, 3, 3}));
  const std::vector<double> plane{4. / 9, 6. / 9, 6. / 9, 6. / 9, 1, 1, 6. / 9, 1, 1};
  std::vector<double> expected;
  for (int n = 0; n < 2; ++n)
    for (double p : plane)
      for (int c = 0; c < 3; ++c) expected.push_back(p);
  EXPECT_CLOSE(y, expected, 1e-6, 1e-6);
  // And on arange(4x4): 10/9, 24/9 / 51/9, 90/9.
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i);
  EXPECT_CLOSE(ops::avg_pool2d(nhwc(v, Shape{1, 1, 4, 4}), ops::Pool2dOptions::make(3, 2, 1)),
               std::vector<double>{10. / 9, 24. / 9, 51. / 9, 10}, 1e-6, 1e-6);
}

// arange(35) as 5x7 -> 3x2: rows [0,2), [1,4), [3,5); columns [0,4), [3,7).
// Means of x[i][j] = 7i + j: row part 3.5, 14, 24.5; column part 1.5, 4.5.
TEST(AdaptiveAvgPoolHand, NonDivisible5x7To3x2AndGlobal) {
  std::vector<float> v(35);
  for (int i = 0; i < 35; ++i) v[i] = static_cast<float>(i);
  const Tensor x = nhwc(v, Shape{1, 1, 5, 7});
  EXPECT_CLOSE(ops::adaptive_avg_pool2d(x, 3, 2), std::vector<double>{5, 8, 15.5, 18.5, 26, 29}, 1e-6, 1e-6);
  EXPECT_CLOSE(ops::adaptive_avg_pool2d(x, 1, 1), std::vector<double>{17}, 1e-6, 1e-6);
  // Backward of the global pool spreads dy/35 everywhere.
  EXPECT_CLOSE(ops::adaptive_avg_pool2d_backward(full(Shape{1, 1, 1, 1}, 35.0), x.shape()), std::vector<double>(35, 1.0),
               1e-6, 1e-6);
  // Overlapping windows: row 1 and 3 lie in two row windows, column 3 in both column windows.
  const Tensor dx = ops::adaptive_avg_pool2d_backward(ones(Shape{1, 3, 2, 1}), x.shape());
  const double r0 = 1. / 2, r1 = 1. / 3, r2 = 1. / 2;  // 1 / row-window size
  const double rows[5] = {r0, r0 + r1, r1, r1 + r2, r2};
  std::vector<double> expected;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 7; ++j) expected.push_back(rows[i] * (j == 3 ? 0.5 : 0.25));
  EXPECT_CLOSE(dx, expected, 1e-6, 1e-6);
}

// ---------------------------------------------------------------- errors

TEST(PoolErrors, BadShapesNameTheOp) {
  const Tensor x = zeros(Shape{1, 6, 6, 2});
  for (const char* op : {"max_pool2d", "avg_pool2d"}) {
    SCOPED_TRACE(op);
    const std::string name(op);
    auto pool = [&](const Tensor& t, const ops::Pool2dOptions& o) {
      if (name == "max_pool2d") ops::max_pool2d(t, o);
      else ops::avg_pool2d(t, o);
    };
    expect_error([&] { pool(zeros(Shape{6, 6, 2}), ops::Pool2dOptions::make(2)); }, op);
    expect_error([&] { pool(x, ops::Pool2dOptions::make(3, 1, 2)); }, op);  // padding > kernel/2
    expect_error([&] { pool(x, popts(2, 4, 1, 1, 0, 3, false)); }, op);     // padding > kernel/2 along w
    expect_error([&] { pool(x, ops::Pool2dOptions::make(3, 1, -1)); }, op);
    expect_error([&] { pool(x, popts(2, 2, 0, 1, 0, 0, false)); }, op);  // stride 0
    expect_error([&] { pool(x, popts(0, 2, 1, 1, 0, 0, false)); }, op);  // kernel 0
    // Input smaller than the window (floor mode), including a stride that must not round a negative span up.
    expect_error([&] { pool(zeros(Shape{1, 2, 2, 2}), ops::Pool2dOptions::make(3, 1)); }, op);
    expect_error([&] { pool(zeros(Shape{1, 2, 2, 2}), ops::Pool2dOptions::make(3, 2)); }, op);
    expect_error([&] { pool(zeros(Shape{1, 1, 1, 2}), ops::Pool2dOptions::make(3, 2, 0, true)); }, op);
    expect_error([&] { pool(zeros(Shape{1, 6, 6, 2}, DType::I64), ops::Pool2dOptions::make(2)); }, op);
  }
  expect_error([] { ops::adaptive_avg_pool2d(zeros(Shape{6, 6, 2}), 2, 2); }, "adaptive_avg_pool2d");
  expect_error([&] { ops::adaptive_avg_pool2d(x, 0, 2); }, "adaptive_avg_pool2d");
  expect_error([&] { ops::adaptive_avg_pool2d(x, 2, -1); }, "adaptive_avg_pool2d");
  expect_error([] { ops::adaptive_avg_pool2d(zeros(Shape{1, 0, 3, 2}), 1, 1); }, "adaptive_avg_pool2d");
}

TEST(PoolErrors, BackwardChecksDy) {
  const Shape xs{2, 6, 6, 3};
  const ops::Pool2dOptions o = ops::Pool2dOptions::make(2);
  EXPECT_NO_THROW(ops::avg_pool2d_backward(zeros(Shape{2, 3, 3, 3}), xs, o));
  for (const Shape& bad : {Shape{2, 3, 3, 2}, Shape{2, 2, 3, 3}, Shape{1, 3, 3, 3}, Shape{2, 9, 3}}) {
    SCOPED_TRACE(bad.str());
    expect_error([&] { ops::avg_pool2d_backward(zeros(bad), xs, o); }, "avg_pool2d_backward");
  }
  // Max and adaptive pooling carry no window options, so only the batch, channels and rank can be checked.
  for (const Shape& bad : {Shape{2, 3, 3, 2}, Shape{1, 3, 3, 3}, Shape{2, 9, 3}}) {
    SCOPED_TRACE(bad.str());
    expect_error([&] { ops::max_pool2d_backward(zeros(bad), zeros(bad, DType::I64), xs); }, "max_pool2d_backward");
    expect_error([&] { ops::adaptive_avg_pool2d_backward(zeros(bad), xs); }, "adaptive_avg_pool2d_backward");
  }
  // max_pool2d_backward: indices must be i64 and shaped like dy.
  const ops::MaxPoolResult r = ops::max_pool2d(zeros(xs), o);
  EXPECT_NO_THROW(ops::max_pool2d_backward(zeros(Shape{2, 3, 3, 3}), r.indices, xs));
  expect_error([&] { ops::max_pool2d_backward(zeros(Shape{2, 3, 3, 3}), zeros(Shape{2, 3, 3, 3}), xs); },
               "max_pool2d_backward");
  expect_error([&] { ops::max_pool2d_backward(zeros(Shape{2, 3, 3, 3}), zeros(Shape{2, 3, 2, 3}, DType::I64), xs); },
               "max_pool2d_backward");
  expect_error([&] { ops::max_pool2d_backward(zeros(Shape{2, 3, 3, 3}), r.indices, Shape{2, 6, 6}); },
               "max_pool2d_backward");
}

}  // namespace
}  // namespace retort
