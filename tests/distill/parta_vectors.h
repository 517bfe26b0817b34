// Shared helpers of the part-A objective tests (KD, CSKD, CSKD full recipe,
// the fused machinery, `retort loss`): the vectors of
// ../shared/reference/kd_test_vectors.json, scalar closeness, evaluation of a
// loss and its gradient, and a double-precision finite-difference check of the
// host-level fused functions.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "distill/fused.h"
#include "distill/objective.h"
#include "tensor/file_io.h"
#include "tensor/json.h"
#include "tensor/tensor.h"
#include "tests/testing.h"

namespace retort {
namespace testing {
namespace kda {

// The tolerance of the vectors for a float64 implementation (METHODS §1.9),
// read from the file below and checked against these values by a test.
constexpr double kRtol = 1e-5, kAtol = 1e-8;

inline const json::Value& vectors_file() {
  static const json::Value v = json::parse(read_file(RETORT_SOURCE_DIR "/../shared/reference/kd_test_vectors.json"));
  return v;
}

// The vector with this id, e.g. "cskd.core.A".
inline const json::Value& vec(const std::string& id) {
  const json::Value& all = vectors_file().at("vectors");
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].at("id").as_string() == id) return all[i];
  throw std::runtime_error("kd_test_vectors.json has no vector '" + id + "'");
}

inline void flatten(const json::Value& v, std::vector<double>& out) {
  if (v.is_number()) {
    out.push_back(v.as_double());
    return;
  }
  for (size_t i = 0; i < v.size(); ++i) flatten(v[i], out);
}
inline std::vector<double> flat(const json::Value& v) {
  std::vector<double> out;
  flatten(v, out);
  return out;
}

inline double expected(const std::string& id, const std::string& key) {
  return vec(id).at("expected").at(key).as_double();
}
inline std::vector<double> expected_vec(const std::string& id, const std::string& key) {
  return flat(vec(id).at("expected").at(key));
}
inline double param(const std::string& id, const std::string& key) { return vec(id).at("params").at(key).as_double(); }

// Logits "Zs" or "Zt" of a shared input ("A", "B", "B2") as f32 [rows, cols].
inline Tensor logits(const std::string& input, const std::string& which) {
  const json::Value& m = vectors_file().at("inputs").at(input).at(which);
  const std::vector<double> d = flat(m);
  return from_vector<float>(std::vector<float>(d.begin(), d.end()),
                            Shape{static_cast<int64_t>(m.size()), static_cast<int64_t>(m[0].size())});
}
inline Tensor labels(const std::string& input) {
  const json::Value& y = vectors_file().at("inputs").at(input).at("y");
  std::vector<int64_t> v;
  for (size_t i = 0; i < y.size(); ++i) v.push_back(y[i].as_int64());
  return from_vector<int64_t>(v, Shape{static_cast<int64_t>(v.size())});
}

inline ::testing::AssertionResult near(double actual, double expected, double rtol = kRtol, double atol = kAtol) {
  const double err = std::fabs(actual - expected);
  if (err <= atol + rtol * std::fabs(expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "actual " << actual << ", expected " << expected << " (error " << err
                                       << ", allowed " << atol + rtol * std::fabs(expected) << ")";
}
#define EXPECT_NEAR_REL(actual, expected, ...) \
  EXPECT_TRUE(::retort::testing::kda::near((actual), (expected), ##__VA_ARGS__))

inline double value(const autograd::Variable& v) { return v.value().to(Device::cpu()).item<float>(); }

inline double terms_sum(const distill::LossResult& r) {
  double s = 0.0;
  for (const auto& t : r.terms) s += t.second;
  return s;
}

// A loss of fresh leaf student logits and the gradient backward gives them.
struct Evaluated {
  distill::LossResult loss;
  Tensor grad;
  double total() const { return value(loss.total); }
};
template <class F>
Evaluated evaluate(F&& f, const Tensor& student) {
  autograd::Variable s(student.clone(), true);
  Evaluated e{f(s), Tensor()};
  e.loss.total.backward();
  e.grad = s.grad();
  return e;
}

// Central differences in double (step h) of a host-level loss f(z, dz)
// against the gradient it adds to dz; compares every element with
// |analytic − numeric| <= tol·max|numeric|.
using HostLoss = std::function<double(const distill::fused::Matrix&, distill::fused::Matrix*)>;
inline ::testing::AssertionResult host_grad_check(const HostLoss& f, const distill::fused::Matrix& z0,
                                                  double tol = 1e-6, double h = 1e-5) {
  distill::fused::Matrix analytic(z0.rows, z0.cols);
  f(z0, &analytic);
  distill::fused::Matrix z = z0;
  std::vector<double> numeric(z.data.size());
  double scale = 0.0;
  for (size_t k = 0; k < z.data.size(); ++k) {
    const double x = z.data[k];
    z.data[k] = x + h;
    const double lp = f(z, nullptr);
    z.data[k] = x - h;
    const double lm = f(z, nullptr);
    z.data[k] = x;
    numeric[k] = (lp - lm) / (2 * h);
    scale = std::max(scale, std::fabs(numeric[k]));
  }
  std::ostringstream bad;
  int failures = 0;
  for (size_t k = 0; k < z.data.size(); ++k) {
    const double err = std::fabs(analytic.data[k] - numeric[k]);
    if (err > tol * scale && ++failures <= 5)
      bad << "\n  [" << k << "] analytic " << analytic.data[k] << ", numeric " << numeric[k] << " (error " << err
          << ")";
  }
  if (scale == 0.0) return ::testing::AssertionFailure() << "the loss does not depend on the logits";
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << failures << " of " << z.data.size() << " elements differ beyond "
                                       << tol << " x " << scale << ":" << bad.str();
}

// Gradient-check options scaled to the gradient at hand: the loss is a f32
// scalar, so central differences carry about ulp(L)/eps of noise, and a fixed
// absolute tolerance would accept anything when the gradients are small
// (B = 64, C = 100). The tolerance is 1% of the largest projected gradient element.
inline GradCheckOptions scaled_options(const Tensor& grad) {
  double m = 0.0;
  for (double g : to_doubles(grad)) m = std::max(m, std::fabs(g));
  GradCheckOptions o;
  // grad_check differentiates w·L with w drawn from seed + 1000 (testing.cpp).
  m *= std::fabs(to_doubles(random_tensor(Shape{}, o.seed + 1000))[0]);
  o.eps = 1e-2;
  o.atol = 1e-2 * m;
  o.rtol = 1e-2;
  o.max_positions = 24;
  return o;
}

}  // namespace kda
}  // namespace testing
}  // namespace retort
