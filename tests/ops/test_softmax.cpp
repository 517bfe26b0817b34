// Softmax, log-softmax (with temperature) and cross-entropy (with label
// smoothing) against double references, their backward passes and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

using testing::to_doubles;

// Row-wise softmax_T / log_softmax_T in double (METHODS.md 1.2).
std::vector<double> ref_softmax(const std::vector<double>& x, int64_t cols, double T, bool log) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    const double* xr = x.data() + r * cols;
    double m = -INFINITY;
    for (int64_t k = 0; k < cols; ++k) m = std::max(m, xr[k] / T);
    double s = 0.0;
    for (int64_t k = 0; k < cols; ++k) s += std::exp(xr[k] / T - m);
    for (int64_t k = 0; k < cols; ++k) {
      const double z = xr[k] / T - m - std::log(s);
      y[r * cols + k] = log ? z : std::exp(z);
    }
  }
  return y;
}

// dL/dx for y = softmax_T(x) (or log_softmax_T) and upstream g, from the double forward.
std::vector<double> ref_softmax_backward(const std::vector<double>& g, const std::vector<double>& x, int64_t cols,
                                         double T, bool log) {
  const std::vector<double> p = ref_softmax(x, cols, T, false);
  std::vector<double> dx(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    double s = 0.0;
    for (int64_t k = 0; k < cols; ++k) s += log ? g[r * cols + k] : g[r * cols + k] * p[r * cols + k];
    for (int64_t k = 0; k < cols; ++k) {
      const size_t i = r * cols + k;
      dx[i] = log ? (g[i] - p[i] * s) / T : p[i] * (g[i] - s) / T;
    }
  }
  return dx;
}

// Mean over rows of -sum_k q_k log softmax(z)_k, q = (1-s) onehot + s/C.
double ref_cross_entropy(const std::vector<double>& z, const std::vector<int64_t>& labels, int64_t cols, double s) {
  const std::vector<double> lp = ref_softmax(z, cols, 1.0, true);
  double total = 0.0;
  for (size_t r = 0; r < labels.size(); ++r)
    for (int64_t k = 0; k < cols; ++k) {
      const double q = (k == labels[r] ? 1.0 - s : 0.0) + s / cols;
      total -= q * lp[r * cols + k];
    }
  return total / static_cast<double>(labels.size());
}

std::vector<double> ref_cross_entropy_backward(const std::vector<double>& z, const std::vector<int64_t>& labels,
                                               int64_t cols, double s, double grad) {
  const std::vector<double> p = ref_softmax(z, cols, 1.0, false);
  const double B = static_cast<double>(labels.size());
  std::vector<double> d(z.size());
  for (size_t r = 0; r < labels.size(); ++r)
    for (int64_t k = 0; k < cols; ++k) {
      const double q = (k == labels[r] ? 1.0 - s : 0.0) + s / cols;
      d[r * cols + k] = grad * (p[r * cols + k] - q) / B;
    }
  return d;
}

TEST(Softmax, HandComputed) {
  // softmax([0, ln 3]) = [1/4, 3/4]; at T = 2 the same from [0, 2 ln 3].
  const float l3 = static_cast<float>(std::log(3.0));
  EXPECT_CLOSE(ops::softmax(from_vector<float>({0, l3}, Shape{1, 2})), {0.25, 0.75}, 1e-7, 1e-6);
  EXPECT_CLOSE(ops::softmax(from_vector<float>({0, 2 * l3}, Shape{1, 2}), 2.0f), {0.25, 0.75}, 1e-7, 1e-6);
  EXPECT_CLOSE(ops::log_softmax(from_vector<float>({0, l3}, Shape{1, 2})), {std::log(0.25), std::log(0.75)}, 1e-7, 1e-6);
  // Equal logits: uniform, log(1/4), at any temperature.
  const Tensor eq = full(Shape{2, 4}, 7.5);
  for (float T : {1.0f, 4.0f, 0.5f}) {
    EXPECT_CLOSE(ops::softmax(eq, T), std::vector<double>(8, 0.25), 0.0, 0.0);
    EXPECT_CLOSE(ops::log_softmax(eq, T), std::vector<double>(8, -std::log(4.0)), 0.0, 1e-7);
  }
  // One class: softmax 1, log-softmax 0.
  EXPECT_CLOSE(ops::softmax(from_vector<float>({-3, 5}, Shape{2, 1})), {1, 1}, 0.0, 0.0);
  EXPECT_CLOSE(ops::log_softmax(from_vector<float>({-3, 5}, Shape{2, 1})), {0, 0}, 0.0, 0.0);
}

