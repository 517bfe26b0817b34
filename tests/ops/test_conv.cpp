// conv2d and its backward ops against naive double-precision NCHW loops.
//
// Inputs are generated in NCHW (PyTorch's layout), converted to NHWC for the
// op, and the op's NHWC results are converted back with an explicit transpose
// before the comparison, so a layout mix-up cannot cancel out. Each case runs
// with 2 threads, then 1, then 2 again (the two counts take different paths for
// small batches: parallel over images vs. inside one image; running 2 threads
// first keeps scratch buffers filled by the 1-thread run from hiding a
// multi-threaded bug), and the two 2-thread runs must agree bit for bit. The
// built-in backend runs each case with every instruction set this CPU runs.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "tensor/cpu/conv_onednn.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::to_doubles;

// Restores the thread count a test changed.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(saved_); }

 private:
  int saved_;
};

// fn must throw retort::Error whose message names `op`.
void expect_error(const std::function<void()>& fn, const std::string& op) {
  try {
    fn();
    ADD_FAILURE() << "expected retort::Error from " << op;
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(op), std::string::npos) << "message does not name " << op << ": " << e.message();
  }
}

struct ConvCase {
  const char* name;
  int64_t N, C, H, W, O, KH, KW;
  ops::Conv2dOptions o;  // stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups
  bool bias;
};

std::ostream& operator<<(std::ostream& os, const ConvCase& c) { return os << c.name; }

// PyTorch's output extent (for valid geometries the numerator is >= 0).
int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

struct ConvRef {
  std::vector<double> y, dx, dw, db;  // NCHW / [O, Cg, KH, KW] / [O]
};

// The textbook definition: y[n,o,oh,ow] = b[o] + sum over the group's input
// channels and the taps; dx and dw are its adjoints for the given dy.
ConvRef naive_conv(const ConvCase& k, int64_t OH, int64_t OW, const std::vector<double>& x,
                   const std::vector<double>& w, const std::vector<double>& b, const std::vector<double>& dy) {
  const ops::Conv2dOptions& o = k.o;
  const int64_t Cg = k.C / o.groups, Og = k.O / o.groups;
  ConvRef r;
  r.y.assign(k.N * k.O * OH * OW, 0.0);
  r.dx.assign(k.N * k.C * k.H * k.W, 0.0);
  r.dw.assign(k.O * Cg * k.KH * k.KW, 0.0);
  r.db.assign(k.O, 0.0);
  for (int64_t n = 0; n < k.N; ++n)
    for (int64_t oc = 0; oc < k.O; ++oc) {
      const int64_t grp = oc / Og;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t yi = ((n * k.O + oc) * OH + oh) * OW + ow;
          double s = b.empty() ? 0.0 : b[oc];
          const double g = dy[yi];
          r.db[oc] += g;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < k.KH; ++kh)
              for (int64_t kw = 0; kw < k.KW; ++kw) {
                const int64_t ih = oh * o.stride_h - o.pad_h + kh * o.dilation_h;
                const int64_t iw = ow * o.stride_w - o.pad_w + kw * o.dilation_w;
                if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
                const int64_t xi = ((n * k.C + grp * Cg + c) * k.H + ih) * k.W + iw;
                const int64_t wi = ((oc * Cg + c) * k.KH + kh) * k.KW + kw;
                s += x[xi] * w[wi];
                r.dx[xi] += g * w[wi];
                r.dw[wi] += g * x[xi];
              }
          r.y[yi] = s;
        }
    }
  return r;
}

ops::Conv2dOptions opts(int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh = 1, int64_t dw = 1,
                        int64_t groups = 1) {
  return ops::Conv2dOptions{sh, sw, ph, pw, dh, dw, groups};
}

