// The shared bodies of the CUDA convolution kernels (tensor/kernels/conv.h),
// run in plain loops on the CPU the way tensor/cuda/conv_fallback.cu launches
// them (im2col / col2im over runs of images with the GEMMs as double loops,
// direct depthwise kernels), against ops::conv2d* on the CPU. On a machine
// without a GPU this is what covers the index arithmetic the GPU runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <vector>

#include "tensor/kernels/conv.h"
#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::random_tensor;

struct BodyCase {
  const char* name;
  int64_t N, H, W, C, O, KH, KW;
  ops::Conv2dOptions o;  // stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups
  int64_t run;           // images per im2col run (conv_fallback.cu sizes it by memory)
};

std::ostream& operator<<(std::ostream& os, const BodyCase& c) { return os << c.name; }

const BodyCase kCases[] = {
    {"3x3_pad1", 2, 7, 6, 5, 4, 3, 3, {1, 1, 1, 1, 1, 1, 1}, 2},
    {"3x3_stride2_odd", 3, 9, 7, 3, 6, 3, 3, {2, 2, 1, 1, 1, 1, 1}, 2},
    {"groups2", 2, 6, 5, 4, 6, 3, 3, {1, 1, 1, 1, 1, 1, 2}, 1},
    {"dilation2", 1, 9, 8, 3, 4, 3, 3, {1, 1, 2, 2, 2, 2, 1}, 1},
    {"pointwise", 2, 5, 4, 6, 3, 1, 1, {1, 1, 0, 0, 1, 1, 1}, 2},
    {"1x1_stride2", 2, 7, 5, 4, 5, 1, 1, {2, 2, 0, 0, 1, 1, 1}, 2},
    {"7x7_stride2_pad3", 1, 11, 10, 3, 4, 7, 7, {2, 2, 3, 3, 1, 1, 1}, 1},
    {"1x3_mixed_strides", 2, 5, 7, 2, 3, 1, 3, {2, 1, 0, 1, 1, 2, 1}, 1},
    {"depthwise_3x3_s2", 2, 7, 6, 4, 4, 3, 3, {2, 2, 1, 1, 1, 1, 4}, 1},
    {"depthwise_5x5_dil2", 1, 9, 9, 3, 3, 5, 5, {1, 1, 4, 4, 2, 2, 3}, 1},
    {"depthwise_multiplier2", 2, 5, 5, 3, 6, 3, 3, {1, 1, 1, 1, 1, 1, 3}, 2},
};

ConvGeom geom_of(const BodyCase& c) {
  ConvGeom g{};
  g.N = c.N, g.H = c.H, g.W = c.W, g.C = c.C, g.O = c.O, g.KH = c.KH, g.KW = c.KW;
  g.SH = c.o.stride_h, g.SW = c.o.stride_w, g.PH = c.o.pad_h, g.PW = c.o.pad_w;
  g.DH = c.o.dilation_h, g.DW = c.o.dilation_w, g.G = c.o.groups;
  g.OH = conv_out_size(g.H, g.KH, g.SH, g.PH, g.DH);
  g.OW = conv_out_size(g.W, g.KW, g.SW, g.PW, g.DW);
  return g;
}

struct Inputs {
  Tensor x, w, dy;
};

Inputs inputs_of(const ConvGeom& g) {
  return {random_tensor({g.N, g.H, g.W, g.C}, 11, 0.5f), random_tensor({g.O, g.Cg(), g.KH, g.KW}, 12, 0.5f),
          random_tensor({g.N, g.OH, g.OW, g.O}, 13, 0.5f)};
}

std::vector<float> to_ohwi(const ConvGeom& g, const float* w) {
  std::vector<float> wr(g.O * g.K());
  for (int64_t i = 0; i < int64_t(wr.size()); ++i) wr[i] = w[conv_weight_oihw_offset(g, i)];
  return wr;
}

// The geometry of a run of `count` images.
ConvGeom run_geom(ConvGeom g, int64_t count) {
  g.N = count;
  return g;
}

class ConvBodies : public ::testing::TestWithParam<BodyCase> {};

