// The kernel bodies the CUDA backend runs (tensor/kernels/), replayed on the
// CPU in plain loops the way the GPU launches them (one block of lanes per
// row or channel, the same tree order) and compared with the CPU ops. So the
// math and index arithmetic of the device path are tested on machines with no GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "tensor/kernels/batchnorm.h"
#include "tensor/kernels/layout.h"
#include "tensor/kernels/philox.h"
#include "tensor/kernels/pool.h"
#include "tensor/kernels/reduce.h"
#include "tensor/kernels/softmax.h"
#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::random_tensor;

constexpr int kLanes = 256;  // tensor/cuda/launch.cuh: kReduceThreads

// What block_reduce returns: lane partials combined by tree_step, half = 128, ..., 1.
template <class T, class Op> T tree_replay(std::vector<T> partial, Op op) {
  for (int half = kLanes / 2; half > 0; half >>= 1)
    for (int lane = 0; lane < kLanes; ++lane) tree_step(partial.data(), lane, half, op);
  return partial[0];
}

// block_reduce of lane(t) for t = 0..255.
template <class T, class Op, class Lane> T block_replay(Lane lane, Op op) {
  std::vector<T> partial(kLanes);
  for (int t = 0; t < kLanes; ++t) partial[t] = lane(t);
  return tree_replay(partial, op);
}

std::vector<float> host(const Tensor& t) { return t.contiguous().to_vector<float>(); }

TEST(KernelBodies, TreeReplaySumsAndMaxes) {
  std::vector<double> v(kLanes);
  for (int i = 0; i < kLanes; ++i) v[i] = i % 7 - 3.5 * (i % 3);
  double s = 0.0, m = -INFINITY;
  for (double x : v) {
    s += x;
    m = std::max(m, x);
  }
  EXPECT_DOUBLE_EQ(tree_replay(v, SumOp{}), s);
  EXPECT_EQ(tree_replay(v, MaxOp{}), m);
  v[17] = NAN;  // std::max's rule: a NaN never becomes the maximum
  EXPECT_EQ(tree_replay(v, MaxOp{}), m);
}

TEST(KernelBodies, SumAllAndMeanMatchTheCpu) {
  for (int64_t n : {1, 255, 1000, 70001}) {
    const Tensor x = random_tensor(Shape{n}, 3 + n);
    const std::vector<float> xv = host(x);
    // sum_partials_kernel with 256 blocks of 256 lanes, then sum_finish_kernel.
    const int64_t lanes = 256 * kLanes;
    std::vector<double> partial(256);
    for (int b = 0; b < 256; ++b)
      partial[b] = block_replay<double>([&](int t) { return lane_sum(xv.data(), n, 1, b * kLanes + t, lanes); },
                                        SumOp{});
    const double total = block_replay<double>(
        [&](int t) {
          double v = 0.0;
          for (int k = t; k < 256; k += kLanes) v += partial[k];
          return v;
        },
        SumOp{});
    EXPECT_NEAR(total, ops::sum(x).item<float>(), 1e-5 * std::sqrt(double(n)));
    EXPECT_NEAR(static_cast<float>(total / n), ops::mean(x).item<float>(), 1e-6);
  }
}

