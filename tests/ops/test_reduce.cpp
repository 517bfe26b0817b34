// Reductions against double-precision references: sum/mean/max/argmax over
// each dimension (keepdim both ways), whole-tensor sums, sum_to, NaN, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::to_doubles;
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// x viewed as [outer, n, inner] around dimension `a`.
struct Split3 {
  int64_t outer, n, inner;
};
Split3 around(const Shape& s, int a) { return {s.prod(0, a), s[a], s.prod(a + 1, s.ndim())}; }

Shape reduced(const Shape& s, int a, bool keepdim) {
  std::vector<int64_t> d;
  for (int i = 0; i < s.ndim(); ++i) {
    if (i != a) d.push_back(s[i]);
    else if (keepdim) d.push_back(1);
  }
  return Shape(d);
}

std::vector<double> ref_sum(const Tensor& x, int a, bool mean) {
  const std::vector<double> v = to_doubles(x);
  const Split3 g = around(x.shape(), a);
  std::vector<double> y(g.outer * g.inner, 0.0);
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t k = 0; k < g.n; ++k)
      for (int64_t i = 0; i < g.inner; ++i) y[o * g.inner + i] += v[(o * g.n + k) * g.inner + i];
  if (mean)
    for (double& e : y) e /= static_cast<double>(g.n);
  return y;
}

void ref_max(const Tensor& x, int a, std::vector<double>* values, std::vector<double>* indices) {
  const std::vector<double> v = to_doubles(x);
  const Split3 g = around(x.shape(), a);
  values->assign(g.outer * g.inner, 0.0);
  indices->assign(g.outer * g.inner, 0.0);
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t i = 0; i < g.inner; ++i) {
      double best = v[o * g.n * g.inner + i];
      int64_t arg = 0;
      for (int64_t k = 1; k < g.n; ++k) {
        const double e = v[(o * g.n + k) * g.inner + i];
        if (std::isnan(best)) break;
        if (e > best || std::isnan(e)) {
          best = e;
          arg = k;
        }
      }
      (*values)[o * g.inner + i] = best;
      (*indices)[o * g.inner + i] = static_cast<double>(arg);
    }
}