TEST(Softmax, AgainstReferenceAtTemperatures) {
  for (const Shape& s : {Shape{5, 7}, Shape{2, 3, 10}, Shape{64, 100}, Shape{1, 1000}}) {
    const Tensor x = testing::random_tensor(s, 3, 3.0f);
    const int64_t cols = s[s.ndim() - 1];
    for (float T : {1.0f, 4.0f, 3.0f, 0.5f}) {
      SCOPED_TRACE(s.str() + " T=" + std::to_string(T));
      const std::vector<double> xd = to_doubles(x);
      const Tensor y = ops::softmax(x, T), ly = ops::log_softmax(x, T);
      EXPECT_EQ(y.shape(), s);
      EXPECT_CLOSE(y, ref_softmax(xd, cols, T, false), 1e-12, 1e-5);
      EXPECT_CLOSE(ly, ref_softmax(xd, cols, T, true), 1e-6, 1e-5);
      // Rows sum to one.
      EXPECT_CLOSE(ops::sum(y, -1), std::vector<double>(x.numel() / cols, 1.0), 1e-6, 0.0);
    }
  }
  // A strided view reads rows in logical order.
  const Tensor v = testing::random_tensor(Shape{6, 4}, 9).transpose(0, 1);
  EXPECT_CLOSE(ops::softmax(v, 2.0f), ref_softmax(to_doubles(v), 6, 2.0, false), 1e-12, 1e-5);
}

TEST(Softmax, ExtremeLogitsStayFiniteAndAccurate) {
  // |z| = 1e4: exp overflows without the max subtraction. Differences of 1 and
  // 2.5 between the leading logits keep several classes relevant.
  const Tensor x = from_vector<float>({1e4f, -1e4f, 0.0f, 9999.0f,          //
                                       9997.5f, -1e4f, -1e4f, -9999.0f,     //
                                       -1e4f, -1e4f, -1e4f, -9999.0f},      //
                                      Shape{3, 4});
  const std::vector<double> xd = to_doubles(x);
  for (float T : {1.0f, 4.0f, 3.0f, 0.7f}) {
    SCOPED_TRACE("T=" + std::to_string(T));
    const Tensor y = ops::softmax(x, T), ly = ops::log_softmax(x, T);
    EXPECT_EQ(ops::count_nonfinite(y), 0);
    EXPECT_EQ(ops::count_nonfinite(ly), 0);
    EXPECT_CLOSE(y, ref_softmax(xd, 4, T, false), 1e-30, 1e-5);
    EXPECT_CLOSE(ly, ref_softmax(xd, 4, T, true), 1e-6, 1e-5);
  }
  // Hand case at T = 1: row 2 = [-1e4, -1e4, -1e4, -9999]: the last class has
  // probability e/(3 + e), the others 1/(3 + e).
  const double e = std::exp(1.0);
  EXPECT_CLOSE(ops::softmax(x).narrow(0, 2, 1), {1 / (3 + e), 1 / (3 + e), 1 / (3 + e), e / (3 + e)}, 1e-12, 1e-6);
  EXPECT_CLOSE(ops::log_softmax(x).narrow(0, 2, 1),
               {-std::log(3 + e), -std::log(3 + e), -std::log(3 + e), 1 - std::log(3 + e)}, 1e-7, 1e-6);
  // Row 0: 1e4 and 9999 share the mass 1/(1 + e^-1) : e^-1/(1 + e^-1); the class at -1e4 gets
  // exactly 0 probability and the finite log-probability -2e4 - log(1 + e^-1).
  EXPECT_CLOSE(ops::softmax(x).narrow(0, 0, 1), {1 / (1 + 1 / e), 0, 0, (1 / e) / (1 + 1 / e)}, 0.0, 1e-6);
  EXPECT_EQ(ops::softmax(x).to_vector<float>()[1], 0.0f);
  EXPECT_CLOSE(ops::log_softmax(x).narrow(0, 0, 1).narrow(1, 1, 1), {-2e4 - std::log1p(1 / e)}, 0.0, 1e-7);
}

