// Random numbers: Philox4x32-10 known answers (Random123), stream and offset
// semantics of Generator, thread-count invariance, and the statistics of
// uniform, normal, randint, randperm and dropout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/kernels/philox.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/rng.h"
#include "tests/testing.h"

namespace retort {
namespace {

void expect_block(Philox4 ctr, uint32_t k0, uint32_t k1, const std::vector<uint32_t>& expected) {
  const Philox4 r = philox4x32_10(ctr, k0, k1);
  EXPECT_EQ(std::vector<uint32_t>(r.v, r.v + 4), expected) << std::hex << r.v[0] << " " << r.v[1] << " " << r.v[2]
                                                          << " " << r.v[3];
}

TEST(Philox, KnownAnswersFromRandom123) {
  expect_block({{0, 0, 0, 0}}, 0, 0, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  expect_block({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu,
               {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  expect_block({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
               {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST(Philox, StateMapsToCounterAndKey) {
  // Element i of a draw: counter (offset + i as 64 bits, stream as 64 bits), key = seed.
  PhiloxState s;
  s.seed = 0xa4093822ull | (0x299f31d0ull << 32);
  s.stream = 0x13198a2eull | (0x03707344ull << 32);
  s.offset = (0x243f6a88ull | (0x85a308d3ull << 32)) - 5;
  const Philox4 r = philox_at(s, 5);
  EXPECT_EQ(std::vector<uint32_t>(r.v, r.v + 4), (std::vector<uint32_t>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
  const Philox4 z = philox_at(PhiloxState{}, 0);
  EXPECT_EQ(z.v[0], 0x6627e8d5u);
}

TEST(Philox, UniformAndNormalMappings) {
  EXPECT_EQ(philox_uniform(0u), 0.0f);
  EXPECT_EQ(philox_uniform(0x80000000u), 0.5f);
  EXPECT_LT(philox_uniform(0xffffffffu), 1.0f);
  EXPECT_EQ(philox_uniform(0xffffffffu), 1.0f - 1.0f / 16777216.0f);
  // Box-Muller: u1 = 1 (a = all ones), any u2 -> r = 0.
  EXPECT_EQ(philox_normal(0xffffffffu, 12345u), 0.0f);
  // u1 = 2^-24 (a = 0), u2 = 0: sqrt(-2 ln 2^-24), the largest value, finite.
  const double biggest = std::sqrt(-2.0 * std::log(1.0 / 16777216.0));
  EXPECT_FLOAT_EQ(philox_normal(0u, 0u), static_cast<float>(biggest));
  EXPECT_TRUE(std::isfinite(philox_normal(0u, 0u)));
}

TEST(Generator, SameSeedSameNumbersDifferentStreamDifferentNumbers) {
  Generator a(42), b(42), c(42, 1), d(43);
  const Tensor ra = ops::rand(Shape{1000}, a), rb = ops::rand(Shape{1000}, b);
  const Tensor rc = ops::rand(Shape{1000}, c), rd = ops::rand(Shape{1000}, d);
  EXPECT_EQ(ra.to_vector<float>(), rb.to_vector<float>());
  const std::vector<float> va = ra.to_vector<float>(), vc = rc.to_vector<float>(), vd = rd.to_vector<float>();
  int same_c = 0, same_d = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    same_c += va[i] == vc[i];
    same_d += va[i] == vd[i];
  }
  EXPECT_LT(same_c, 3);
  EXPECT_LT(same_d, 3);
  EXPECT_EQ(a.offset(), 1000u);
  // Successive draws are not repeats.
  EXPECT_NE(ops::rand(Shape{1000}, a).to_vector<float>(), va);
}

TEST(Generator, DrawsAreSlicesOfOneCounterStream) {
  // rand(n) then rand(m) equals one rand(n + m): each draw takes the next counters.
  Generator a(5), b(5);
  const std::vector<float> first = ops::rand(Shape{300}, a).to_vector<float>();
  const std::vector<float> second = ops::rand(Shape{700}, a).to_vector<float>();
  std::vector<float> joined = first;
  joined.insert(joined.end(), second.begin(), second.end());
  EXPECT_EQ(ops::rand(Shape{1000}, b).to_vector<float>(), joined);
  // Each element equals the shared mapping of its counter.
  Generator c(5);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.next_uniform(), joined[i]);
  // set_offset rewinds.
  Generator e(5);
  e.set_offset(300);
  EXPECT_EQ(ops::rand(Shape{700}, e).to_vector<float>(), second);
  // uniform_ maps word 0 of counter offset + i through the shared [lo, hi) mapping.
  Generator u1(21);
  Tensor t = empty(Shape{200});
  ops::uniform_(t, 1.0f, 2.0f, u1);
  const std::vector<float> tv = t.to_vector<float>();
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(tv[i], philox_uniform_range(philox_at(PhiloxState{21, 0, 0}, i).v[0], 1.0f, 2.0f));
  // Element i of normal uses counter offset + i too.
  Generator n1(9);
  const std::vector<float> nv = ops::randn(Shape{50}, n1).to_vector<float>();
  for (int i = 0; i < 50; ++i) {
    const Philox4 r = philox_at(PhiloxState{9, 0, 0}, i);
    EXPECT_EQ(nv[i], philox_normal(r.v[0], r.v[1]));
  }
}

TEST(Generator, NextBelowIsInRangeAndCoversIt) {
  Generator g(3);
  std::vector<int> hist(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const uint64_t v = g.next_below(7);
    ASSERT_LT(v, 7u);
    ++hist[v];
  }
  for (int h : hist) EXPECT_NEAR(h, 1000, 5 * std::sqrt(1000.0 * 6 / 7));
  EXPECT_EQ(g.next_below(1), 0u);
  EXPECT_THROW(g.next_below(0), Error);
}

TEST(Random, ResultsIdenticalForOneAndTwoThreads) {
  const int before = num_threads();
  std::vector<std::vector<float>> f[2];
  std::vector<int64_t> ints[2], perm[2];
  for (int t = 1; t <= 2; ++t) {
    set_num_threads(t);
    Generator g(77, 3);
    const Tensor u = ops::rand(Shape{50001}, g);
    const Tensor n = ops::randn(Shape{40000}, g);
    Tensor w = empty(Shape{30000});
    ops::uniform_(w, -2.0f, 3.0f, g);
    Tensor m = empty(Shape{30000});
    ops::normal_(m, 1.0f, 0.5f, g);
    const ops::DropoutOutput d = ops::dropout(ones(Shape{30000}), 0.3f, g);
    ints[t - 1] = ops::randint(Shape{30000}, 1000, g).to_vector<int64_t>();
    perm[t - 1] = ops::randperm(20000, g).to_vector<int64_t>();
    f[t - 1] = {u.to_vector<float>(), n.to_vector<float>(), w.to_vector<float>(), m.to_vector<float>(),
                d.mask.to_vector<float>()};
  }
  set_num_threads(before);
  for (size_t k = 0; k < f[0].size(); ++k) EXPECT_EQ(f[0][k], f[1][k]) << "float draw " << k;
  EXPECT_EQ(ints[0], ints[1]);
  EXPECT_EQ(perm[0], perm[1]);
}

TEST(Random, UniformRangeAndMoments) {
  Generator g(11);
  const int64_t n = 100000;
  const std::vector<float> u = ops::rand(Shape{n}, g).to_vector<float>();
  double sum = 0.0, sq = 0.0;
  for (float v : u) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LT(v, 1.0f);
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(var, 1.0 / 12, 5 * std::sqrt(1.0 / 180 / n));  // Var of (U - 1/2)^2 is 1/180
  // Ten equal bins, chi-square-like bound per bin.
  std::vector<int> bins(10, 0);
  for (float v : u) ++bins[static_cast<int>(v * 10)];
  for (int b : bins) EXPECT_NEAR(b, n / 10, 5 * std::sqrt(n * 0.1 * 0.9));

  Tensor w = empty(Shape{n});
  const uint64_t v0 = w.version();
  ops::uniform_(w, -3.0f, 5.0f, g);
  EXPECT_GT(w.version(), v0);
  const std::vector<float> wv = w.to_vector<float>();
  EXPECT_GE(*std::min_element(wv.begin(), wv.end()), -3.0f);
  EXPECT_LT(*std::max_element(wv.begin(), wv.end()), 5.0f);
  double ws = 0.0;
  for (float v : wv) ws += v;
  EXPECT_NEAR(ws / n, 1.0, 5 * 8 / std::sqrt(12.0 * n));
}

TEST(Random, UniformStaysBelowHighAtTheTopOfTheRange) {
  // The largest 24-bit fraction, 1 - 2^-24, times (hi - lo) plus lo can round up
  // to hi in float (e.g. [1, 2)); the shared mapping must stay inside [lo, hi).
  const uint32_t top = 0xffffffffu;
  for (const auto& r : std::vector<std::pair<float, float>>{{1.0f, 2.0f}, {0.0f, 1.0f}, {-1.0f, 1.0f}, {3.0f, 7.0f},
                                                            {-0.05f, 0.05f}, {100.0f, 100.5f}, {-2.0f, -1.0f}}) {
    const float v = philox_uniform_range(top, r.first, r.second);
    EXPECT_LT(v, r.second) << "[" << r.first << ", " << r.second << ")";
    EXPECT_GE(v, r.first);
    EXPECT_EQ(philox_uniform_range(0u, r.first, r.second), r.first);
  }
  // In the interior the mapping is lo + (hi - lo) u.
  EXPECT_EQ(philox_uniform_range(0x80000000u, 1.0f, 3.0f), 2.0f);
}

TEST(Random, NormalMoments) {
  Generator g(12);
  const int64_t n = 100000;
  const std::vector<float> z = ops::randn(Shape{n}, g).to_vector<float>();
  double sum = 0.0, sq = 0.0, cube = 0.0, quart = 0.0;
  int64_t within1 = 0;
  for (float v : z) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sq += static_cast<double>(v) * v;
    cube += static_cast<double>(v) * v * v;
    quart += static_cast<double>(v) * v * v * v;
    within1 += std::fabs(v) < 1.0f;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(std::sqrt(var), 1.0, 5 / std::sqrt(2.0 * n));
  EXPECT_NEAR(cube / n, 0.0, 5 * std::sqrt(15.0 / n));
  EXPECT_NEAR(quart / n, 3.0, 5 * std::sqrt(96.0 / n));
  const double p1 = 0.682689492137;
  EXPECT_NEAR(static_cast<double>(within1) / n, p1, 5 * std::sqrt(p1 * (1 - p1) / n));

  Tensor t = empty(Shape{n});
  ops::normal_(t, 3.0f, 2.0f, g);
  double s2 = 0.0, q2 = 0.0;
  for (float v : t.to_vector<float>()) {
    s2 += v;
    q2 += static_cast<double>(v) * v;
  }
  const double m2 = s2 / n;
  EXPECT_NEAR(m2, 3.0, 5 * 2 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(std::sqrt(q2 / n - m2 * m2), 2.0, 5 * 2 / std::sqrt(2.0 * n));
  // std 0: every value is the mean.
  ops::normal_(t, -1.5f, 0.0f, g);
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(n, -1.5f));
  EXPECT_THROW(ops::normal_(t, 0.0f, -1.0f, g), Error);
  EXPECT_THROW(ops::uniform_(t, 1.0f, 1.0f, g), Error);
  Tensor i = empty(Shape{3}, DType::I64);
  EXPECT_THROW(ops::uniform_(i, 0.0f, 1.0f, g), Error);
  EXPECT_THROW(ops::normal_(i, 0.0f, 1.0f, g), Error);
}

TEST(Random, RandintRange) {
  Generator g(13);
  const int64_t n = 60000;
  const std::vector<int64_t> v = ops::randint(Shape{n}, 6, g).to_vector<int64_t>();
  std::vector<int> hist(6, 0);
  for (int64_t x : v) {
    ASSERT_GE(x, 0);
    ASSERT_LT(x, 6);
    ++hist[x];
  }
  for (int h : hist) EXPECT_NEAR(h, n / 6, 5 * std::sqrt(n / 6.0 * 5 / 6));
  EXPECT_EQ(ops::randint(Shape{100}, 1, g).to_vector<int64_t>(), std::vector<int64_t>(100, 0));
  const Tensor big = ops::randint(Shape{1000}, int64_t{1} << 40, g);
  EXPECT_EQ(big.dtype(), DType::I64);
  const std::vector<int64_t> bv = big.to_vector<int64_t>();
  EXPECT_GT(*std::max_element(bv.begin(), bv.end()), int64_t{1} << 38);
  EXPECT_THROW(ops::randint(Shape{3}, 0, g), Error);
}

TEST(Random, RandpermIsAPermutation) {
  Generator g(14);
  for (int64_t n : {0, 1, 2, 10, 1000}) {
    const Tensor p = ops::randperm(n, g);
    EXPECT_EQ(p.dtype(), DType::I64);
    EXPECT_EQ(p.shape(), Shape{n});
    std::vector<int64_t> v = p.to_vector<int64_t>();
    std::sort(v.begin(), v.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(v[i], i);
  }
  // Reproducible for a seed, shuffled, and each position roughly uniform.
  Generator a(15), b(15);
  const std::vector<int64_t> pa = ops::randperm(1000, a).to_vector<int64_t>();
  EXPECT_EQ(pa, ops::randperm(1000, b).to_vector<int64_t>());
  int fixed = 0;
  for (int64_t i = 0; i < 1000; ++i) fixed += pa[i] == i;
  EXPECT_LT(fixed, 8);  // about 1 expected
  // Position 0 over many permutations of 4: each value about a quarter of the time.
  std::vector<int> first(4, 0);
  for (int k = 0; k < 4000; ++k) ++first[ops::randperm(4, g).to_vector<int64_t>()[0]];
  for (int c : first) EXPECT_NEAR(c, 1000, 5 * std::sqrt(4000 * 0.25 * 0.75));
  EXPECT_THROW(ops::randperm(-1, g), Error);
}

TEST(Random, DropoutMaskValuesAndRate) {
  Generator g(16);
  const int64_t n = 100000;
  for (float p : {0.1f, 0.3f, 0.5f, 0.9f}) {
    SCOPED_TRACE(p);
    const Tensor x = testing::random_tensor(Shape{n / 100, 100}, 17);
    const ops::DropoutOutput d = ops::dropout(x, p, g);
    EXPECT_EQ(d.mask.shape(), x.shape());
    const std::vector<float> m = d.mask.to_vector<float>(), xv = x.to_vector<float>(), yv = d.y.to_vector<float>();
    const float keep = 1.0f / (1.0f - p);
    int64_t dropped = 0;
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(m[i] == 0.0f || m[i] == keep) << m[i];
      dropped += m[i] == 0.0f;
      ASSERT_EQ(yv[i], xv[i] * m[i]);
    }
    EXPECT_NEAR(static_cast<double>(dropped) / n, p, 5 * std::sqrt(p * (1 - p) / n));
  }
  // p = 0 keeps everything unscaled; the same seed gives the same mask.
  const ops::DropoutOutput none = ops::dropout(ones(Shape{1000}), 0.0f, g);
  EXPECT_EQ(none.mask.to_vector<float>(), std::vector<float>(1000, 1.0f));
  Generator a(18), b(18);
  EXPECT_EQ(ops::dropout(ones(Shape{500}), 0.5f, a).mask.to_vector<float>(),
            ops::dropout(ones(Shape{500}), 0.5f, b).mask.to_vector<float>());
  EXPECT_THROW(ops::dropout(ones(Shape{3}), 1.0f, g), Error);
  EXPECT_THROW(ops::dropout(ones(Shape{3}), -0.1f, g), Error);
  EXPECT_THROW(ops::dropout(ones(Shape{3}, DType::I64), 0.5f, g), Error);
}

}  // namespace
}  // namespace retort