const ConvCase kConvCases[] = {
    // name, N, C, H, W, O, KH, KW, options, bias
    {"Pointwise1x1Stride1", 2, 8, 5, 6, 12, 1, 1, opts(1, 1, 0, 0), true},
    {"Pointwise1x1Stride1Batch1", 1, 16, 9, 8, 24, 1, 1, opts(1, 1, 0, 0), false},
    {"Pointwise1x1Stride2", 2, 6, 7, 5, 4, 1, 1, opts(2, 2, 0, 0), false},
    {"Pointwise1x1Padded", 1, 3, 4, 4, 2, 1, 1, opts(1, 1, 1, 1), true},
    {"Pointwise1x1Groups2", 2, 8, 5, 5, 6, 1, 1, opts(1, 1, 0, 0, 1, 1, 2), false},
    {"Conv3x3Pad1Stride1", 2, 5, 6, 7, 7, 3, 3, opts(1, 1, 1, 1), true},
    {"Conv3x3Pad1Stride2", 3, 4, 9, 8, 6, 3, 3, opts(2, 2, 1, 1), false},
    {"Conv3x3NoPadOdd7x5Batch1", 1, 3, 7, 5, 4, 3, 3, opts(1, 1, 0, 0), true},
    {"Conv3x3Pad2Batch3", 3, 2, 5, 4, 3, 3, 3, opts(1, 1, 2, 2), true},
    {"Conv5x5Pad2", 1, 3, 8, 9, 5, 5, 5, opts(1, 1, 2, 2), true},
    {"Conv5x5Stride3", 2, 2, 11, 7, 3, 5, 5, opts(3, 3, 1, 1), false},
    {"Dilation2", 2, 4, 9, 9, 3, 3, 3, opts(1, 1, 2, 2, 2, 2), false},
    {"Dilation2Stride2Odd", 1, 3, 7, 5, 2, 3, 3, opts(2, 2, 2, 1, 2, 2), true},
    {"NonSquareKernelStridePad", 2, 3, 7, 5, 4, 2, 3, opts(2, 1, 1, 0, 1, 2), true},
    {"NonSquare3x1", 1, 4, 6, 5, 3, 3, 1, opts(1, 2, 1, 0), false},
    {"SingleChannel", 2, 1, 6, 6, 1, 3, 3, opts(1, 1, 1, 1), true},
    {"Groups2", 2, 6, 6, 6, 4, 3, 3, opts(1, 1, 1, 1, 1, 1, 2), true},
    {"Groups3Stride2", 3, 9, 7, 5, 6, 3, 3, opts(2, 2, 1, 1, 1, 1, 3), true},
    {"Groups3Batch1", 1, 6, 10, 9, 9, 3, 3, opts(1, 1, 1, 1, 1, 1, 3), false},
    {"DepthwiseStride1", 2, 8, 6, 6, 8, 3, 3, opts(1, 1, 1, 1, 1, 1, 8), true},
    {"DepthwiseStride2Odd", 1, 6, 7, 5, 6, 3, 3, opts(2, 2, 1, 1, 1, 1, 6), false},
    {"DepthwiseStride2Batch3", 3, 5, 9, 8, 5, 3, 3, opts(2, 2, 1, 1, 1, 1, 5), true},
    {"Depthwise5x3Dilated", 2, 4, 8, 7, 4, 5, 3, opts(1, 1, 2, 1, 1, 2, 4), false},
    {"DepthwiseMultiplier2", 2, 4, 5, 5, 8, 3, 3, opts(1, 1, 1, 1, 1, 1, 4), true},
    {"DepthwiseMultiplier2Stride2", 1, 3, 7, 6, 6, 3, 3, opts(2, 2, 1, 1, 1, 1, 3), false},
    {"Cifar16x32x32Batch2", 2, 16, 32, 32, 16, 3, 3, opts(1, 1, 1, 1), false},
    {"Cifar16x32x32Batch1", 1, 16, 32, 32, 16, 3, 3, opts(1, 1, 1, 1), true},
    {"CifarDownsample16to32Stride2", 1, 16, 32, 32, 32, 3, 3, opts(2, 2, 1, 1), false},
    {"CifarShortcut1x1Stride2", 2, 16, 32, 32, 32, 1, 1, opts(2, 2, 0, 0), false},
    // K = 9*32 = 288 spans more than one GEMM depth block; 64 outputs more than one column panel.
    {"Cifar32to64x8x8", 2, 32, 8, 8, 64, 3, 3, opts(1, 1, 1, 1), true},
    {"Pointwise64to96Batch1", 1, 64, 6, 7, 96, 1, 1, opts(1, 1, 0, 0), true},
    // The tile kernels' edges: output and input channels that are not whole
    // 16-channel panels (one and two panels per tile, in both directions),
    // rows of pixels longer than one tile, strides that leave some input
    // phases without taps, and padding wider than the kernel reach.
    {"Channels40to20Stride2", 2, 40, 9, 11, 20, 3, 3, opts(2, 2, 1, 1), true},
    {"Channels20to40Wide", 1, 20, 5, 37, 40, 3, 3, opts(1, 1, 1, 1), false},
    {"Groups2Og40Dilated", 2, 34, 8, 9, 80, 3, 3, opts(1, 1, 2, 2, 2, 2, 2), true},
    {"Stem3to16", 2, 3, 12, 13, 16, 3, 3, opts(1, 1, 1, 1), true},
    {"Stride3Kernel2NoTapPhases", 2, 17, 10, 11, 33, 2, 2, opts(3, 3, 0, 0), false},
    {"Pad3Kernel3Stride2", 1, 18, 6, 5, 17, 3, 3, opts(2, 2, 3, 3), true},
    {"Shortcut1x1Stride2Channels64", 2, 32, 8, 8, 64, 1, 1, opts(2, 2, 0, 0), false},
    // oneDNN runs these on its Winograd kernel (AVX-512): odd extents that
    // leave partial 4x4 output tiles, batch 3, 48 channels in.
    {"Winograd48to32OddBatch3", 3, 48, 9, 7, 32, 3, 3, opts(1, 1, 1, 1), true},
    {"Winograd64to64Batch1", 1, 64, 6, 10, 64, 3, 3, opts(1, 1, 1, 1), false},
};