TEST(Softmax, Backward) {
  for (const Shape& s : {Shape{5, 7}, Shape{2, 3, 10}, Shape{33, 50}}) {
    const Tensor x = testing::random_tensor(s, 13, 2.0f);
    const Tensor g = testing::random_tensor(s, 14);
    const int64_t cols = s[s.ndim() - 1];
    const std::vector<double> xd = to_doubles(x), gd = to_doubles(g);
    for (float T : {1.0f, 4.0f, 3.0f}) {
      SCOPED_TRACE(s.str() + " T=" + std::to_string(T));
      const Tensor dx = ops::softmax_backward(g, ops::softmax(x, T), T);
      EXPECT_CLOSE(dx, ref_softmax_backward(gd, xd, cols, T, false), 1e-6, 1e-5);
      const Tensor dl = ops::log_softmax_backward(g, ops::log_softmax(x, T), T);
      EXPECT_CLOSE(dl, ref_softmax_backward(gd, xd, cols, T, true), 1e-6, 1e-5);
    }
  }
  // Hand case: p = [1/4, 3/4], g = [1, 0], T = 2: dx = (1/2) p (g - 1/4) = [3/32, -3/32].
  const Tensor y = from_vector<float>({0.25f, 0.75f}, Shape{1, 2});
  EXPECT_CLOSE(ops::softmax_backward(from_vector<float>({1, 0}, Shape{1, 2}), y, 2.0f), {3.0 / 32, -3.0 / 32}, 0.0,
               0.0);
  // log-softmax: dx = (1/T)(g - p sum g) = (1/2)([1, 0] - [1/4, 3/4]) = [3/8, -3/8].
  const Tensor ly = from_vector<float>({std::log(0.25f), std::log(0.75f)}, Shape{1, 2});
  EXPECT_CLOSE(ops::log_softmax_backward(from_vector<float>({1, 0}, Shape{1, 2}), ly, 2.0f), {0.375, -0.375}, 1e-7,
               1e-6);
  EXPECT_THROW(ops::softmax_backward(zeros(Shape{2, 3}), zeros(Shape{3, 2})), Error);
  EXPECT_THROW(ops::log_softmax_backward(zeros(Shape{2, 3}), zeros(Shape{2, 3}), 0.0f), Error);
}

TEST(Softmax, Errors) {
  EXPECT_THROW(ops::softmax(zeros(Shape{2, 3}), 0.0f), Error);
  EXPECT_THROW(ops::log_softmax(zeros(Shape{2, 3}), -1.0f), Error);
  EXPECT_THROW(ops::softmax(zeros(Shape{2, 3}, DType::I64)), Error);
  EXPECT_THROW(ops::softmax(zeros(Shape{2, 0})), Error);
  EXPECT_THROW(ops::softmax(scalar(1.0f)), Error);
}

TEST(CrossEntropy, HandComputed) {
  // Row 0: softmax([0, ln 3]) = [1/4, 3/4], label 1 -> -ln(3/4); row 1: [0, 0], label 0 -> ln 2.
  const float l3 = static_cast<float>(std::log(3.0));
  const Tensor z = from_vector<float>({0, l3, 0, 0}, Shape{2, 2});
  const Tensor labels = from_vector<int64_t>({1, 0}, Shape{2});
  const double ce = (-std::log(0.75) + std::log(2.0)) / 2;
  EXPECT_CLOSE(ops::cross_entropy(z, labels), {ce}, 0.0, 1e-6);
  EXPECT_EQ(ops::cross_entropy(z, labels).shape(), Shape{});
  // Smoothing 0.1 with C = 2: q = [0.05, 0.95] for label 1, [0.95, 0.05] for label 0.
  const double sm = (-(0.05 * std::log(0.25) + 0.95 * std::log(0.75)) - std::log(0.5)) / 2;
  EXPECT_CLOSE(ops::cross_entropy(z, labels, 0.1f), {sm}, 0.0, 1e-6);
  // Smoothing 1: q uniform.
  const double un = (-(0.5 * std::log(0.25) + 0.5 * std::log(0.75)) - std::log(0.5)) / 2;
  EXPECT_CLOSE(ops::cross_entropy(z, labels, 1.0f), {un}, 0.0, 1e-6);
  // Backward: (p - q)/B * grad with grad 2: row 0 [0.25, -0.25], row 1 [-0.5, 0.5].
  EXPECT_CLOSE(ops::cross_entropy_backward(z, labels, 0.0f, 2.0f), {0.25, -0.25, -0.5, 0.5}, 1e-7, 1e-6);
  // With smoothing 0.1: row 0 p - q = [0.2, -0.2], row 1 [-0.45, 0.45]; times 2/2.
  EXPECT_CLOSE(ops::cross_entropy_backward(z, labels, 0.1f, 2.0f), {0.2, -0.2, -0.45, 0.45}, 1e-7, 1e-6);
}