TEST_P(ConvBodies, WeightLayoutIsOhwiAndRoundTrips) {
  const ConvGeom g = geom_of(GetParam());
  const Tensor w = random_tensor({g.O, g.Cg(), g.KH, g.KW}, 3);
  const float* wp = w.data<float>();
  const std::vector<float> wr = to_ohwi(g, wp);
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw)
        for (int64_t c = 0; c < g.Cg(); ++c)
          ASSERT_EQ(wr[((o * g.KH + kh) * g.KW + kw) * g.Cg() + c], wp[((o * g.Cg() + c) * g.KH + kh) * g.KW + kw]);
  std::vector<float> back(wr.size(), -1.0f);
  for (int64_t i = 0; i < int64_t(wr.size()); ++i) back[conv_weight_oihw_offset(g, i)] = wr[i];
  EXPECT_TRUE(std::equal(back.begin(), back.end(), wp));
}

// conv_tap_output inverts im2col_source: (input pixel, tap) -> output pixel.
TEST_P(ConvBodies, TapOutputInvertsIm2colSource) {
  const ConvGeom g = geom_of(GetParam());
  const int64_t T = g.KH * g.KW;
  int64_t reads = 0, hits = 0;
  for (int64_t p = 0; p < g.P(); ++p)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t src = im2col_source(g, p, t, 0);
      if (src < 0) continue;
      ++reads;
      const int64_t pix = src / g.C;
      ASSERT_EQ(conv_tap_output(g, pix / g.W, pix % g.W, t), p) << "p " << p << ", t " << t;
    }
  for (int64_t ih = 0; ih < g.H; ++ih)
    for (int64_t iw = 0; iw < g.W; ++iw)
      for (int64_t t = 0; t < T; ++t) hits += conv_tap_output(g, ih, iw, t) >= 0;
  EXPECT_EQ(hits, reads);
  EXPECT_GT(reads, 0);
}

TEST_P(ConvBodies, Im2colGemmForwardMatchesConv2d) {
  const BodyCase& c = GetParam();
  const ConvGeom g = geom_of(c);
  const Inputs in = inputs_of(g);
  const std::vector<float> wr = to_ohwi(g, in.w.data<float>());
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), in_img = g.H * g.W * g.C;
  Tensor y = zeros({g.N, g.OH, g.OW, g.O});
  float* yp = y.data<float>();
  std::vector<float> col;
  for (int64_t n0 = 0; n0 < g.N; n0 += c.run) {
    const ConvGeom r = run_geom(g, std::min(c.run, g.N - n0));
    const int64_t rows = r.N * P;
    col.assign(rows * K, 0.0f);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      for (int64_t i = 0; i < rows * K; ++i) col[i] = im2col_value(r, in.x.data<float>() + n0 * in_img, grp, i);
      for (int64_t row = 0; row < rows; ++row)
        for (int64_t o = 0; o < Og; ++o) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k) acc += double(col[row * K + k]) * wr[(grp * Og + o) * K + k];
          yp[(n0 * P + row) * g.O + grp * Og + o] = float(acc);
        }
    }
  }
  EXPECT_CLOSE(y, ops::conv2d(in.x, in.w, Tensor(), c.o), 1e-5, 1e-5);
}

TEST_P(ConvBodies, GemmCol2imBackwardInputMatchesConv2d) {
  const BodyCase& c = GetParam();
  const ConvGeom g = geom_of(c);
  const Inputs in = inputs_of(g);
  const std::vector<float> wr = to_ohwi(g, in.w.data<float>());
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), in_img = g.H * g.W * g.C;
  const float* dyp = in.dy.data<float>();
  Tensor dx = full({g.N, g.H, g.W, g.C}, 1e30);  // col2im_store must write every element
  std::vector<float> col;
  for (int64_t n0 = 0; n0 < g.N; n0 += c.run) {
    const ConvGeom r = run_geom(g, std::min(c.run, g.N - n0));
    const int64_t rows = r.N * P;
    col.assign(rows * K, 0.0f);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      for (int64_t row = 0; row < rows; ++row)
        for (int64_t k = 0; k < K; ++k) {
          double acc = 0;
          for (int64_t o = 0; o < Og; ++o) acc += double(dyp[(n0 * P + row) * g.O + grp * Og + o]) * wr[(grp * Og + o) * K + k];
          col[row * K + k] = float(acc);
        }
      for (int64_t i = 0; i < r.N * g.H * g.W * g.Cg(); ++i)
        col2im_store(r, col.data(), grp, dx.data<float>() + n0 * in_img, i);
    }
  }
  EXPECT_CLOSE(dx, ops::conv2d_backward_input(in.dy, in.w, in.x.shape(), c.o), 1e-5, 1e-5);
}