// Selects a convolution backend and restores the previous one.
class ConvBackendScope {
 public:
  explicit ConvBackendScope(const char* name) : saved_(cpu::conv_backend()) { cpu::set_conv_backend(name); }
  ~ConvBackendScope() { cpu::set_conv_backend(saved_); }

 private:
  const char* saved_;
};

// Selects the built-in GEMM micro-kernel (which also picks the built-in
// convolution's tile kernels) and restores the previous one.
class GemmIsaScope {
 public:
  explicit GemmIsaScope(const char* name) : saved_(cpu::gemm_builtin_isa()) { cpu::set_gemm_builtin_isa(name); }
  ~GemmIsaScope() { cpu::set_gemm_builtin_isa(saved_.c_str()); }

 private:
  std::string saved_;
};

// The instruction sets a case runs with: every one this CPU runs for the
// built-in backend, the default for oneDNN (which has its own dispatch).
std::vector<std::string> isas_for(const char* backend) {
  if (std::string(backend) != "builtin") return {cpu::gemm_builtin_isa()};
  std::vector<std::string> isas;
  for (const char* isa : {"avx512", "avx2", "portable"})
    if (cpu::gemm_builtin_isa_supported(isa)) isas.push_back(isa);
  return isas;
}

// Every backend this build has: each case runs on each.
std::vector<const char*> conv_backends() {
  std::vector<const char*> names;
  for (const char* n : {"builtin", "onednn"})
    if (cpu::conv_backend_available(n)) names.push_back(n);
  return names;
}

class ConvReference : public ::testing::TestWithParam<std::tuple<ConvCase, const char*>> {};