TEST(KernelBodies, SumDimMaxDimAndMaxBackwardMatchTheCpuExactly) {
  const Tensor x = random_tensor(Shape{3, 7, 5}, 11);
  const std::vector<float> xv = host(x);
  for (int dim : {0, 1, 2}) {
    const int64_t outer = x.shape().prod(0, dim), n = x.shape()[dim], inner = x.shape().prod(dim + 1, 3);
    std::vector<float> s(outer * inner), v(outer * inner);
    std::vector<int64_t> idx(outer * inner);
    for (int64_t j = 0; j < outer * inner; ++j) {
      s[j] = sum_dim_element(xv.data(), n, inner, j);
      max_dim_element(xv.data(), n, inner, j, v.data(), idx.data());
    }
    EXPECT_EQ(s, host(ops::sum(x, dim, false))) << "dim " << dim;
    const ops::MaxResult m = ops::max(x, dim, false);
    EXPECT_EQ(v, host(m.values)) << "dim " << dim;
    EXPECT_EQ(idx, m.indices.to_vector<int64_t>()) << "dim " << dim;
    const Tensor dy = random_tensor(m.values.shape(), 5);
    const std::vector<float> dyv = host(dy);
    std::vector<float> dx(x.numel(), 0.0f);
    for (int64_t j = 0; j < outer * inner; ++j) max_backward_element(dyv.data(), idx.data(), dx.data(), n, inner, j);
    EXPECT_EQ(dx, host(ops::max_backward(dy, m.indices, x.shape(), dim))) << "dim " << dim;
  }
  // The row path (inner == 1, one block per row) sums in the tree order: close, not identical.
  const Tensor rows = random_tensor(Shape{2, 1000}, 12);
  const std::vector<float> rv = host(rows);
  const std::vector<float> cpu = host(ops::sum(rows, 1, false));
  for (int64_t o = 0; o < 2; ++o) {
    const double s =
        block_replay<double>([&](int t) { return lane_sum(rv.data() + o * 1000, 1000, 1, t, kLanes); }, SumOp{});
    EXPECT_NEAR(s, cpu[o], 1e-4);
  }
}

TEST(KernelBodies, CountNonfiniteMatchesTheCpu) {
  Tensor x = random_tensor(Shape{1000}, 4);
  float* p = x.data<float>();
  p[3] = NAN;
  p[500] = INFINITY;
  p[999] = -INFINITY;
  int64_t bad = 0;
  for (int t = 0; t < kLanes; ++t) bad += lane_count_nonfinite(p, 1000, t, kLanes);
  EXPECT_EQ(bad, 3);
  EXPECT_EQ(bad, ops::count_nonfinite(x));
}

// The GPU's batch norm, replayed: bn_stats_kernel per channel, then bn_apply_kernel.
struct BnReplay {
  std::vector<float> y, save_mean, save_invstd, rm, rv;
};

BnReplay bn_train_replay(const std::vector<float>& x, const std::vector<float>& gamma,
                         const std::vector<float>& beta, std::vector<float> rm, std::vector<float> rv, int64_t M,
                         int64_t C, double momentum, double eps, bool relu) {
  BnReplay r{std::vector<float>(M * C), std::vector<float>(C), std::vector<float>(C), {}, {}};
  std::vector<float> center(C), scale(C);
  for (int64_t c = 0; c < C; ++c) {
    const double mean =
        block_replay<double>([&](int t) { return bn_lane_sum(x.data(), M, C, c, t, kLanes); }, SumOp{}) / M;
    const double var = block_replay<double>(
                           [&](int t) { return bn_lane_centered_square(x.data(), mean, M, C, c, t, kLanes); },
                           SumOp{}) /
                       M;
    const BnTrainChannel q = bn_train_channel(mean, var, M, gamma[c], momentum, eps, rm[c], rv[c]);
    center[c] = q.center;
    scale[c] = q.scale;
    r.save_mean[c] = q.save_mean;
    r.save_invstd[c] = q.save_invstd;
  }
  for (int64_t e = 0; e < M * C; ++e) r.y[e] = bn_apply(x[e], center[e % C], scale[e % C], beta[e % C], relu);
  r.rm = rm;
  r.rv = rv;
  return r;
}

