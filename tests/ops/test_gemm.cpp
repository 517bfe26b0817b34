// GEMM: the built-in blocked kernel against a double reference (transposes,
// odd sizes, cache-block edges, alpha/beta, leading dimensions), the configured
// backend against the built-in, the threaded split, and ops::matmul/linear.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tests/testing.h"

namespace retort {
namespace {

using cpu::GemmArgs;

std::vector<float> random_floats(int64_t n, uint64_t seed) {
  return n == 0 ? std::vector<float>{} : testing::random_tensor(Shape{n}, seed).to_vector<float>();
}

// A problem with padded leading dimensions; C starts with random values (or NaN)
// and the padding of C holds a sentinel that must survive.
struct Problem {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  std::vector<float> A, B, C;

  Problem(bool ta_, bool tb_, int64_t M_, int64_t N_, int64_t K_, int64_t pad = 0, float alpha_ = 1.0f,
          float beta_ = 0.0f, uint64_t seed = 1)
      : ta(ta_), tb(tb_), M(M_), N(N_), K(K_), alpha(alpha_), beta(beta_) {
    const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
    const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
    lda = a_cols + pad;
    ldb = b_cols + pad;
    ldc = N + pad;
    A = random_floats(a_rows * lda, seed);
    B = random_floats(b_rows * ldb, seed + 1);
    C = random_floats(M * ldc, seed + 2);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = N; j < ldc; ++j) C[i * ldc + j] = kSentinel;
  }

  static constexpr float kSentinel = -12345.0f;

  GemmArgs args(std::vector<float>& c) const {
    GemmArgs g;
    g.trans_a = ta;
    g.trans_b = tb;
    g.M = M;
    g.N = N;
    g.K = K;
    g.alpha = alpha;
    g.A = A.data();
    g.lda = lda;
    g.B = B.data();
    g.ldb = ldb;
    g.beta = beta;
    g.C = c.data();
    g.ldc = ldc;
    return g;
  }

  double a(int64_t i, int64_t k) const { return ta ? A[k * lda + i] : A[i * lda + k]; }
  double b(int64_t k, int64_t j) const { return tb ? B[j * ldb + k] : B[k * ldb + j]; }

