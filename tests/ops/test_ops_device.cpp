// Device-parameterised op tests: every op of the CUDA backend's "other ops"
// (batch norm, pooling, softmax, cross-entropy, reductions, layout,
// element-wise, copy/cast, random) runs on the test's device with odd sizes and
// batch 1, and is compared with the same op on the CPU, forward and backward.
// The CUDA instances report SKIPPED without a GPU; the CPU instances check the
// device plumbing (outputs on the input's device, shapes) against the CPU op.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::random_tensor;

class OpsOnDevice : public testing::DeviceTest {
 protected:
  Tensor on(const Tensor& t) const { return t.to(device()); }
  // The result back on the CPU, after checking it was produced on the test's device.
  Tensor back(const Tensor& t) const {
    EXPECT_EQ(t.device(), device());
    return t.to(Device::cpu());
  }
};

TEST_P(OpsOnDevice, BatchNormTrainEvalAndBackward) {
  for (const Shape& shape : {Shape{1, 3, 5, 7}, Shape{3, 5, 3, 17}, Shape{2, 1, 1, 3}}) {
    for (bool relu : {false, true}) {
      const int64_t C = shape[3];
      Tensor x = random_tensor(shape, 1, 2.0f);
      ops::add_(x, full(shape, 2.0));
      const Tensor gamma = random_tensor(Shape{C}, 2), beta = random_tensor(Shape{C}, 3);
      Tensor rm = random_tensor(Shape{C}, 4), rv = ops::add_scalar(ops::abs(random_tensor(Shape{C}, 5)), 0.5f);
      Tensor drm = on(rm), drv = on(rv);
      const ops::BatchNormOutput c = ops::batch_norm_train(x, gamma, beta, rm, rv, 0.1, 1e-5, relu);
      const ops::BatchNormOutput d = ops::batch_norm_train(on(x), on(gamma), on(beta), drm, drv, 0.1, 1e-5, relu);
      EXPECT_CLOSE(back(d.y), c.y, 1e-5, 1e-5);
      EXPECT_CLOSE(back(d.save_mean), c.save_mean, 1e-6, 1e-6);
      EXPECT_CLOSE(back(d.save_invstd), c.save_invstd, 1e-6, 1e-5);
      EXPECT_CLOSE(back(drm), rm, 1e-6, 1e-6);
      EXPECT_CLOSE(back(drv), rv, 1e-6, 1e-6);

      const Tensor dy = random_tensor(shape, 6);
      const ops::BatchNormGrads gc =
          ops::batch_norm_backward(dy, x, gamma, c.save_mean, c.save_invstd, relu ? c.y : Tensor());
      const ops::BatchNormGrads gd = ops::batch_norm_backward(on(dy), on(x), on(gamma), d.save_mean, d.save_invstd,
                                                              relu ? d.y : Tensor());
      EXPECT_CLOSE(back(gd.dx), gc.dx, 1e-5, 1e-4);
      EXPECT_CLOSE(back(gd.dgamma), gc.dgamma, 1e-5, 1e-5);
      EXPECT_CLOSE(back(gd.dbeta), gc.dbeta, 1e-5, 1e-5);

      const Tensor ec = ops::batch_norm_eval(x, gamma, beta, rm, rv, 1e-5, relu);
      const Tensor ed = ops::batch_norm_eval(on(x), on(gamma), on(beta), on(rm), on(rv), 1e-5, relu);
      EXPECT_CLOSE(back(ed), ec, 1e-6, 1e-6);
      const ops::BatchNormGrads ebc = ops::batch_norm_eval_backward(dy, x, gamma, rm, rv, 1e-5, relu ? ec : Tensor());
      const ops::BatchNormGrads ebd = ops::batch_norm_eval_backward(on(dy), on(x), on(gamma), on(rm), on(rv), 1e-5,
                                                                    relu ? ed : Tensor());
      EXPECT_CLOSE(back(ebd.dx), ebc.dx, 1e-6, 1e-6);
      EXPECT_CLOSE(back(ebd.dgamma), ebc.dgamma, 1e-5, 1e-5);
      EXPECT_CLOSE(back(ebd.dbeta), ebc.dbeta, 1e-5, 1e-5);
    }
  }
}

