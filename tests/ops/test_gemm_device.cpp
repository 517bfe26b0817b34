// Matrix products on each device against the CPU and a double reference:
// every transpose combination, odd and degenerate sizes, alpha/beta and
// leading dimensions larger than the rows (the backend GEMM directly). The
// CUDA instance runs cuBLAS (row-major by the operand swap) and is reported as
// skipped on machines without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/ops.h"
#include "tests/testing.h"

#ifdef RETORT_WITH_CUDA
#include "tensor/cuda/gemm.h"
#endif

namespace retort {
namespace {

using testing::random_tensor;

class GemmDeviceTest : public testing::DeviceTest {};

struct Size3 {
  int64_t M, N, K;
};

const Size3 kSizes[] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 1, 9}, {1, 40, 13}, {5, 6, 0}, {0, 4, 3}};

// Row-major reference: alpha * op(A) op(B) + beta * C0 in double.
std::vector<double> reference(const cpu::GemmArgs& g, const std::vector<float>& c0) {
  std::vector<double> out(g.M * g.ldc, 0.0);
  for (int64_t i = 0; i < g.M; ++i)
    for (int64_t j = 0; j < g.ldc; ++j) {
      if (j >= g.N) {  // padding columns of C are never touched
        out[i * g.ldc + j] = c0[i * g.ldc + j];
        continue;
      }
      double acc = 0;
      for (int64_t k = 0; k < g.K; ++k) {
        const double a = g.trans_a ? g.A[k * g.lda + i] : g.A[i * g.lda + k];
        const double b = g.trans_b ? g.B[j * g.ldb + k] : g.B[k * g.ldb + j];
        acc += a * b;
      }
      out[i * g.ldc + j] = g.alpha * acc + (g.beta == 0.0f ? 0.0 : g.beta * c0[i * g.ldc + j]);
    }
  return out;
}

TEST_P(GemmDeviceTest, MatmulMatchesTheCpuForEveryTransposeAndSize) {
  for (const Size3& s : kSizes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        SCOPED_TRACE(::testing::Message() << "M " << s.M << ", N " << s.N << ", K " << s.K << ", trans " << ta << tb);
        const Tensor a = random_tensor(ta ? Shape{s.K, s.M} : Shape{s.M, s.K}, 51);
        const Tensor b = random_tensor(tb ? Shape{s.N, s.K} : Shape{s.K, s.N}, 52);
        const Tensor y = ops::matmul(a.to(device()), b.to(device()), ta, tb);
        ASSERT_EQ(y.device(), device());
        const Tensor expected = ops::matmul(a, b, ta, tb);
        EXPECT_CLOSE(y.to(Device::cpu()), expected, 1e-4, 1e-4);
      }
}

TEST_P(GemmDeviceTest, LinearWithBiasMatchesTheCpu) {
  const Tensor x = random_tensor({9, 13}, 61), w = random_tensor({5, 13}, 62), b = random_tensor({5}, 63);
  const Tensor y = ops::linear(x.to(device()), w.to(device()), b.to(device()));
  EXPECT_CLOSE(y.to(Device::cpu()), ops::linear(x, w, b), 1e-4, 1e-4);
}

// The backend GEMM with alpha, beta and padded leading dimensions.
TEST_P(GemmDeviceTest, BackendGemmHonoursAlphaBetaAndLeadingDimensions) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (float beta : {0.0f, -1.5f}) {
        SCOPED_TRACE(::testing::Message() << "trans " << ta << tb << ", beta " << beta);
        const int64_t M = 6, N = 7, K = 5, pad = 3;
        const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
        const Tensor a = random_tensor({ta ? K : M, lda}, 71), b = random_tensor({tb ? N : K, ldb}, 72);
        Tensor c = random_tensor({M, ldc}, 73);
        if (beta == 0.0f) {  // beta == 0: C is never read, so NaNs in it must not leak
          for (int64_t i = 0; i < M; ++i) c.data<float>()[i * ldc] = NAN;
        }
        const std::vector<float> c0 = c.to_vector<float>();
        cpu::GemmArgs args{bool(ta), bool(tb), M, N, K, 0.75f, a.data<float>(), lda, b.data<float>(), ldb, beta,
                           c.data<float>(), ldc};
        const std::vector<double> expected = reference(args, c0);
        Tensor result = c;
        if (device().is_cuda()) {
#ifdef RETORT_WITH_CUDA
          const Tensor ad = a.to(device()), bd = b.to(device());
          Tensor cd = c.to(device());
          args.A = ad.data<float>();
          args.B = bd.data<float>();
          args.C = cd.data<float>();
          cuda::gemm(args, device().index);
          result = cd.to(Device::cpu());
#endif
        } else {
          cpu::gemm(args);
        }
        EXPECT_CLOSE(result, expected, 1e-5, 1e-5);
      }
}

RETORT_DEVICE_TESTS(GemmDeviceTest);

}  // namespace
}  // namespace retort