TEST_P(ConvBodies, Im2colGemmBackwardWeightMatchesConv2d) {
  const BodyCase& c = GetParam();
  const ConvGeom g = geom_of(c);
  const Inputs in = inputs_of(g);
  const int64_t P = g.P(), K = g.K(), Og = g.Og(), in_img = g.H * g.W * g.C;
  const float* dyp = in.dy.data<float>();
  std::vector<double> dwr(g.O * K, 0.0);
  std::vector<float> col;
  for (int64_t n0 = 0; n0 < g.N; n0 += c.run) {
    const ConvGeom r = run_geom(g, std::min(c.run, g.N - n0));
    const int64_t rows = r.N * P;
    col.assign(rows * K, 0.0f);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      for (int64_t i = 0; i < rows * K; ++i) col[i] = im2col_value(r, in.x.data<float>() + n0 * in_img, grp, i);
      for (int64_t o = 0; o < Og; ++o)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t row = 0; row < rows; ++row)
            dwr[(grp * Og + o) * K + k] += double(dyp[(n0 * P + row) * g.O + grp * Og + o]) * col[row * K + k];
    }
  }
  Tensor dw = empty({g.O, g.Cg(), g.KH, g.KW});
  for (int64_t i = 0; i < g.O * K; ++i) dw.data<float>()[conv_weight_oihw_offset(g, i)] = float(dwr[i]);
  EXPECT_CLOSE(dw, ops::conv2d_backward_weight(in.dy, in.x, Shape{g.O, g.Cg(), g.KH, g.KW}, c.o), 1e-5, 1e-5);
}

// The direct depthwise bodies, on the depthwise geometries of the table.
TEST(ConvBodiesDepthwise, BodiesMatchConv2d) {
  int cases = 0;
  for (const BodyCase& c : kCases) {
    const ConvGeom g = geom_of(c);
    if (!conv_is_depthwise(g)) continue;
    SCOPED_TRACE(c.name);
    ++cases;
    const Inputs in = inputs_of(g);
    const float *x = in.x.data<float>(), *w = in.w.data<float>(), *dy = in.dy.data<float>();
    Tensor y = empty(in.dy.shape()), dx = empty(in.x.shape()), dw = empty(in.w.shape());
    for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] = depthwise_forward_value(g, x, w, i);
    for (int64_t i = 0; i < dx.numel(); ++i) dx.data<float>()[i] = depthwise_backward_input_value(g, dy, w, i);
    for (int64_t i = 0; i < dw.numel(); ++i) dw.data<float>()[i] = depthwise_backward_weight_value(g, dy, x, i);
    EXPECT_CLOSE(y, ops::conv2d(in.x, in.w, Tensor(), c.o), 1e-5, 1e-5);
    EXPECT_CLOSE(dx, ops::conv2d_backward_input(in.dy, in.w, in.x.shape(), c.o), 1e-5, 1e-5);
    EXPECT_CLOSE(dw, ops::conv2d_backward_weight(in.dy, in.x, in.w.shape(), c.o), 1e-5, 1e-5);
  }
  EXPECT_EQ(cases, 2);
}

TEST(ConvBodiesDepthwise, IsDepthwiseOnlyForOneChannelPerGroupAndOutput) {
  ConvGeom g{};
  g.C = 8, g.O = 8, g.G = 8;
  EXPECT_TRUE(conv_is_depthwise(g));
  g.O = 16;  // channel multiplier 2: the grouped im2col path
  EXPECT_FALSE(conv_is_depthwise(g));
  g.O = 8, g.G = 4;
  EXPECT_FALSE(conv_is_depthwise(g));
  g.C = 1, g.O = 1, g.G = 1;  // a single channel is an ordinary convolution
  EXPECT_FALSE(conv_is_depthwise(g));
}

INSTANTIATE_TEST_SUITE_P(Geometries, ConvBodies, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<BodyCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace retort
