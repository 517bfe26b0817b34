// The self-test of a device: checks that run an op, an objective or a short
// training run on a device and on the CPU from the same inputs, and the
// comparison that judges them. `retort selftest` prints them as a table.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace retort {
namespace tools {

// One row of the table: outputs computed on a device from inputs that are
// made on the CPU (fixed seeds) and copied there.
struct Check {
  std::string name;
  double atol, rtol;
  std::function<std::vector<Tensor>(const Device&)> run;
};

struct Outcome {
  double max_abs = 0.0, max_rel = 0.0;  // relative error over elements with |expected| > 1e-6
  bool pass = true;
  std::string why;  // a count, dtype, shape or NaN mismatch
};

// Passes when outputs match in count, dtype and shape, NaNs sit in the same
// places and |got - want| <= atol + rtol |want| everywhere else.
Outcome compare(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double atol, double rtol);

// Every op family (forward and backward), every distillation objective, and 20
// SGD steps of resnet20, in table order.
std::vector<Check> selftest_checks();

}  // namespace tools
}  // namespace retort
