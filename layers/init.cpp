#include "layers/init.h"

#include <cmath>

#include "tensor/ops.h"

namespace retort {
namespace layers {

namespace {
int64_t receptive_field(const Tensor& w) { return w.ndim() > 2 ? w.shape().prod(2, w.ndim()) : 1; }
}  // namespace

int64_t fan_in(const Tensor& w) {
  RETORT_CHECK(w.ndim() >= 2, "fan_in: expected a weight of rank >= 2, found " << w.shape());
  return w.size(1) * receptive_field(w);
}

int64_t fan_out(const Tensor& w) {
  RETORT_CHECK(w.ndim() >= 2, "fan_out: expected a weight of rank >= 2, found " << w.shape());
  return w.size(0) * receptive_field(w);
}

void kaiming_normal_fan_out(Tensor& w, Generator& gen) {
  ops::normal_(w, 0.0f, static_cast<float>(std::sqrt(2.0 / static_cast<double>(fan_out(w)))), gen);
}

void normal_init(Tensor& w, float mean, float std, Generator& gen) { ops::normal_(w, mean, std, gen); }

void default_weight_init(Tensor& w, Generator& gen) {
  const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in(w))));
  ops::uniform_(w, -bound, bound, gen);
}

void default_bias_init(Tensor& b, int64_t fan_in_of_weight, Generator& gen) {
  const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in_of_weight)));
  ops::uniform_(b, -bound, bound, gen);
}

}  // namespace layers
}  // namespace retort