// bn_grad_sums_kernel then bn_input_grad_kernel.
ops::BatchNormGrads bn_backward_replay(const std::vector<float>& dy, const std::vector<float>& x,
                                  const std::vector<float>& gamma, const std::vector<float>& mean,
                                  const std::vector<float>& invstd, const float* relu_y, bool batch_stats, int64_t M,
                                  int64_t C) {
  std::vector<float> dx(M * C), dgamma(C), dbeta(C), coef(3 * C);
  for (int64_t c = 0; c < C; ++c) {
    std::vector<double> s1(kLanes), s2(kLanes);
    for (int t = 0; t < kLanes; ++t)
      bn_lane_grad_sums(dy.data(), x.data(), relu_y, mean[c], M, C, c, t, kLanes, s1[t], s2[t]);
    const BnGradChannel q =
        bn_grad_channel(tree_replay(s1, SumOp{}), tree_replay(s2, SumOp{}), gamma[c], invstd[c], M, batch_stats);
    dgamma[c] = q.dgamma;
    dbeta[c] = q.dbeta;
    coef[c] = q.k;
    coef[C + c] = q.mean_dy;
    coef[2 * C + c] = q.c2;
  }
  for (int64_t e = 0; e < M * C; ++e) {
    const int64_t c = e % C;
    dx[e] = bn_input_grad(bn_masked_grad(dy.data(), relu_y, e), x[e], mean[c], coef[c], coef[C + c], coef[2 * C + c]);
  }
  return ops::BatchNormGrads{from_vector<float>(dx, Shape{M, C}), from_vector<float>(dgamma, Shape{C}),
                        from_vector<float>(dbeta, Shape{C})};
}

TEST(KernelBodies, BatchNormTrainAndBackwardMatchTheCpu) {
  // C = 40 and 100: groups of 5 and of 8 + 4 blocks of 8 channels in the CPU's row loops.
  for (const Shape& shape : {Shape{1, 3, 5, 7}, Shape{2, 9, 9, 3}, Shape{5, 1, 1, 17}, Shape{3, 3, 3, 40},
                             Shape{2, 4, 4, 100}}) {
    for (bool relu : {false, true}) {
      const int64_t C = shape[3], M = shape.numel() / C;
      Tensor x = random_tensor(shape, 21, 2.0f);
      ops::add_(x, full(shape, 3.0));  // |mean| > std: the statistics must not cancel
      const Tensor gamma = random_tensor(Shape{C}, 22), beta = random_tensor(Shape{C}, 23);
      Tensor rm = random_tensor(Shape{C}, 24), rv = ops::add_scalar(ops::abs(random_tensor(Shape{C}, 25)), 0.5f);
      const std::vector<float> rm0 = host(rm), rv0 = host(rv);
      const BnReplay r = bn_train_replay(host(x), host(gamma), host(beta), rm0, rv0, M, C, 0.1, 1e-5, relu);
      const ops::BatchNormOutput out = ops::batch_norm_train(x, gamma, beta, rm, rv, 0.1, 1e-5, relu);
      EXPECT_CLOSE(from_vector<float>(r.y, shape), out.y, 1e-5, 1e-5);
      EXPECT_CLOSE(from_vector<float>(r.save_mean, Shape{C}), out.save_mean, 1e-6, 1e-6);
      EXPECT_CLOSE(from_vector<float>(r.save_invstd, Shape{C}), out.save_invstd, 1e-6, 1e-6);
      EXPECT_CLOSE(from_vector<float>(r.rm, Shape{C}), rm, 1e-6, 1e-6);
      EXPECT_CLOSE(from_vector<float>(r.rv, Shape{C}), rv, 1e-6, 1e-6);

      const Tensor dy = random_tensor(shape, 26);
      const Tensor relu_y = relu ? out.y : Tensor();
      const std::vector<float> ryv = relu ? host(out.y) : std::vector<float>();
      const ops::BatchNormGrads g = bn_backward_replay(host(dy), host(x), host(gamma), host(out.save_mean),
                                                  host(out.save_invstd), relu ? ryv.data() : nullptr, true, M, C);
      const ops::BatchNormGrads c = ops::batch_norm_backward(dy, x, gamma, out.save_mean, out.save_invstd, relu_y);
      EXPECT_CLOSE(g.dx, c.dx.reshape({M, C}), 1e-5, 1e-4);
      EXPECT_CLOSE(g.dgamma, c.dgamma, 1e-5, 1e-5);
      EXPECT_CLOSE(g.dbeta, c.dbeta, 1e-5, 1e-5);
    }
  }
}

