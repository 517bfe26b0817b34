#include "distill/logit_utils.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/error.h"

namespace retort {
namespace distill {

double warmup_factor(const char* method, int epoch, double warmup) {
  RETORT_CHECK(epoch >= 1, method << ": epochs are counted from 1, found epoch " << epoch);
  if (!(warmup > 0)) return 1.0;
  return std::min(static_cast<double>(epoch) / warmup, 1.0);
}

Tensor xlogx_sum(const Tensor& p) {
  const std::vector<float> v = p.to(Device::cpu()).contiguous().to_vector<float>();
  double s = 0.0;
  for (float x : v)
    if (x > 0) s += static_cast<double>(x) * std::log(static_cast<double>(x));
  return scalar(static_cast<float>(s), p.device());
}

Tensor one_hot(const Tensor& labels, int64_t classes, const Device& device) {
  const std::vector<int64_t> y = labels.to(Device::cpu()).contiguous().to_vector<int64_t>();
  const int64_t B = static_cast<int64_t>(y.size());
  std::vector<float> h(static_cast<size_t>(B * classes), 0.0f);
  for (int64_t i = 0; i < B; ++i) {
    RETORT_CHECK(y[i] >= 0 && y[i] < classes,
                 "one_hot: label " << y[i] << " at position " << i << " is outside [0, " << classes << ")");
    h[static_cast<size_t>(i * classes + y[i])] = 1.0f;
  }
  return from_vector<float>(h, Shape{B, classes}).to(device);
}

double item(const autograd::Variable& v) { return v.value().to(Device::cpu()).item<float>(); }

bool option_flag(const char* method, const char* name, double value) {
  RETORT_CHECK(value == 0.0 || value == 1.0, method << ": option " << name << " expects 0 or 1, found " << value);
  return value == 1.0;
}

int option_int(const char* method, const char* name, double value, int min_value, int max_value) {
  RETORT_CHECK(std::isfinite(value) && value == std::floor(value) && value >= min_value && value <= max_value,
               method << ": option " << name << " expects an integer in [" << min_value << ", " << max_value
                      << "], found " << value);
  return static_cast<int>(value);
}

}  // namespace distill
}  // namespace retort
