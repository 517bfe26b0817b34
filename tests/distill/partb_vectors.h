// Access to ../shared/reference/kd_test_vectors.json for the part-B objective
// tests (DKD, DIST, DTKD, CTKD, CMKD, STKD, backward-pass KD).
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "autograd/variable.h"
#include "distill/objective.h"
#include "tensor/file_io.h"
#include "tensor/json.h"
#include "tensor/tensor.h"

// |actual − expected| <= atol + rtol·|expected| for scalars, fp64 tolerance by default.
#define EXPECT_REL(actual, expected, ...) \
  EXPECT_TRUE(::retort::testing::kdv::near_rel((actual), (expected), ##__VA_ARGS__))

namespace retort {
namespace testing {
namespace kdv {

// fp64 tolerance of the vectors (METHODS.md §1.9): relative 1e-5, absolute 1e-8.
constexpr double kRtol = 1e-5, kAtol = 1e-8;
// fp32 tolerance, for the composed f32 autograd versions.
constexpr double kRtol32 = 1e-4, kAtol32 = 1e-6;

inline ::testing::AssertionResult near_rel(double actual, double expected, double rtol = kRtol, double atol = kAtol) {
  const double err = std::fabs(actual - expected);
  if (err <= atol + rtol * std::fabs(expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "actual " << actual << ", expected " << expected << " (error " << err
                                       << ", relative " << err / std::fabs(expected) << ")";
}

inline const json::Value& root() {
  static const json::Value v = json::parse(read_file(RETORT_SOURCE_DIR "/../shared/reference/kd_test_vectors.json"));
  return v;
}

// The vector with this id ("dkd.A", ...); throws when absent.
inline const json::Value& vec(const std::string& id) {
  const json::Value& all = root().at("vectors");
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].at("id").as_string() == id) return all[i];
  throw std::runtime_error("kd_test_vectors.json has no vector " + id);
}

// Every number of a (nested) array, row-major; a number gives one value.
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
inline std::vector<double> expected_flat(const std::string& id, const std::string& key) {
  return flat(vec(id).at("expected").at(key));
}
inline double param(const std::string& id, const std::string& key) { return vec(id).at("params").at(key).as_double(); }

// A f32 matrix [rows, cols] from a nested array.
inline Tensor matrix(const json::Value& v) {
  const int64_t rows = static_cast<int64_t>(v.size()), cols = static_cast<int64_t>(v[0].size());
  const std::vector<double> d = flat(v);
  return from_vector<float>(std::vector<float>(d.begin(), d.end()), Shape{rows, cols});
}
// Logits of a shared input ("A", "B", "B2"): which = "Zs" or "Zt".
inline Tensor logits(const std::string& input, const std::string& which) {
  return matrix(root().at("inputs").at(input).at(which));
}
// i64 labels from an array of integers.
inline Tensor label_tensor(const json::Value& v) {
  std::vector<int64_t> y;
  for (size_t i = 0; i < v.size(); ++i) y.push_back(v[i].as_int64());
  return from_vector<int64_t>(y, Shape{static_cast<int64_t>(y.size())});
}
inline Tensor labels(const std::string& input) { return label_tensor(root().at("inputs").at(input).at("y")); }

// A loss evaluated at student logits zs (a fresh leaf) and its gradient.
struct Evaluated {
  distill::LossResult loss;
  Tensor grad;
  double total() const { return loss.total.value().to(Device::cpu()).item<float>(); }
};
template <class F>
Evaluated evaluate(F&& f, const Tensor& zs) {
  autograd::Variable v(zs.clone(), true);
  Evaluated e{f(v), Tensor()};
  e.loss.total.backward();
  e.grad = v.grad();
  return e;
}

// Sum of the named terms (they must add up to the total).
inline double terms_sum(const distill::LossResult& r) {
  double s = 0;
  for (const auto& t : r.terms) s += t.second;
  return s;
}

// The shapes of the gradient checks: B in {1, 2, 7, 64} x C in {3, 10, 100}.
struct Size {
  int64_t B, C;
};
inline std::vector<Size> all_sizes() {
  std::vector<Size> v;
  for (int64_t B : {1, 2, 7, 64})
    for (int64_t C : {3, 10, 100}) v.push_back({B, C});
  return v;
}
inline std::string size_name(const ::testing::TestParamInfo<Size>& i) {
  return "B" + std::to_string(i.param.B) + "_C" + std::to_string(i.param.C);
}

}  // namespace kdv
}  // namespace testing
}  // namespace retort