// Close, not identical: the CPU's SIMD clones may contract a*b + c into an FMA.
TEST(KernelBodies, BatchNormEvalAndEvalBackwardMatchTheCpu) {
  const Shape shape{2, 3, 5, 7};
  const int64_t C = 7, M = shape.numel() / C;
  const Tensor x = random_tensor(shape, 31), gamma = random_tensor(Shape{C}, 32), beta = random_tensor(Shape{C}, 33);
  const Tensor rm = random_tensor(Shape{C}, 34), rv = ops::add_scalar(ops::abs(random_tensor(Shape{C}, 35)), 0.1f);
  const std::vector<float> xv = host(x), gv = host(gamma), bv = host(beta), rmv = host(rm), rvv = host(rv);
  for (bool relu : {false, true}) {
    std::vector<float> y(M * C), invstd(C);
    for (int64_t e = 0; e < M * C; ++e) {
      const int64_t c = e % C;
      y[e] = bn_apply(xv[e], rmv[c], bn_eval_scale(gv[c], rvv[c], 1e-5), bv[c], relu);
    }
    const Tensor out = ops::batch_norm_eval(x, gamma, beta, rm, rv, 1e-5, relu);
    EXPECT_CLOSE(from_vector<float>(y, shape), out, 1e-6, 1e-6);
    for (int64_t c = 0; c < C; ++c) invstd[c] = bn_eval_invstd(rvv[c], 1e-5);
    const Tensor dy = random_tensor(shape, 36);
    const std::vector<float> ryv = host(out);
    const ops::BatchNormGrads g =
        bn_backward_replay(host(dy), xv, gv, rmv, invstd, relu ? ryv.data() : nullptr, false, M, C);
    const ops::BatchNormGrads c = ops::batch_norm_eval_backward(dy, x, gamma, rm, rv, 1e-5, relu ? out : Tensor());
    EXPECT_CLOSE(g.dx, c.dx.reshape({M, C}), 1e-6, 1e-6);
    EXPECT_CLOSE(g.dgamma, c.dgamma, 1e-6, 1e-6);
    EXPECT_CLOSE(g.dbeta, c.dbeta, 1e-6, 1e-6);
  }
}

// softmax_kernel / softmax_backward_kernel / ce kernels, one block per row.
void row_stats(const float* xr, int64_t cols, double T, double& m, double& lse) {
  m = block_replay<double>([&](int t) { return softmax_lane_max(xr, cols, T, t, kLanes); }, MaxOp{});
  lse = std::log(block_replay<double>([&](int t) { return softmax_lane_expsum(xr, cols, T, m, t, kLanes); },
                                      SumOp{}));
}

TEST(KernelBodies, SoftmaxAndBackwardMatchTheCpu) {
  for (int64_t cols : {1, 10, 300}) {
    for (bool log : {false, true}) {
      const int64_t rows = 3;
      const float T = 2.5f;
      const Tensor x = random_tensor(Shape{rows, cols}, 41, 4.0f);
      const std::vector<float> xv = host(x);
      std::vector<float> y(rows * cols);
      for (int64_t r = 0; r < rows; ++r) {
        double m, lse;
        row_stats(xv.data() + r * cols, cols, T, m, lse);
        for (int64_t k = 0; k < cols; ++k) y[r * cols + k] = softmax_out(xv[r * cols + k], T, m, lse, log);
      }
      const Tensor cpu = log ? ops::log_softmax(x, T) : ops::softmax(x, T);
      EXPECT_CLOSE(from_vector<float>(y, x.shape()), cpu, 1e-6, 1e-6);

      const Tensor dy = random_tensor(x.shape(), 42);
      const std::vector<float> dyv = host(dy), yv = host(cpu);
      std::vector<float> dx(rows * cols);
      for (int64_t r = 0; r < rows; ++r) {
        const double s = block_replay<double>(
            [&](int t) { return softmax_backward_lane_sum(dyv.data() + r * cols, yv.data() + r * cols, cols, log, t, kLanes); },
            SumOp{});
        for (int64_t k = 0; k < cols; ++k)
          dx[r * cols + k] = softmax_backward_out(dyv[r * cols + k], yv[r * cols + k], s, 1.0 / T, log);
      }
      const Tensor cpu_dx = log ? ops::log_softmax_backward(dy, cpu, T) : ops::softmax_backward(dy, cpu, T);
      EXPECT_CLOSE(from_vector<float>(dx, x.shape()), cpu_dx, 1e-6, 1e-5);
    }
  }
}