TEST(Reduce, HandComputed) {
  const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  EXPECT_CLOSE(ops::sum(x, 0), {5, 7, 9}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sum(x, 1), {6, 15}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sum(x, -1, true), {6, 15}, 0.0, 0.0);
  EXPECT_EQ(ops::sum(x, -1, true).shape(), (Shape{2, 1}));
  EXPECT_CLOSE(ops::mean(x, 0), {2.5, 3.5, 4.5}, 0.0, 0.0);
  EXPECT_CLOSE(ops::mean(x, 1), {2, 5}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sum(x), {21}, 0.0, 0.0);
  EXPECT_EQ(ops::sum(x).shape(), Shape{});
  EXPECT_CLOSE(ops::mean(x), {3.5}, 0.0, 0.0);
  const Tensor m = from_vector<float>({1, 5, 5, 7, -1, 2}, Shape{2, 3});
  const ops::MaxResult r = ops::max(m, 1);
  EXPECT_CLOSE(r.values, {5, 7}, 0.0, 0.0);
  EXPECT_EQ(r.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));  // first of a tie
  EXPECT_EQ(r.indices.dtype(), DType::I64);
  const ops::MaxResult c = ops::max(m, 0, true);
  EXPECT_EQ(c.values.shape(), (Shape{1, 3}));
  EXPECT_CLOSE(c.values, {7, 5, 5}, 0.0, 0.0);
  EXPECT_EQ(c.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(ops::argmax(m, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  // Mean of thirds: 1/3 rounded once.
  EXPECT_CLOSE(ops::mean(from_vector<float>({0, 0, 1}, Shape{1, 3}), 1), {1.0 / 3.0}, 0.0, 1e-7);
}

TEST(Reduce, EveryDimBothKeepdims) {
  const Tensor x = testing::random_tensor(Shape{3, 4, 5, 6}, 42, 2.0f);
  for (int a = 0; a < 4; ++a)
    for (bool keep : {false, true}) {
      SCOPED_TRACE("dim " + std::to_string(a) + (keep ? " keepdim" : ""));
      const Shape out = reduced(x.shape(), a, keep);
      const Tensor s = ops::sum(x, a, keep);
      EXPECT_EQ(s.shape(), out);
      EXPECT_CLOSE(s, ref_sum(x, a, false), 1e-6, 1e-6);
      const Tensor mn = ops::mean(x, a, keep);
      EXPECT_EQ(mn.shape(), out);
      EXPECT_CLOSE(mn, ref_sum(x, a, true), 1e-6, 1e-6);
      std::vector<double> vals, idx;
      ref_max(x, a, &vals, &idx);
      const ops::MaxResult r = ops::max(x, a, keep);
      EXPECT_EQ(r.values.shape(), out);
      EXPECT_EQ(r.indices.shape(), out);
      EXPECT_CLOSE(r.values, vals, 0.0, 0.0);
      EXPECT_CLOSE(r.indices, idx, 0.0, 0.0);
      const Tensor am = ops::argmax(x, a - 4, keep);  // negative dims name the same axis
      EXPECT_EQ(am.shape(), out);
      EXPECT_CLOSE(am, idx, 0.0, 0.0);
      EXPECT_CLOSE(ops::sum(x, a - 4, keep), ref_sum(x, a, false), 1e-6, 1e-6);
    }
}

TEST(Reduce, StridedInputAndParallelSizes) {
  // A permuted view reduces in its logical layout.
  const Tensor base = testing::random_tensor(Shape{5, 7, 3}, 3);
  const Tensor x = base.permute({2, 0, 1});
  for (int a = 0; a < 3; ++a) {
    EXPECT_CLOSE(ops::sum(x, a), ref_sum(x, a, false), 1e-6, 1e-6);
    std::vector<double> vals, idx;
    ref_max(x, a, &vals, &idx);
    EXPECT_CLOSE(ops::max(x, a).values, vals, 0.0, 0.0);
    EXPECT_CLOSE(ops::max(x, a).indices, idx, 0.0, 0.0);
  }
  // Many rows/columns: the parallel splits of sum_dim and max_dim.
  const Tensor big = testing::random_tensor(Shape{37, 129, 41}, 4);
  for (int a = 0; a < 3; ++a) {
    SCOPED_TRACE(a);
    EXPECT_CLOSE(ops::sum(big, a), ref_sum(big, a, false), 1e-5, 1e-6);
    EXPECT_CLOSE(ops::mean(big, a), ref_sum(big, a, true), 1e-6, 1e-6);
    std::vector<double> vals, idx;
    ref_max(big, a, &vals, &idx);
    const ops::MaxResult r = ops::max(big, a);
    EXPECT_CLOSE(r.values, vals, 0.0, 0.0);
    EXPECT_CLOSE(r.indices, idx, 0.0, 0.0);
  }
  double total = 0.0;
  for (double v : to_doubles(big)) total += v;
  EXPECT_CLOSE(ops::sum(big), {total}, 1e-5, 1e-6);
  EXPECT_CLOSE(ops::mean(big), {total / big.numel()}, 1e-8, 1e-6);
}

TEST(Reduce, SumsAccumulateInDouble) {
  // 2^20 copies of 0.1f: a float accumulator would drift far away.
  const int64_t n = int64_t{1} << 20;
  const Tensor x = full(Shape{n}, 0.1);
  const double exact = static_cast<double>(n) * static_cast<double>(0.1f);
  EXPECT_CLOSE(ops::sum(x), {exact}, 0.0, 1e-7);
  EXPECT_CLOSE(ops::sum(x, 0), {exact}, 0.0, 1e-7);
  EXPECT_CLOSE(ops::mean(x), {static_cast<double>(0.1f)}, 0.0, 1e-7);
  EXPECT_CLOSE(ops::sum(x.reshape({1024, 1024}), 0), std::vector<double>(1024, 1024 * static_cast<double>(0.1f)), 0.0,
               1e-7);
  // Large cancelling terms.
  const Tensor c = from_vector<float>({1e8f, 1.0f, -1e8f, 1.0f}, Shape{4});
  EXPECT_CLOSE(ops::sum(c), {2.0}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sum(c, 0), {2.0}, 0.0, 0.0);
}

TEST(Reduce, SumsDoNotDependOnTheThreadCount) {
  const Tensor x = testing::random_tensor(Shape{300000}, 8);
  const int before = num_threads();
  set_num_threads(1);
  const float one = ops::sum(x).item<float>();
  const std::vector<float> rows1 = ops::sum(x.reshape({600, 500}), 1).to_vector<float>();
  set_num_threads(2);
  const float two = ops::sum(x).item<float>();
  const std::vector<float> rows2 = ops::sum(x.reshape({600, 500}), 1).to_vector<float>();
  set_num_threads(before);
  double total = 0.0;
  for (double v : to_doubles(x)) total += v;
  EXPECT_CLOSE(scalar(one), {total}, 1e-5, 1e-7);
  EXPECT_CLOSE(scalar(two), {total}, 1e-5, 1e-7);
  EXPECT_EQ(rows1, rows2);
}

TEST(Reduce, MaxWithNaN) {
  const Tensor x = from_vector<float>({1, kNaNf, 3, kNaNf, 4, 5, 2, 9, 0}, Shape{3, 3});
  const ops::MaxResult rows = ops::max(x, 1);
  const std::vector<float> v = rows.values.to_vector<float>();
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_EQ(v[2], 9.0f);
  EXPECT_EQ(rows.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));  // the first NaN
  const ops::MaxResult cols = ops::max(x, 0);
  const std::vector<float> cv = cols.values.to_vector<float>();
  EXPECT_TRUE(std::isnan(cv[0]));
  EXPECT_TRUE(std::isnan(cv[1]));
  EXPECT_EQ(cv[2], 5.0f);
  EXPECT_EQ(cols.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  // -inf is an ordinary value.
  const Tensor y = from_vector<float>({-INFINITY, -INFINITY}, Shape{2});
  EXPECT_EQ(ops::max(y, 0).values.item<float>(), -INFINITY);
  EXPECT_EQ(ops::argmax(y, 0).item<int64_t>(), 0);
}

TEST(Reduce, MaxBackwardScattersToTheMaxima) {
  const Tensor x = from_vector<float>({1, 5, 5, 7, -1, 2}, Shape{2, 3});
  const ops::MaxResult r = ops::max(x, 1);
  const Tensor dx = ops::max_backward(from_vector<float>({10, 20}, Shape{2}), r.indices, x.shape(), 1);
  EXPECT_CLOSE(dx, {0, 10, 0, 20, 0, 0}, 0.0, 0.0);
  const ops::MaxResult k = ops::max(x, 0, true);
  const Tensor dk = ops::max_backward(from_vector<float>({1, 2, 3}, Shape{1, 3}), k.indices, x.shape(), 0);
  EXPECT_CLOSE(dk, {0, 2, 3, 1, 0, 0}, 0.0, 0.0);
  EXPECT_THROW(ops::max_backward(zeros(Shape{3}), r.indices, x.shape(), 1), Error);
  EXPECT_THROW(ops::max_backward(zeros(Shape{2}), from_vector<int64_t>({0, 3}, Shape{2}), x.shape(), 1), Error);
}

TEST(Reduce, EmptyDimensions) {
  const Tensor e = zeros(Shape{3, 0, 2});
  EXPECT_THROW(ops::mean(e, 1), Error);
  EXPECT_THROW(ops::max(e, 1), Error);
  EXPECT_THROW(ops::argmax(e, 1), Error);
  EXPECT_THROW(ops::mean(e), Error);
  // Summing over an empty dimension is the empty sum.
  const Tensor s = ops::sum(e, 1);
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  EXPECT_CLOSE(s, std::vector<double>(6, 0.0), 0.0, 0.0);
  EXPECT_CLOSE(ops::sum(e), {0.0}, 0.0, 0.0);
  // Reducing a non-empty dimension of an empty tensor gives an empty result.
  EXPECT_EQ(ops::max(e, 0).values.shape(), (Shape{0, 2}));
  EXPECT_EQ(ops::sum(e, 2).shape(), (Shape{3, 0}));
  try {
    ops::max(e, 1);
  } catch (const Error& err) {
    EXPECT_NE(err.message().find("max"), std::string::npos) << err.message();
    EXPECT_NE(err.message().find("[3, 0, 2]"), std::string::npos) << err.message();
  }
  EXPECT_THROW(ops::sum(zeros(Shape{2, 3}), 2), Error);   // dim out of range
  EXPECT_THROW(ops::sum(zeros(Shape{2, 3}), -3), Error);
  EXPECT_THROW(ops::sum(zeros(Shape{2}, DType::I64), 0), Error);
  EXPECT_THROW(ops::max(zeros(Shape{2}, DType::U8), 0), Error);
}

TEST(Reduce, SumTo) {
  const Tensor x = testing::random_tensor(Shape{2, 3, 4}, 5);
  const std::vector<double> v = to_doubles(x);
  auto ref = [&](const Shape& target) {
    // Sum every element into the position it broadcasts from.
    std::vector<double> y(target.numel(), 0.0);
    for (int64_t i = 0; i < 24; ++i) {
      const int64_t idx[3] = {i / 12, (i / 4) % 3, i % 4};
      int64_t off = 0;
      const int lead = 3 - target.ndim();
      for (int d = 0; d < target.ndim(); ++d) off = off * target[d] + (target[d] == 1 ? 0 : idx[lead + d]);
      y[off] += v[i];
    }
    return y;
  };
  for (const Shape& target : {Shape{2, 3, 4}, Shape{3, 4}, Shape{4}, Shape{3, 1}, Shape{1, 3, 1}, Shape{2, 1, 4},
                              Shape{2, 1, 1}, Shape{1}, Shape{}, Shape{1, 1, 1}}) {
    SCOPED_TRACE(target.str());
    const Tensor y = ops::sum_to(x, target);
    EXPECT_EQ(y.shape(), target);
    EXPECT_CLOSE(y, ref(target), 1e-6, 1e-6);
  }
  // Hand case: [[1,2],[3,4]] -> [2] sums rows, -> [2,1] sums columns.
  const Tensor h = from_vector<float>({1, 2, 3, 4}, Shape{2, 2});
  EXPECT_CLOSE(ops::sum_to(h, Shape{2}), {4, 6}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sum_to(h, Shape{2, 1}), {3, 7}, 0.0, 0.0);
  EXPECT_CLOSE(ops::sum_to(h, Shape{}), {10}, 0.0, 0.0);
  EXPECT_THROW(ops::sum_to(x, Shape{5}), Error);
  EXPECT_THROW(ops::sum_to(x, Shape{2, 3}), Error);  // not a suffix-broadcast of [2,3,4]
  EXPECT_THROW(ops::sum_to(x, Shape{1, 2, 3, 4}), Error);
}

TEST(Reduce, CountNonfinite) {
  const Tensor x = from_vector<float>({1, kNaNf, INFINITY, -INFINITY, 0, -3e38f, 3e38f}, Shape{7});
  EXPECT_EQ(ops::count_nonfinite(x), 3);
  EXPECT_EQ(ops::count_nonfinite(zeros(Shape{4, 5})), 0);
  EXPECT_EQ(ops::count_nonfinite(zeros(Shape{0})), 0);
  // Through a strided view.
  const Tensor m = from_vector<float>({kNaNf, 1, 2, INFINITY, 3, 4}, Shape{2, 3});
  EXPECT_EQ(ops::count_nonfinite(m.narrow(1, 1, 2)), 0);
  EXPECT_EQ(ops::count_nonfinite(m.narrow(1, 0, 1)), 2);
  // Overflow of a float product counts.
  EXPECT_EQ(ops::count_nonfinite(ops::mul(x.narrow(0, 5, 2), x.narrow(0, 5, 2))), 2);
  EXPECT_THROW(ops::count_nonfinite(zeros(Shape{2}, DType::I64)), Error);
}

}  // namespace
}  // namespace retort