TEST_P(OpsOnDevice, PoolingForwardAndBackward) {
  const std::vector<std::pair<Shape, ops::Pool2dOptions>> cases{
      {Shape{1, 7, 9, 3}, ops::Pool2dOptions::make(3, 2, 1)},
      {Shape{2, 8, 8, 5}, ops::Pool2dOptions::make(2)},
      {Shape{1, 7, 7, 2}, ops::Pool2dOptions::make(3, 2, 1, true, false)},
  };
  for (const auto& [shape, o] : cases) {
    const Tensor x = random_tensor(shape, 11);
    const ops::MaxPoolResult mc = ops::max_pool2d(x, o), md = ops::max_pool2d(on(x), o);
    EXPECT_CLOSE(back(md.y), mc.y, 0.0, 0.0);
    EXPECT_EQ(back(md.indices).to_vector<int64_t>(), mc.indices.to_vector<int64_t>());
    const Tensor dy = random_tensor(mc.y.shape(), 12);
    EXPECT_CLOSE(back(ops::max_pool2d_backward(on(dy), md.indices, shape)),
                 ops::max_pool2d_backward(dy, mc.indices, shape), 0.0, 0.0);
    EXPECT_CLOSE(back(ops::avg_pool2d(on(x), o)), ops::avg_pool2d(x, o), 0.0, 0.0);
    // The gathers add dy*inv with one FMA on the device: close, not identical.
    EXPECT_CLOSE(back(ops::avg_pool2d_backward(on(dy), shape, o)), ops::avg_pool2d_backward(dy, shape, o), 1e-7,
                 1e-6);
  }
  const Tensor x = random_tensor(Shape{1, 7, 5, 3}, 13);
  const Tensor ac = ops::adaptive_avg_pool2d(x, 3, 2);
  EXPECT_CLOSE(back(ops::adaptive_avg_pool2d(on(x), 3, 2)), ac, 0.0, 0.0);
  const Tensor dy = random_tensor(ac.shape(), 14);
  EXPECT_CLOSE(back(ops::adaptive_avg_pool2d_backward(on(dy), x.shape())),
               ops::adaptive_avg_pool2d_backward(dy, x.shape()), 1e-7, 1e-6);
}

TEST_P(OpsOnDevice, SoftmaxLogSoftmaxAndBackward) {
  for (const Shape& shape : {Shape{1, 10}, Shape{3, 301}, Shape{2, 3, 7}}) {
    const Tensor x = random_tensor(shape, 21, 4.0f), dy = random_tensor(shape, 22);
    for (float T : {1.0f, 4.0f}) {
      const Tensor s = ops::softmax(x, T), ls = ops::log_softmax(x, T);
      EXPECT_CLOSE(back(ops::softmax(on(x), T)), s, 1e-7, 1e-5);
      EXPECT_CLOSE(back(ops::log_softmax(on(x), T)), ls, 1e-6, 1e-6);
      EXPECT_CLOSE(back(ops::softmax_backward(on(dy), on(s), T)), ops::softmax_backward(dy, s, T), 1e-7, 1e-5);
      EXPECT_CLOSE(back(ops::log_softmax_backward(on(dy), on(ls), T)), ops::log_softmax_backward(dy, ls, T), 1e-6,
                   1e-5);
    }
  }
}

TEST_P(OpsOnDevice, CrossEntropyAndBackward) {
  for (int64_t rows : {1, 7}) {
    const Tensor z = random_tensor(Shape{rows, 11}, 31, 3.0f);
    std::vector<int64_t> l(rows);
    for (int64_t r = 0; r < rows; ++r) l[r] = (r * 5 + 3) % 11;
    const Tensor labels = from_vector<int64_t>(l, Shape{rows});
    for (float s : {0.0f, 0.1f}) {
      EXPECT_CLOSE(back(ops::cross_entropy(on(z), on(labels), s)), ops::cross_entropy(z, labels, s), 1e-6, 1e-6);
      EXPECT_CLOSE(back(ops::cross_entropy_backward(on(z), on(labels), s, 0.7f)),
                   ops::cross_entropy_backward(z, labels, s, 0.7f), 1e-7, 1e-5);
    }
  }
  // The label check holds on every device.
  const Tensor z = random_tensor(Shape{2, 3}, 32);
  EXPECT_THROW(ops::cross_entropy(on(z), on(from_vector<int64_t>({0, 3}, Shape{2})), 0.0f), Error);
}

TEST_P(OpsOnDevice, Reductions) {
  const Tensor x = random_tensor(Shape{3, 7, 5}, 41);
  for (int dim : {0, 1, 2}) {
    EXPECT_CLOSE(back(ops::sum(on(x), dim, false)), ops::sum(x, dim, false), 1e-6, 1e-6);
    EXPECT_CLOSE(back(ops::mean(on(x), dim, true)), ops::mean(x, dim, true), 1e-6, 1e-6);
    const ops::MaxResult mc = ops::max(x, dim, false), md = ops::max(on(x), dim, false);
    EXPECT_CLOSE(back(md.values), mc.values, 0.0, 0.0);
    EXPECT_EQ(back(md.indices).to_vector<int64_t>(), mc.indices.to_vector<int64_t>());
    const Tensor dy = random_tensor(mc.values.shape(), 42);
    EXPECT_CLOSE(back(ops::max_backward(on(dy), md.indices, x.shape(), dim)),
                 ops::max_backward(dy, mc.indices, x.shape(), dim), 0.0, 0.0);
  }
  const Tensor rows = random_tensor(Shape{2, 1001}, 43);  // the block-per-row path
  EXPECT_CLOSE(back(ops::sum(on(rows), 1, false)), ops::sum(rows, 1, false), 1e-5, 1e-6);
  const Tensor big = random_tensor(Shape{70001}, 44);
  EXPECT_CLOSE(back(ops::sum(on(big))), ops::sum(big), 1e-4, 1e-6);
  EXPECT_CLOSE(back(ops::mean(on(big))), ops::mean(big), 1e-7, 1e-6);
  Tensor bad = random_tensor(Shape{1001}, 45);
  bad.data<float>()[7] = NAN;
  bad.data<float>()[1000] = -INFINITY;
  EXPECT_EQ(ops::count_nonfinite(on(bad)), 2);
  EXPECT_CLOSE(back(ops::sum_to(on(x), Shape{7, 1})), ops::sum_to(x, Shape{7, 1}), 1e-6, 1e-6);
}