TEST(KernelBodies, CrossEntropyAndBackwardMatchTheCpu) {
  for (float smoothing : {0.0f, 0.1f}) {
    const int64_t rows = 5, cols = 13;
    const Tensor z = random_tensor(Shape{rows, cols}, 51, 3.0f);
    const std::vector<int64_t> labels{0, 12, 5, 5, 7};
    const Tensor l = from_vector<int64_t>(labels, Shape{rows});
    const std::vector<float> zv = host(z);
    std::vector<double> row_loss(rows);
    std::vector<float> dz(rows * cols);
    const double scale = 0.5 / rows;
    for (int64_t r = 0; r < rows; ++r) {
      const float* zr = zv.data() + r * cols;
      double m, lse;
      row_stats(zr, cols, 1.0, m, lse);
      const double sum_logp =
          block_replay<double>([&](int t) { return ce_lane_sum_logp(zr, cols, m, lse, t, kLanes); }, SumOp{});
      row_loss[r] = ce_row_loss(zr[labels[r]], m, lse, sum_logp, cols, smoothing);
      for (int64_t k = 0; k < cols; ++k) dz[r * cols + k] = ce_grad(zr[k], m, lse, k == labels[r], smoothing, cols, scale);
    }
    const double loss = block_replay<double>(
                            [&](int t) {
                              double v = 0.0;
                              for (int64_t r = t; r < rows; r += kLanes) v += row_loss[r];
                              return v;
                            },
                            SumOp{}) /
                        rows;
    EXPECT_NEAR(static_cast<float>(loss), ops::cross_entropy(z, l, smoothing).item<float>(), 1e-6);
    EXPECT_CLOSE(from_vector<float>(dz, z.shape()), ops::cross_entropy_backward(z, l, smoothing, 0.5f), 1e-7, 1e-6);
  }
}

PoolGeom geom_of(const Shape& x, const ops::Pool2dOptions& o) {
  PoolGeom g{x[0], x[1], x[2], x[3], o.kernel_h, o.kernel_w, o.stride_h, o.stride_w, o.pad_h, o.pad_w, 0, 0,
             o.count_include_pad};
  g.OH = pool_out_size(g.H, g.KH, g.SH, g.PH, o.ceil_mode);
  g.OW = pool_out_size(g.W, g.KW, g.SW, g.PW, o.ceil_mode);
  return g;
}

TEST(KernelBodies, PoolingElementBodiesMatchTheCpuExactly) {
  const std::vector<std::pair<Shape, ops::Pool2dOptions>> cases{
      {Shape{1, 7, 9, 3}, ops::Pool2dOptions::make(3, 2, 1)},
      {Shape{2, 8, 8, 5}, ops::Pool2dOptions::make(2)},
      {Shape{1, 7, 7, 2}, ops::Pool2dOptions::make(3, 2, 1, true, false)},
      {Shape{3, 5, 6, 1}, ops::Pool2dOptions{3, 2, 1, 2, 1, 1, true, true}},
  };
  for (const auto& [shape, o] : cases) {
    const PoolGeom g = geom_of(shape, o);
    const Tensor x = random_tensor(shape, 61);
    const std::vector<float> xv = host(x);
    const int64_t out_n = g.N * g.OH * g.OW * g.C;
    std::vector<float> y(out_n), a(out_n);
    std::vector<int64_t> arg(out_n);
    for (int64_t e = 0; e < out_n; ++e) {
      max_pool_element(g, xv.data(), y.data(), arg.data(), e);
      avg_pool_element(g, xv.data(), a.data(), e);
    }
    const ops::MaxPoolResult mp = ops::max_pool2d(x, o);
    EXPECT_EQ(y, host(mp.y)) << shape;
    EXPECT_EQ(arg, mp.indices.to_vector<int64_t>()) << shape;
    EXPECT_EQ(a, host(ops::avg_pool2d(x, o))) << shape;

    const Tensor dy = random_tensor(mp.y.shape(), 62);
    const std::vector<float> dyv = host(dy);
    std::vector<float> dx_max(x.numel(), 0.0f), dx_avg(x.numel());
    for (int64_t nc = 0; nc < g.N * g.C; ++nc) max_pool_backward_channel(g, dyv.data(), arg.data(), dx_max.data(), nc);
    for (int64_t e = 0; e < x.numel(); ++e) avg_pool_backward_element(g, dyv.data(), dx_avg.data(), e);
    EXPECT_EQ(dx_max, host(ops::max_pool2d_backward(dy, mp.indices, shape))) << shape;
    EXPECT_EQ(dx_avg, host(ops::avg_pool2d_backward(dy, shape, o))) << shape;
  }
}

