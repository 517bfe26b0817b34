// conv2d and its backward ops on each device against the CPU with the same
// inputs, for every kind of convolution the zoo uses. The CUDA instance runs
// cuDNN (or the cuDNN-free path in builds without it) and is reported as
// skipped on machines without a GPU; the CPU instance runs the same round
// trip through Tensor::to on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "tensor/device.h"
#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::random_tensor;

struct DeviceConvCase {
  const char* name;
  int64_t N, H, W, C, O, KH, KW;
  ops::Conv2dOptions o;  // stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups
};

const DeviceConvCase kDeviceCases[] = {
    {"3x3_pad1", 2, 8, 8, 16, 16, 3, 3, {1, 1, 1, 1, 1, 1, 1}},
    {"3x3_stride2_odd", 3, 9, 7, 5, 6, 3, 3, {2, 2, 1, 1, 1, 1, 1}},
    {"batch1_odd", 1, 11, 5, 3, 7, 3, 3, {1, 1, 1, 1, 1, 1, 1}},
    {"groups2", 2, 6, 5, 8, 6, 3, 3, {1, 1, 1, 1, 1, 1, 2}},
    {"groups3_stride2", 2, 7, 7, 6, 9, 3, 3, {2, 2, 1, 1, 1, 1, 3}},
    {"depthwise_3x3", 2, 9, 9, 8, 8, 3, 3, {1, 1, 1, 1, 1, 1, 8}},
    {"depthwise_3x3_stride2", 1, 8, 7, 5, 5, 3, 3, {2, 2, 1, 1, 1, 1, 5}},
    {"depthwise_5x5_dilation2", 2, 9, 9, 3, 3, 5, 5, {1, 1, 4, 4, 2, 2, 3}},
    {"dilation2", 2, 9, 8, 4, 5, 3, 3, {1, 1, 2, 2, 2, 2, 1}},
    {"pointwise", 2, 5, 4, 6, 3, 1, 1, {1, 1, 0, 0, 1, 1, 1}},
    {"pointwise_grouped", 2, 5, 5, 8, 12, 1, 1, {1, 1, 0, 0, 1, 1, 4}},
    {"1x1_stride2", 2, 7, 5, 4, 5, 1, 1, {2, 2, 0, 0, 1, 1, 1}},
    {"7x7_stride2_pad3", 2, 17, 15, 3, 8, 7, 7, {2, 2, 3, 3, 1, 1, 1}},
    {"1x3_mixed", 2, 5, 7, 2, 3, 1, 3, {2, 1, 0, 1, 1, 2, 1}},
};

class ConvDeviceTest : public testing::DeviceTest {};

// Relative to the largest reference magnitude: 1e-4 (FP32 on both sides,
// different summation orders).
::testing::AssertionResult close_rel(const Tensor& actual, const Tensor& expected) {
  double scale = 0;
  for (double v : testing::to_doubles(expected)) scale = std::max(scale, std::abs(v));
  return testing::close(actual, expected, 1e-4 * std::max(scale, 1.0), 1e-4);
}

TEST_P(ConvDeviceTest, ForwardAndBackwardMatchTheCpu) {
  for (const DeviceConvCase& c : kDeviceCases) {
    SCOPED_TRACE(c.name);
    const Tensor x = random_tensor({c.N, c.H, c.W, c.C}, 21);
    const Tensor w = random_tensor({c.O, c.C / c.o.groups, c.KH, c.KW}, 22, 0.3f);
    const Tensor b = random_tensor({c.O}, 23);
    const Tensor y_cpu = ops::conv2d(x, w, b, c.o);
    const Tensor dy = random_tensor(y_cpu.shape(), 24);
    const Tensor xd = x.to(device()), wd = w.to(device()), dyd = dy.to(device());

    const Tensor y = ops::conv2d(xd, wd, b.to(device()), c.o);
    ASSERT_EQ(y.device(), device());
    EXPECT_TRUE(close_rel(y.to(Device::cpu()), y_cpu)) << "forward";
    const Tensor dx = ops::conv2d_backward_input(dyd, wd, x.shape(), c.o);
    EXPECT_TRUE(close_rel(dx.to(Device::cpu()), ops::conv2d_backward_input(dy, w, x.shape(), c.o))) << "backward-input";
    const Tensor dw = ops::conv2d_backward_weight(dyd, xd, w.shape(), c.o);
    EXPECT_TRUE(close_rel(dw.to(Device::cpu()), ops::conv2d_backward_weight(dy, x, w.shape(), c.o)))
        << "backward-weight";
  }
}

// Operands at an odd element offset (views into a larger buffer): cuDNN builds
// take the cuDNN-free path for them (tensor/cuda/conv_cudnn.cpp, alignment).
TEST_P(ConvDeviceTest, UnalignedViewsMatchTheCpu) {
  const ops::Conv2dOptions o = ops::Conv2dOptions::make(1, 1);
  const Shape xs{2, 6, 5, 4}, ws{3, 4, 3, 3};
  const Tensor xbuf = random_tensor({xs.numel() + 1}, 31).to(device());
  const Tensor x = xbuf.narrow(0, 1, xs.numel()).reshape({2, 6, 5, 4});
  const Tensor w = random_tensor(ws, 32).to(device());
  const Tensor ybuf = random_tensor({2 * 6 * 5 * 3 + 1}, 33).to(device());
  const Tensor dy = ybuf.narrow(0, 1, 2 * 6 * 5 * 3).reshape({2, 6, 5, 3});
  const Tensor xc = x.to(Device::cpu()), wc = w.to(Device::cpu()), dyc = dy.to(Device::cpu());
  EXPECT_TRUE(close_rel(ops::conv2d(x, w, Tensor(), o).to(Device::cpu()), ops::conv2d(xc, wc, Tensor(), o)));
  EXPECT_TRUE(close_rel(ops::conv2d_backward_input(dy, w, xs, o).to(Device::cpu()),
                        ops::conv2d_backward_input(dyc, wc, xs, o)));
  EXPECT_TRUE(close_rel(ops::conv2d_backward_weight(dy, x, ws, o).to(Device::cpu()),
                        ops::conv2d_backward_weight(dyc, xc, ws, o)));
}

// The same call twice gives the same bits (the algorithm cache, deterministic
// algorithms first).
TEST_P(ConvDeviceTest, RepeatedCallsAreBitIdentical) {
  const ops::Conv2dOptions o = ops::Conv2dOptions::make(2, 1);
  const Tensor x = random_tensor({3, 9, 9, 6}, 41).to(device());
  const Tensor w = random_tensor({8, 6, 3, 3}, 42).to(device());
  const Tensor dy = random_tensor({3, 5, 5, 8}, 43).to(device());
  for (int pass = 0; pass < 3; ++pass) {
    SCOPED_TRACE(pass);
    auto run = [&] {
      if (pass == 0) return ops::conv2d(x, w, Tensor(), o).to(Device::cpu());
      if (pass == 1) return ops::conv2d_backward_input(dy, w, x.shape(), o).to(Device::cpu());
      return ops::conv2d_backward_weight(dy, x, w.shape(), o).to(Device::cpu());
    };
    EXPECT_TRUE(testing::close(run(), run(), 0.0, 0.0));
  }
}

RETORT_DEVICE_TESTS(ConvDeviceTest);

}  // namespace
}  // namespace retort