TEST_P(OpsOnDevice, CatSplitAndChannelShuffle) {
  const Tensor a = random_tensor(Shape{1, 3, 5, 2}, 51), b = random_tensor(Shape{1, 3, 5, 3}, 52);
  const Tensor cc = ops::cat({a, b}, -1);
  const Tensor cd = ops::cat({on(a), on(b)}, -1);
  EXPECT_CLOSE(back(cd), cc, 0.0, 0.0);
  const std::vector<Tensor> parts = ops::split(cd, {2, 3}, -1);
  EXPECT_CLOSE(back(parts[0]), a, 0.0, 0.0);
  EXPECT_CLOSE(back(parts[1]), b, 0.0, 0.0);
  const Tensor li = from_vector<int64_t>({1, 2, 3}, Shape{3}), lj = from_vector<int64_t>({4}, Shape{1});
  EXPECT_EQ(back(ops::cat({on(li), on(lj)}, 0)).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4}));
  const Tensor x = random_tensor(Shape{2, 3, 3, 12}, 53);
  for (int64_t g : {1, 3, 4})
    EXPECT_CLOSE(back(ops::channel_shuffle(on(x), g)), ops::channel_shuffle(x, g), 0.0, 0.0);
  EXPECT_CLOSE(back(ops::pad2d(on(x), 1, 2, 0, 1, 0.5)), ops::pad2d(x, 1, 2, 0, 1, 0.5), 0.0, 0.0);
}

TEST_P(OpsOnDevice, ElementwiseCopyAndCast) {
  const Tensor a = random_tensor(Shape{3, 1, 5}, 61), b = random_tensor(Shape{3, 4, 5}, 62);
  EXPECT_CLOSE(back(ops::add(on(a), on(b))), ops::add(a, b), 0.0, 0.0);
  EXPECT_CLOSE(back(ops::mul(on(b), on(b))), ops::mul(b, b), 0.0, 0.0);
  EXPECT_CLOSE(back(ops::relu(on(b))), ops::relu(b), 0.0, 0.0);
  EXPECT_CLOSE(back(ops::add_relu(on(b), on(ops::mul(b, b)))), ops::add_relu(b, ops::mul(b, b)), 0.0, 0.0);
  EXPECT_CLOSE(back(ops::exp(on(b))), ops::exp(b), 1e-6, 1e-6);
  const Tensor t = b.transpose(0, 2);
  EXPECT_CLOSE(back(on(t).contiguous()), t.contiguous(), 0.0, 0.0);
  const Tensor scaled = ops::mul_scalar(b, 300.0f);
  EXPECT_EQ(back(ops::cast(on(scaled), DType::U8)).to_vector<uint8_t>(),
            ops::cast(scaled, DType::U8).to_vector<uint8_t>());
  EXPECT_EQ(back(ops::cast(on(scaled), DType::I64)).to_vector<int64_t>(),
            ops::cast(scaled, DType::I64).to_vector<int64_t>());
}

TEST_P(OpsOnDevice, RandomDrawsAreTheCpuStream) {
  Generator g1(5, 1), g2(5, 1);
  EXPECT_CLOSE(back(ops::rand(Shape{1001}, g1, device())), ops::rand(Shape{1001}, g2), 0.0, 0.0);
  EXPECT_CLOSE(back(ops::randn(Shape{1001}, g1, device())), ops::randn(Shape{1001}, g2), 1e-6, 1e-6);
  EXPECT_EQ(back(ops::randint(Shape{1001}, 13, g1, device())).to_vector<int64_t>(),
            ops::randint(Shape{1001}, 13, g2).to_vector<int64_t>());
  const Tensor x = random_tensor(Shape{1001}, 71);
  EXPECT_CLOSE(back(ops::dropout(on(x), 0.3f, g1).y), ops::dropout(x, 0.3f, g2).y, 0.0, 0.0);
}

RETORT_DEVICE_TESTS(OpsOnDevice);

}  // namespace
}  // namespace retort