  std::string name() const {
    return std::string(ta ? "T" : "N") + (tb ? "T" : "N") + " M" + std::to_string(M) + " N" + std::to_string(N) +
           " K" + std::to_string(K) + " lda" + std::to_string(lda) + " ldb" + std::to_string(ldb) + " ldc" +
           std::to_string(ldc) + " alpha " + std::to_string(alpha) + " beta " + std::to_string(beta);
  }
};

// Checks C against the double reference with an error bound scaled by the sum of
// the magnitudes of the terms (float accumulation of K products).
::testing::AssertionResult matches_reference(const Problem& p, const std::vector<float>& c0,
                                             const std::vector<float>& c, double rel = 2e-6) {
  int bad = 0;
  std::ostringstream first;
  for (int64_t i = 0; i < p.M; ++i) {
    for (int64_t j = 0; j < p.N; ++j) {
      double acc = 0.0, mag = 0.0;
      for (int64_t k = 0; k < p.K; ++k) {
        acc += p.a(i, k) * p.b(k, j);
        mag += std::fabs(p.a(i, k) * p.b(k, j));
      }
      // beta = 0: C is never read, whatever garbage (NaN, inf) it holds.
      const double old_term = p.beta == 0.0f ? 0.0 : p.beta * static_cast<double>(c0[i * p.ldc + j]);
      const double ref = p.alpha * acc + old_term;
      const double bound = rel * (std::fabs(p.alpha) * mag + std::fabs(old_term)) + 1e-6 * std::fabs(ref) + 1e-30;
      const double got = c[i * p.ldc + j];
      if (!(std::fabs(got - ref) <= bound) && ++bad <= 5)
        first << "\n  C[" << i << "," << j << "] = " << got << ", expected " << ref << " (bound " << bound << ")";
    }
    for (int64_t j = p.N; j < p.ldc; ++j)
      if (c[i * p.ldc + j] != Problem::kSentinel && ++bad <= 5)
        first << "\n  padding C[" << i << "," << j << "] overwritten with " << c[i * p.ldc + j];
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << p.name() << ": " << bad << " mismatches; first:" << first.str();
}

struct Size {
  int64_t M, N, K;
};

TEST(Gemm, HandComputed) {
  // [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]].
  const std::vector<float> A = {1, 2, 3, 4, 5, 6}, B = {7, 8, 9, 10, 11, 12};
  std::vector<float> C(4, std::numeric_limits<float>::quiet_NaN());
  GemmArgs g;
  g.M = 2;
  g.N = 2;
  g.K = 3;
  g.A = A.data();
  g.lda = 3;
  g.B = B.data();
  g.ldb = 2;
  g.C = C.data();
  g.ldc = 2;
  cpu::gemm_builtin(g);
  EXPECT_EQ(C, (std::vector<float>{58, 64, 139, 154}));
  cpu::gemm(g);
  EXPECT_EQ(C, (std::vector<float>{58, 64, 139, 154}));
  // alpha 2, beta -1 on top: 2*C_new - C_old = C_new.
  g.alpha = 2.0f;
  g.beta = -1.0f;
  cpu::gemm_builtin(g);
  EXPECT_EQ(C, (std::vector<float>{58, 64, 139, 154}));
  // A^T B^T with A stored [3,2] and B [2,3]: the same product.
  const std::vector<float> At = {1, 4, 2, 5, 3, 6}, Bt = {7, 9, 11, 8, 10, 12};
  std::vector<float> D(4, 0.0f);
  GemmArgs t = g;
  t.trans_a = t.trans_b = true;
  t.alpha = 1.0f;
  t.beta = 0.0f;
  t.A = At.data();
  t.lda = 2;
  t.B = Bt.data();
  t.ldb = 3;
  t.C = D.data();
  cpu::gemm_builtin(t);
  EXPECT_EQ(D, (std::vector<float>{58, 64, 139, 154}));
}

// Runs fn once with each micro-kernel this CPU runs, then restores the default.
void for_each_isa(const std::function<void()>& fn) {
  const std::string saved = cpu::gemm_builtin_isa();
  int ran = 0;
  for (const char* isa : {"avx512", "avx2", "portable"}) {
    if (!cpu::gemm_builtin_isa_supported(isa)) continue;
    cpu::set_gemm_builtin_isa(isa);
    SCOPED_TRACE(std::string("micro-kernel ") + isa);
    fn();
    ++ran;
  }
  cpu::set_gemm_builtin_isa(saved.c_str());
  EXPECT_GE(ran, 1);
}

TEST(Gemm, BuiltinPicksTheBestKernelTheCpuRuns) {
  const std::string best = cpu::gemm_builtin_isa_supported("avx512") ? "avx512"
                           : cpu::gemm_builtin_isa_supported("avx2") ? "avx2"
                                                                      : "portable";
  EXPECT_EQ(cpu::gemm_builtin_isa(), best);
  EXPECT_TRUE(cpu::gemm_builtin_isa_supported("portable"));
  try {
    cpu::set_gemm_builtin_isa("sse9");
    ADD_FAILURE() << "expected an Error for an unknown kernel";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("'sse9'"), std::string::npos) << e.message();
  }
  EXPECT_EQ(cpu::gemm_builtin_isa(), best);
}

TEST(Gemm, BuiltinAllTransposesAndOddSizes) {
  // Sizes around the 6x16 register tile, the MC=72/KC=256/NC=512 cache blocks and beyond.
  const std::vector<Size> sizes = {{1, 1, 1},    {7, 13, 5},   {65, 33, 130}, {6, 16, 256}, {5, 17, 257},
                                   {73, 15, 3},  {12, 32, 512}, {3, 530, 20}, {100, 40, 300}, {1, 70, 600}};
  uint64_t seed = 10;
  for (const Size& s : sizes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Problem p(ta, tb, s.M, s.N, s.K, 0, 1.0f, 0.0f, seed += 3);
        for_each_isa([&] {
          std::vector<float> c = p.C;
          cpu::gemm_builtin(p.args(c));
          EXPECT_TRUE(matches_reference(p, p.C, c));
        });
      }
}

TEST(Gemm, BuiltinAlphaBetaAndLeadingDimensions) {
  uint64_t seed = 500;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const Size& s : std::vector<Size>{{7, 13, 5}, {65, 33, 130}, {20, 17, 260}})
        for (float alpha : {1.0f, 0.5f, -2.0f})
          for (float beta : {0.0f, 1.0f, -1.5f}) {
            const Problem p(ta, tb, s.M, s.N, s.K, /*pad=*/5, alpha, beta, seed += 3);
            for_each_isa([&] {
              std::vector<float> c = p.C;
              cpu::gemm_builtin(p.args(c));
              EXPECT_TRUE(matches_reference(p, p.C, c));
            });
          }
}