TEST_P(ConvReference, ForwardAndBackwardMatchNaiveNchw) {
  const ConvCase& k = std::get<0>(GetParam());
  ConvBackendScope backend(std::get<1>(GetParam()));
  const ops::Conv2dOptions& o = k.o;
  const int64_t OH = out_extent(k.H, k.KH, o.stride_h, o.pad_h, o.dilation_h);
  const int64_t OW = out_extent(k.W, k.KW, o.stride_w, o.pad_w, o.dilation_w);
  ASSERT_GE(OH, 1);
  ASSERT_GE(OW, 1);

  const Tensor x_nchw = testing::random_tensor(Shape{k.N, k.C, k.H, k.W}, 11);
  const Tensor w = testing::random_tensor(Shape{k.O, k.C / o.groups, k.KH, k.KW}, 12);
  const Tensor b = k.bias ? testing::random_tensor(Shape{k.O}, 13) : Tensor();
  const Tensor dy_nchw = testing::random_tensor(Shape{k.N, k.O, OH, OW}, 14);
  const ConvRef ref = naive_conv(k, OH, OW, to_doubles(x_nchw), to_doubles(w),
                                 k.bias ? to_doubles(b) : std::vector<double>(), to_doubles(dy_nchw));

  const Tensor x = ops::nchw_to_nhwc(x_nchw), dy = ops::nchw_to_nhwc(dy_nchw);
  struct Results {
    Tensor y, dx, dw, db;
  };
  auto run = [&]() {
    Results r;
    r.y = ops::conv2d(x, w, b, o);
    EXPECT_EQ(r.y.shape(), (Shape{k.N, OH, OW, k.O}));
    r.dx = ops::conv2d_backward_input(dy, w, x.shape(), o);
    EXPECT_EQ(r.dx.shape(), x.shape());
    r.dw = ops::conv2d_backward_weight(dy, x, w.shape(), o);
    EXPECT_EQ(r.dw.shape(), w.shape());
    r.db = ops::conv2d_backward_bias(dy);
    EXPECT_EQ(r.db.shape(), (Shape{k.O}));
    return r;
  };
  for (const std::string& isa : isas_for(std::get<1>(GetParam()))) {
    SCOPED_TRACE("kernels " + isa);
    GemmIsaScope kernels(isa.c_str());
    std::vector<Results> two;
    for (int threads : {2, 1, 2}) {
      SCOPED_TRACE(::testing::Message() << threads << " thread(s)");
      ThreadCount tc(threads);
      Results r = run();
      EXPECT_CLOSE(ops::nhwc_to_nchw(r.y), ref.y, 1e-4, 1e-4);
      EXPECT_CLOSE(ops::nhwc_to_nchw(r.dx), ref.dx, 1e-4, 1e-4);
      EXPECT_CLOSE(r.dw, ref.dw, 1e-4, 1e-4);
      EXPECT_CLOSE(r.db, ref.db, 1e-4, 1e-4);
      if (threads == 2) two.push_back(r);
    }
    // Determinism: the same thread count gives the same bits.
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0].y.to_vector<float>(), two[1].y.to_vector<float>());
    EXPECT_EQ(two[0].dx.to_vector<float>(), two[1].dx.to_vector<float>());
    EXPECT_EQ(two[0].dw.to_vector<float>(), two[1].dw.to_vector<float>());
    EXPECT_EQ(two[0].db.to_vector<float>(), two[1].db.to_vector<float>());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ConvReference,
                         ::testing::Combine(::testing::ValuesIn(kConvCases), ::testing::ValuesIn(conv_backends())),
                         [](const ::testing::TestParamInfo<std::tuple<ConvCase, const char*>>& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param);
                         });

// The 3x3 stride-1 convolutions of 32 channels or more run oneDNN's Winograd
// kernel on a CPU that has it (the ConvReference cases above check its
// numbers); the others, and narrower ones, its direct kernels.
TEST(ConvBackend, OnednnRunsWinogradWhereItSuits) {
  if (!cpu::conv_backend_available("onednn")) GTEST_SKIP() << "this build has no oneDNN";
  if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")))
    GTEST_SKIP() << "oneDNN's Winograd kernel needs AVX-512 (core)";
  const auto geom = [](int64_t C, int64_t O, int64_t K, int64_t S) {
    const int64_t H = 9, W = 7, P = K / 2;
    return ConvGeom{2, H, W, C, O, K, K, S, S, P, P, 1, 1, 1, (H + 2 * P - K) / S + 1, (W + 2 * P - K) / S + 1};
  };
  using cpu::onednn::Pass;
  for (Pass p : {Pass::forward, Pass::backward_input, Pass::backward_weight}) {
    EXPECT_NE(cpu::onednn::kernel_name(p, geom(48, 32, 3, 1), false).find("wino"), std::string::npos);
    EXPECT_EQ(cpu::onednn::kernel_name(p, geom(16, 16, 3, 1), false).find("wino"), std::string::npos);
    EXPECT_EQ(cpu::onednn::kernel_name(p, geom(48, 32, 3, 2), false).find("wino"), std::string::npos);
    EXPECT_EQ(cpu::onednn::kernel_name(p, geom(48, 32, 1, 1), false).find("wino"), std::string::npos);
  }
}

TEST(ConvBackend, UnknownNameIsAnErrorAndChangesNothing) {
  const std::string before = cpu::conv_backend();
  expect_error([] { cpu::set_conv_backend("cudnn"); }, "convolution backend: expected builtin");
  EXPECT_EQ(cpu::conv_backend(), before);
  EXPECT_FALSE(cpu::conv_backend_available("cudnn"));
  EXPECT_TRUE(cpu::conv_backend_available("builtin"));
}

