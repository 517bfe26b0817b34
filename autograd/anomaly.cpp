#include "autograd/anomaly.h"

#include <sstream>
#include <string>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace retort {
namespace autograd {

namespace {

// NaN and infinite elements of a float tensor; 0 for other dtypes and undefined tensors.
int64_t nonfinite(const Tensor& t) {
  return t.defined() && t.dtype() == DType::F32 ? ops::count_nonfinite(t) : 0;
}

// "LogBackward" -> "Log": the forward function's name.
std::string forward_name(const char* node_name) {
  std::string s = node_name;
  const std::string suffix = "Backward";
  if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
    s.resize(s.size() - suffix.size());
  return s;
}

// "[4, 10] finite, [10] 3 non-finite": each tensor's shape and state.
std::string describe(const std::vector<Tensor>& ts) {
  std::ostringstream os;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (i > 0) os << ", ";
    if (!ts[i].defined()) {
      os << "none";
      continue;
    }
    const int64_t bad = nonfinite(ts[i]);
    os << ts[i].shape() << (bad == 0 ? " finite" : " " + std::to_string(bad) + " non-finite");
  }
  return os.str();
}

}  // namespace

void set_detect_anomaly(bool on) { anomaly_flag().store(on, std::memory_order_relaxed); }

void check_forward(const char* node_name, const std::vector<Variable>& inputs, const std::vector<Tensor>& outputs) {
  for (size_t k = 0; k < outputs.size(); ++k) {
    const int64_t bad = nonfinite(outputs[k]);
    if (bad == 0) continue;
    std::vector<Tensor> in;
    bool constant_bad = false;  // a non-finite input that no recorded function produced
    for (const Variable& v : inputs) {
      in.push_back(v.defined() ? v.value() : Tensor());
      if (v.defined() && v.is_leaf() && nonfinite(v.value()) > 0) constant_bad = true;
    }
    RETORT_FAIL("detect-anomaly: the forward of " << forward_name(node_name) << " produced " << bad
                                                  << " NaN/Inf values in its output " << k << " "
                                                  << outputs[k].shape() << " (inputs: " << describe(in) << ")"
                                                  << (constant_bad ? "; a non-finite input comes from outside the "
                                                                     "graph (data, a constant, a no-grad result "
                                                                     "or a parameter)"
                                                                   : ""));
  }
}

void check_backward(const char* node_name, const std::vector<Tensor>& grad_outputs,
                    const std::vector<Tensor>& grad_inputs) {
  for (size_t k = 0; k < grad_inputs.size(); ++k) {
    const int64_t bad = nonfinite(grad_inputs[k]);
    if (bad == 0) continue;
    RETORT_FAIL("detect-anomaly: the backward of " << forward_name(node_name) << " (" << node_name << ") produced "
                                                   << bad << " NaN/Inf values in the gradient of its input " << k
                                                   << " " << grad_inputs[k].shape() << " (input gradients: "
                                                   << describe(grad_inputs) << "; incoming output gradients: "
                                                   << describe(grad_outputs) << ")");
  }
}

}  // namespace autograd
}  // namespace retort
