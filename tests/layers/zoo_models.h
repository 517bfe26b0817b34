// Zoo instances shared by the layers tests: the big models are slow to build
// (their random initialisation dominates), so each test binary run builds each
// CIFAR model at (100 classes, 3 channels, seed 0) once. Tests may run forward
// and backward on them (BN running statistics and gradients change) but must
// not change parameter values, and should drop gradients when done.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "layers/models/zoo.h"

namespace retort {
namespace testing {

inline layers::Model& cifar_model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<layers::Model>> cache;
  std::unique_ptr<layers::Model>& m = cache[name];
  if (!m) m = layers::make_model(name, layers::ModelConfig{100, 3, 0});
  return *m;
}

}  // namespace testing
}  // namespace retort
