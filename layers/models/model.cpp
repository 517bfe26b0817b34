#include "layers/models/model.h"

namespace retort {
namespace layers {

const Variable* Taps::find(const std::string& name) const {
  for (const auto& kv : items_)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

const Variable& Taps::at(const std::string& name) const {
  if (const Variable* v = find(name)) return *v;
  std::string names;
  for (const auto& kv : items_) names += (names.empty() ? "" : ", ") + kv.first;
  RETORT_FAIL("taps: no tap named '" << name << "'; available: " << names);
}

Model::Model(std::string name, const ModelConfig& config, int64_t feature_dim, std::string classifier_key)
    : config_(config), name_(std::move(name)), feature_dim_(feature_dim), classifier_key_(std::move(classifier_key)) {
  RETORT_CHECK(config.num_classes >= 1 && config.in_channels >= 1,
               name_ << ": expected num_classes and in_channels >= 1, found " << config.num_classes << " and "
                     << config.in_channels);
}

void Model::check_input(const Variable& x) const {
  RETORT_CHECK(x.ndim() == 4 && x.size(3) == config_.in_channels,
               name_ << ": expected input images [N, H, W, " << config_.in_channels << "] (channels last), found "
                     << x.shape());
}

}  // namespace layers
}  // namespace retort
