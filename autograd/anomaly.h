// Anomaly mode (`retort train --detect-anomaly`): every differentiable
// function's outputs are checked for NaN and infinity as the forward pass
// records them, and every node's input gradients as backward computes them.
// The first non-finite tensor throws an Error naming the function, the pass
// (forward or backward) and the shapes. Ops on constants (no input requires a
// gradient, or under NoGradGuard) are not recorded and not checked; a
// non-finite constant is named where it enters the graph. Off (the default),
// the mode costs one relaxed atomic load per recorded function and per node.
#pragma once
#include <atomic>
#include <vector>

#include "autograd/variable.h"

namespace retort {
namespace autograd {

inline std::atomic<bool>& anomaly_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}
inline bool detect_anomaly() { return anomaly_flag().load(std::memory_order_relaxed); }
void set_detect_anomaly(bool on);

// Turns the mode on for a scope and restores the previous setting.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : previous_(detect_anomaly()) { set_detect_anomaly(true); }
  ~DetectAnomalyGuard() { set_detect_anomaly(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

// Throw an Error when an output (forward) or an input gradient (backward) of
// the function `node_name` holds a NaN or an infinity. Called by make_outputs
// and the engine when the mode is on.
void check_forward(const char* node_name, const std::vector<Variable>& inputs, const std::vector<Tensor>& outputs);
void check_backward(const char* node_name, const std::vector<Tensor>& grad_outputs,
                    const std::vector<Tensor>& grad_inputs);

}  // namespace autograd
}  // namespace retort