TEST(Gemm, BetaZeroIgnoresGarbageInC) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Problem p(ta, tb, 9, 21, 11, 3, 1.5f, 0.0f, 77);
      for (int64_t i = 0; i < p.M; ++i)
        for (int64_t j = 0; j < p.N; ++j)
          p.C[i * p.ldc + j] = (i + j) % 2 ? std::numeric_limits<float>::quiet_NaN() : INFINITY;
      std::vector<float> c = p.C;
      cpu::gemm_builtin(p.args(c));
      EXPECT_TRUE(matches_reference(p, p.C, c));
      std::vector<float> d = p.C;
      cpu::gemm(p.args(d));
      EXPECT_TRUE(matches_reference(p, p.C, d)) << "backend " << cpu::gemm_backend();
      // alpha = 0 and beta = 0: C becomes exactly 0, NaN garbage or not.
      Problem z = p;
      z.alpha = 0.0f;
      std::vector<float> e = z.C;
      cpu::gemm_builtin(z.args(e));
      for (int64_t i = 0; i < z.M; ++i)
        for (int64_t j = 0; j < z.N; ++j) EXPECT_EQ(e[i * z.ldc + j], 0.0f);
    }
}

TEST(Gemm, EmptyInnerDimensionScalesC) {
  for (auto gemm_fn : {&cpu::gemm_builtin, &cpu::gemm}) {
    Problem p(false, false, 3, 4, 0, 2, 1.0f, 0.5f, 9);
    std::vector<float> c = p.C;
    gemm_fn(p.args(c));
    EXPECT_TRUE(matches_reference(p, p.C, c));
    Problem q(false, false, 3, 4, 0, 0, 1.0f, 0.0f, 9);
    q.C.assign(q.C.size(), std::numeric_limits<float>::quiet_NaN());
    std::vector<float> d = q.C;
    gemm_fn(q.args(d));
    EXPECT_EQ(d, std::vector<float>(12, 0.0f));
  }
}

TEST(Gemm, ConfiguredBackendAgreesWithBuiltin) {
  SCOPED_TRACE(cpu::gemm_backend());
  uint64_t seed = 900;
  const std::vector<Size> sizes = {{1, 1, 1}, {7, 13, 5}, {65, 33, 130}, {5, 17, 257}, {64, 64, 64}, {3, 530, 20}};
  for (const Size& s : sizes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 0.75f}) {
          const Problem p(ta, tb, s.M, s.N, s.K, 2, 1.25f, beta, seed += 3);
          std::vector<float> built = p.C, blas = p.C;
          cpu::gemm_builtin(p.args(built));
          cpu::gemm(p.args(blas));
          EXPECT_TRUE(matches_reference(p, p.C, blas));
          // The two implementations agree elementwise within the accumulation bound.
          for (int64_t i = 0; i < p.M; ++i)
            for (int64_t j = 0; j < p.N; ++j) {
              double mag = std::fabs(p.beta * p.C[i * p.ldc + j]);
              for (int64_t k = 0; k < p.K; ++k) mag += std::fabs(p.alpha * p.a(i, k) * p.b(k, j));
              ASSERT_NEAR(built[i * p.ldc + j], blas[i * p.ldc + j], 4e-6 * mag + 1e-30) << p.name();
            }
        }
}

TEST(Gemm, ParallelSplitMatchesReference) {
  const int before = num_threads();
  set_num_threads(2);
  uint64_t seed = 1300;
  // Row split (M >= N) and column split (M < N); both above the 2e6-flop threshold.
  for (const Size& s : std::vector<Size>{{150, 90, 120}, {20, 333, 200}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Problem p(ta, tb, s.M, s.N, s.K, 1, 1.0f, 0.0f, seed += 3);
        std::vector<float> c = p.C;
        cpu::gemm_parallel(p.args(c));
        EXPECT_TRUE(matches_reference(p, p.C, c));
      }
  set_num_threads(before);
}

// ---------------------------------------------------------------- ops::matmul and ops::linear

std::vector<double> ref_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const std::vector<double> av = testing::to_doubles(a), bv = testing::to_doubles(b);
  const int64_t M = ta ? a.size(1) : a.size(0), K = ta ? a.size(0) : a.size(1), N = tb ? b.size(0) : b.size(1);
  std::vector<double> y(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k)
        y[i * N + j] += (ta ? av[k * M + i] : av[i * K + k]) * (tb ? bv[j * K + k] : bv[k * N + j]);
  return y;
}