// ---------------------------------------------------------------- hand-computed

// x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2],[3,4]], bias 0.5:
// y00 = 1*1 + 2*2 + 4*3 + 5*4 + .5 = 37.5, y01 = 2+6+15+24 + .5 = 47.5, ...
TEST(Conv2dHand, SingleChannel3x3With2x2Kernel) {
  const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{1, 3, 3, 1});
  const Tensor w = from_vector<float>({1, 2, 3, 4}, Shape{1, 1, 2, 2});
  const Tensor b = from_vector<float>({0.5f}, Shape{1});
  const ops::Conv2dOptions o;
  const Tensor y = ops::conv2d(x, w, b, o);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 2, 1}));
  EXPECT_CLOSE(y, std::vector<double>{37.5, 47.5, 67.5, 77.5}, 0, 0);

  // dy = 1 everywhere: dx counts how often each tap weight covers a pixel,
  // dw sums the input under each tap's 2x2 footprint.
  const Tensor dy = ones(Shape{1, 2, 2, 1});
  EXPECT_CLOSE(ops::conv2d_backward_input(dy, w, x.shape(), o), std::vector<double>{1, 3, 2, 4, 10, 6, 3, 7, 4}, 0, 0);
  EXPECT_CLOSE(ops::conv2d_backward_weight(dy, x, w.shape(), o), std::vector<double>{12, 16, 24, 28}, 0, 0);
  EXPECT_CLOSE(ops::conv2d_backward_bias(dy), std::vector<double>{4}, 0, 0);
}

// Padding 1, stride 2 on the same image: the taps that land in the padding add nothing.
// Windows start at -1 and 1 in each axis; y00 = 4*1 (only x00 under tap (1,1)), ...
TEST(Conv2dHand, PaddingAndStride) {
  const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{1, 3, 3, 1});
  const Tensor w = from_vector<float>({1, 2, 3, 4}, Shape{1, 1, 2, 2});
  const Tensor y = ops::conv2d(x, w, Tensor(), ops::Conv2dOptions::make(2, 1));
  EXPECT_EQ(y.shape(), (Shape{1, 2, 2, 1}));
  // y00 = 4*x00 = 4; y01 = 3*x01 + 4*x02 = 6+12 = 18; y10 = 2*x10 + 4*x20 = 8+28 = 36;
  // y11 = 1*x11 + 2*x12 + 3*x21 + 4*x22 = 5+12+24+36 = 77.
  EXPECT_CLOSE(y, std::vector<double>{4, 18, 36, 77}, 0, 0);
}

// Two input channels, channels-last: a 1x1 conv with weights [1, 10] reads
// channel 0 and channel 1 of the same pixel.
TEST(Conv2dHand, ChannelsLastPointwise) {
  const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{1, 1, 3, 2});
  const Tensor w = from_vector<float>({1, 10, -1, 0}, Shape{2, 2, 1, 1});
  EXPECT_CLOSE(ops::conv2d(x, w, Tensor(), ops::Conv2dOptions()), std::vector<double>{21, -1, 43, -3, 65, -5}, 0, 0);
}

// A non-contiguous NHWC view (a permuted NCHW tensor) gives the same result as its contiguous copy.
TEST(Conv2dHand, NonContiguousInput) {
  const Tensor x_nchw = testing::random_tensor(Shape{2, 3, 5, 4}, 21);
  const Tensor w = testing::random_tensor(Shape{4, 3, 3, 3}, 22);
  const ops::Conv2dOptions o = ops::Conv2dOptions::make(1, 1);
  const Tensor view = x_nchw.permute({0, 2, 3, 1});
  ASSERT_FALSE(view.is_contiguous());
  EXPECT_CLOSE(ops::conv2d(view, w, Tensor(), o), ops::conv2d(ops::nchw_to_nhwc(x_nchw), w, Tensor(), o), 0, 0);
}

// ---------------------------------------------------------------- errors

