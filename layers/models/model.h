// A zoo model: a Module with a classifier, named feature taps (MODELS.md
// section 4) and the facts `retort models` reports.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "layers/layers.h"

namespace retort {
namespace layers {

// Feature taps collected during a forward pass: f0..fK (stage outputs),
// preact1..preactK (the same points before the final ReLU, where they exist)
// and pooled (the classifier's input). All NHWC except pooled [N, D].
class Taps {
 public:
  void add(const std::string& name, const Variable& v) { items_.emplace_back(name, v); }
  const Variable* find(const std::string& name) const;
  const Variable& at(const std::string& name) const;  // throws Error naming the available taps
  const std::vector<std::pair<std::string, Variable>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, Variable>> items_;
};

struct ModelConfig {
  int64_t num_classes = 100;
  int64_t in_channels = 3;
  uint64_t seed = 0;  // initialisation
};

class Model : public Module {
 public:
  Variable forward(const Variable& x) override { return forward_taps(x, nullptr); }
  // The logits; when taps is not null, also the feature taps.
  virtual Variable forward_taps(const Variable& x, Taps* taps) = 0;

  const std::string& name() const { return name_; }
  int64_t num_classes() const { return config_.num_classes; }
  int64_t in_channels() const { return config_.in_channels; }
  int64_t feature_dim() const { return feature_dim_; }
  const std::string& classifier_key() const { return classifier_key_; }

 protected:
  Model(std::string name, const ModelConfig& config, int64_t feature_dim, std::string classifier_key);
  // Checks an input batch [N, H, W, in_channels] and names the model on mismatch.
  void check_input(const Variable& x) const;

  ModelConfig config_;

 private:
  std::string name_;
  int64_t feature_dim_;
  std::string classifier_key_;
};

}  // namespace layers
}  // namespace retort