TEST(KernelBodies, AdaptiveAvgPoolBodiesMatchTheCpuExactly) {
  for (const auto& [shape, out] : std::vector<std::pair<Shape, std::pair<int64_t, int64_t>>>{
           {Shape{1, 7, 5, 3}, {3, 2}}, {Shape{2, 4, 4, 2}, {1, 1}}, {Shape{1, 3, 5, 2}, {5, 7}}}) {
    const PoolGeom g{shape[0], shape[1], shape[2], shape[3], 0, 0, 0, 0, 0, 0, out.first, out.second, false};
    const Tensor x = random_tensor(shape, 71);
    const std::vector<float> xv = host(x);
    std::vector<float> y(g.N * g.OH * g.OW * g.C);
    for (int64_t e = 0; e < static_cast<int64_t>(y.size()); ++e) adaptive_avg_pool_element(g, xv.data(), y.data(), e);
    const Tensor cpu = ops::adaptive_avg_pool2d(x, out.first, out.second);
    EXPECT_EQ(y, host(cpu)) << shape;
    const Tensor dy = random_tensor(cpu.shape(), 72);
    const std::vector<float> dyv = host(dy);
    std::vector<float> dx(x.numel());
    for (int64_t e = 0; e < x.numel(); ++e) adaptive_avg_pool_backward_element(g, dyv.data(), dx.data(), e);
    EXPECT_EQ(dx, host(ops::adaptive_avg_pool2d_backward(dy, shape))) << shape;
  }
}

TEST(KernelBodies, LayoutBodiesMatchCatSplitAndShuffle) {
  const Tensor a = random_tensor(Shape{2, 3, 4}, 81), b = random_tensor(Shape{2, 5, 4}, 82);
  const Tensor whole = ops::cat({a, b}, 1);
  const std::vector<float> wv = host(whole);
  int64_t at = 0;
  for (const Tensor& piece : {a, b}) {
    const std::vector<float> pv = host(piece);
    for (int64_t j = 0; j < piece.numel(); ++j)
      EXPECT_EQ(wv[slab_offset(j, piece.size(1), 8, at, 4)], pv[j]) << "element " << j;
    at += piece.size(1);
  }
  const std::vector<Tensor> parts = ops::split(whole, {3, 5}, 1);
  EXPECT_EQ(host(parts[1]), host(b));

  const Tensor x = random_tensor(Shape{3, 12}, 83);
  const std::vector<float> xv = host(x);
  for (int64_t groups : {1, 3, 4, 12}) {
    std::vector<float> y(xv.size());
    for (int64_t e = 0; e < x.numel(); ++e) y[e] = xv[(e / 12) * 12 + channel_shuffle_source(e % 12, 12, groups)];
    EXPECT_EQ(y, host(ops::channel_shuffle(x, groups))) << groups << " groups";
  }
}

TEST(KernelBodies, RandintBodyMatchesTheCpu) {
  Generator g1(9, 2), g2(9, 2);
  const Tensor t = ops::randint(Shape{1000}, 37, g1);
  const PhiloxState s = g2.reserve(1000);
  const std::vector<int64_t> v = t.to_vector<int64_t>();
  for (int64_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(philox_randint(philox_at(s, i), 37), v[i]);
    ASSERT_TRUE(v[i] >= 0 && v[i] < 37);
  }
}

}  // namespace
}  // namespace retort