TEST(Conv2dErrors, BadShapesNameTheOp) {
  const ops::Conv2dOptions o1 = ops::Conv2dOptions::make(1, 1);
  const Tensor x = zeros(Shape{2, 6, 6, 4});
  const Tensor w = zeros(Shape{3, 4, 3, 3});
  // Wrong rank of input and weight.
  expect_error([&] { ops::conv2d(zeros(Shape{6, 6, 4}), w, Tensor(), o1); }, "conv2d");
  expect_error([&] { ops::conv2d(x, zeros(Shape{3, 4, 9}), Tensor(), o1); }, "conv2d");
  // Channel mismatch between input and weight.
  expect_error([&] { ops::conv2d(x, zeros(Shape{3, 5, 3, 3}), Tensor(), o1); }, "conv2d");
  // Groups that do not divide the input channels, or the output channels.
  expect_error([&] { ops::conv2d(x, zeros(Shape{3, 1, 3, 3}), Tensor(), ops::Conv2dOptions::make(1, 1, 1, 3)); },
               "conv2d");
  expect_error([&] { ops::conv2d(x, zeros(Shape{3, 2, 3, 3}), Tensor(), ops::Conv2dOptions::make(1, 1, 1, 2)); },
               "conv2d");
  // Weight [O, C/groups] mismatch: groups 2 needs [O, 2, KH, KW].
  expect_error([&] { ops::conv2d(x, zeros(Shape{4, 4, 3, 3}), Tensor(), ops::Conv2dOptions::make(1, 1, 1, 2)); },
               "conv2d");
  // Input smaller than the (dilated) kernel.
  expect_error([&] { ops::conv2d(zeros(Shape{1, 2, 2, 4}), w, Tensor(), ops::Conv2dOptions()); }, "conv2d");
  expect_error([&] { ops::conv2d(zeros(Shape{1, 4, 4, 4}), w, Tensor(), ops::Conv2dOptions::make(1, 0, 2)); },
               "conv2d");
  // With stride > 1 a negative numerator must not round up to one output.
  expect_error([&] { ops::conv2d(zeros(Shape{1, 4, 4, 4}), zeros(Shape{3, 4, 5, 5}), Tensor(), ops::Conv2dOptions::make(2, 0)); },
               "conv2d");
  expect_error([&] { ops::conv2d(zeros(Shape{1, 6, 6, 4}), w, Tensor(), ops::Conv2dOptions::make(2, 0, 3)); },
               "conv2d");
  // Bad bias, bad options, wrong dtype.
  expect_error([&] { ops::conv2d(x, w, zeros(Shape{4}), o1); }, "conv2d");
  expect_error([&] { ops::conv2d(x, w, Tensor(), ops::Conv2dOptions::make(0, 1)); }, "conv2d");
  expect_error([&] { ops::conv2d(x, w, Tensor(), ops::Conv2dOptions::make(1, -1)); }, "conv2d");
  expect_error([&] { ops::conv2d(zeros(Shape{2, 6, 6, 4}, DType::I64), w, Tensor(), o1); }, "conv2d");
}

TEST(Conv2dErrors, BackwardChecksDy) {
  const ops::Conv2dOptions o = ops::Conv2dOptions::make(2, 1);
  const Tensor x = zeros(Shape{2, 6, 6, 4});
  const Tensor w = zeros(Shape{3, 4, 3, 3});
  const Tensor good = zeros(Shape{2, 3, 3, 3});
  EXPECT_NO_THROW(ops::conv2d_backward_input(good, w, x.shape(), o));
  EXPECT_NO_THROW(ops::conv2d_backward_weight(good, x, w.shape(), o));
  for (const Shape& bad : {Shape{2, 6, 6, 3}, Shape{2, 3, 3, 4}, Shape{1, 3, 3, 3}, Shape{2, 9, 3}}) {
    SCOPED_TRACE(bad.str());
    expect_error([&] { ops::conv2d_backward_input(zeros(bad), w, x.shape(), o); }, "conv2d_backward_input");
    expect_error([&] { ops::conv2d_backward_weight(zeros(bad), x, w.shape(), o); }, "conv2d_backward_weight");
  }
  // The geometry checks apply to the backward ops too.
  expect_error([&] { ops::conv2d_backward_input(good, zeros(Shape{3, 5, 3, 3}), x.shape(), o); },
               "conv2d_backward_input");
  expect_error([&] { ops::conv2d_backward_weight(good, x, Shape{3, 5, 3, 3}, o); }, "conv2d_backward_weight");
  expect_error([&] { ops::conv2d_backward_bias(scalar(1.0f)); }, "conv2d_backward_bias");
}

}  // namespace
}  // namespace retort