TEST(CrossEntropy, AgainstReference) {
  for (const Shape& s : {Shape{1, 3}, Shape{8, 10}, Shape{64, 100}, Shape{17, 1000}}) {
    const int64_t B = s[0], C = s[1];
    const Tensor z = testing::random_tensor(s, 21, 4.0f);
    Generator gen(22);
    const Tensor labels = ops::randint(Shape{B}, C, gen);
    const std::vector<double> zd = to_doubles(z);
    const std::vector<int64_t> lv = labels.to_vector<int64_t>();
    for (float smoothing : {0.0f, 0.1f, 0.5f, 1.0f}) {
      SCOPED_TRACE(s.str() + " smoothing " + std::to_string(smoothing));
      EXPECT_CLOSE(ops::cross_entropy(z, labels, smoothing), {ref_cross_entropy(zd, lv, C, smoothing)}, 1e-7, 1e-6);
      for (float grad : {1.0f, -0.5f}) {
        EXPECT_CLOSE(ops::cross_entropy_backward(z, labels, smoothing, grad),
                     ref_cross_entropy_backward(zd, lv, C, smoothing, grad), 1e-9, 1e-5);
      }
    }
  }
  // Extreme logits: finite loss equal to the margin.
  const Tensor z = from_vector<float>({1e4f, -1e4f, 0.0f, -1e4f, 1e4f, 0.0f}, Shape{2, 3});
  const Tensor labels = from_vector<int64_t>({1, 1}, Shape{2});
  EXPECT_CLOSE(ops::cross_entropy(z, labels), {1e4}, 0.0, 1e-6);  // row 0 costs 2e4, row 1 about 0
  EXPECT_CLOSE(ops::cross_entropy_backward(z, labels, 0.0f, 1.0f), {0.5, -0.5, 0, 0, 0, 0}, 1e-7, 1e-6);
}

TEST(CrossEntropy, Errors) {
  const Tensor z = zeros(Shape{3, 4});
  for (int64_t bad : {4, 17, -1}) {
    const Tensor labels = from_vector<int64_t>({0, bad, 2}, Shape{3});
    for (int which = 0; which < 2; ++which) {
      try {
        if (which == 0) ops::cross_entropy(z, labels);
        else ops::cross_entropy_backward(z, labels, 0.0f, 1.0f);
        ADD_FAILURE() << "expected an Error for label " << bad;
      } catch (const Error& e) {
        EXPECT_NE(e.message().find("label " + std::to_string(bad)), std::string::npos) << e.message();
      }
    }
  }
  EXPECT_THROW(ops::cross_entropy(z, from_vector<int64_t>({0, 1}, Shape{2})), Error);           // wrong count
  EXPECT_THROW(ops::cross_entropy(z, from_vector<float>({0, 1, 2}, Shape{3})), Error);          // wrong dtype
  EXPECT_THROW(ops::cross_entropy(z, from_vector<int64_t>({0, 1, 2}, Shape{3, 1})), Error);     // wrong rank
  EXPECT_THROW(ops::cross_entropy(zeros(Shape{3}), from_vector<int64_t>({0}, Shape{1})), Error);  // logits rank
  EXPECT_THROW(ops::cross_entropy(z, from_vector<int64_t>({0, 1, 2}, Shape{3}), -0.1f), Error);
  EXPECT_THROW(ops::cross_entropy(z, from_vector<int64_t>({0, 1, 2}, Shape{3}), 1.5f), Error);
  EXPECT_THROW(ops::cross_entropy(zeros(Shape{0, 4}), zeros(Shape{0}, DType::I64)), Error);
  EXPECT_THROW(ops::cross_entropy(z, Tensor()), Error);
}

}  // namespace
}  // namespace retort