TEST(Matmul, AllTransposesAgainstReference) {
  const int64_t M = 19, K = 37, N = 23;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Tensor a = testing::random_tensor(ta ? Shape{K, M} : Shape{M, K}, 1);
      const Tensor b = testing::random_tensor(tb ? Shape{N, K} : Shape{K, N}, 2);
      const Tensor y = ops::matmul(a, b, ta, tb);
      EXPECT_EQ(y.shape(), (Shape{M, N}));
      EXPECT_CLOSE(y, ref_matmul(a, b, ta, tb), 2e-5, 1e-5);
    }
  // Non-contiguous operands are made contiguous first.
  const Tensor a = testing::random_tensor(Shape{K, M}, 3).transpose(0, 1);
  const Tensor b = testing::random_tensor(Shape{K, 2 * N}, 4).narrow(1, 3, N);
  EXPECT_CLOSE(ops::matmul(a, b), ref_matmul(a.contiguous(), b.contiguous(), false, false), 2e-5, 1e-5);
  // Large enough for the threaded split.
  const Tensor c = testing::random_tensor(Shape{128, 96}, 5), d = testing::random_tensor(Shape{96, 200}, 6);
  EXPECT_CLOSE(ops::matmul(c, d), ref_matmul(c, d, false, false), 3e-5, 1e-5);
  EXPECT_CLOSE(ops::matmul(from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3}),
                           from_vector<float>({7, 8, 9, 10, 11, 12}, Shape{3, 2})),
               {58, 64, 139, 154}, 0.0, 0.0);
}

TEST(Matmul, ShapeErrors) {
  EXPECT_THROW(ops::matmul(zeros(Shape{2, 3}), zeros(Shape{4, 5})), Error);
  EXPECT_THROW(ops::matmul(zeros(Shape{2, 3}), zeros(Shape{2, 5}), false, false), Error);
  EXPECT_THROW(ops::matmul(zeros(Shape{2, 3}), zeros(Shape{5, 2}), false, true), Error);
  EXPECT_THROW(ops::matmul(zeros(Shape{3, 2}), zeros(Shape{3, 5}), false, false), Error);
  EXPECT_NO_THROW(ops::matmul(zeros(Shape{3, 2}), zeros(Shape{3, 5}), true, false));
  EXPECT_THROW(ops::matmul(zeros(Shape{2, 3, 4}), zeros(Shape{4, 5})), Error);
  EXPECT_THROW(ops::matmul(zeros(Shape{3}), zeros(Shape{3, 5})), Error);
  EXPECT_THROW(ops::matmul(zeros(Shape{2, 3}, DType::I64), zeros(Shape{3, 5})), Error);
  try {
    ops::matmul(zeros(Shape{2, 3}), zeros(Shape{4, 5}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("matmul"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("[2, 3]"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("[4, 5]"), std::string::npos) << e.message();
  }
  // Empty batch: a [0, N] result.
  EXPECT_EQ(ops::matmul(zeros(Shape{0, 3}), zeros(Shape{3, 5})).shape(), (Shape{0, 5}));
  EXPECT_CLOSE(ops::matmul(zeros(Shape{2, 0}), zeros(Shape{0, 3})), std::vector<double>(6, 0.0), 0.0, 0.0);
}

TEST(Linear, WithAndWithoutBias) {
  const Tensor x = testing::random_tensor(Shape{7, 10}, 11);
  const Tensor w = testing::random_tensor(Shape{4, 10}, 12);
  const Tensor bias = testing::random_tensor(Shape{4}, 13);
  std::vector<double> ref = ref_matmul(x, w, false, true);
  EXPECT_CLOSE(ops::linear(x, w, Tensor()), ref, 1e-5, 1e-5);
  const std::vector<double> bv = testing::to_doubles(bias);
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 4; ++j) ref[i * 4 + j] += bv[j];
  const Tensor y = ops::linear(x, w, bias);
  EXPECT_EQ(y.shape(), (Shape{7, 4}));
  EXPECT_CLOSE(y, ref, 1e-5, 1e-5);
  // Hand case: x [1,2] = [1, 2], w = [[1, 1], [3, -1]], b = [10, 20] -> [13, 21].
  EXPECT_CLOSE(ops::linear(from_vector<float>({1, 2}, Shape{1, 2}), from_vector<float>({1, 1, 3, -1}, Shape{2, 2}),
                           from_vector<float>({10, 20}, Shape{2})),
               {13, 21}, 0.0, 0.0);
}

TEST(Linear, ShapeErrors) {
  const Tensor x = zeros(Shape{3, 5}), w = zeros(Shape{4, 5});
  EXPECT_THROW(ops::linear(zeros(Shape{3, 6}), w, Tensor()), Error);
  EXPECT_THROW(ops::linear(x, zeros(Shape{5, 4}), Tensor()), Error);
  EXPECT_THROW(ops::linear(x, w, zeros(Shape{5})), Error);
  EXPECT_THROW(ops::linear(x, w, zeros(Shape{1, 4})), Error);
  EXPECT_THROW(ops::linear(x, w, zeros(Shape{4}, DType::I64)), Error);
  EXPECT_THROW(ops::linear(zeros(Shape{2, 3, 5}), w, Tensor()), Error);
  EXPECT_THROW(ops::linear(x, zeros(Shape{5}), Tensor()), Error);
  try {
    ops::linear(zeros(Shape{3, 6}), w, Tensor());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("linear"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("[3, 6]"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace retort
