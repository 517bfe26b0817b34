// Module: named parameters, buffers and children, with PyTorch's state_dict
// names and order (a module's own parameters, then its own buffers, then its
// children in registration order, recursively), so checkpoints of the public
// PyTorch teachers load as they are.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "tensor/tensor.h"

namespace retort {
namespace layers {

using autograd::Variable;

using retort::NamedTensor;

// What load_state_dict found besides the tensors it loaded.
struct LoadReport {
  std::vector<std::string> missing;     // expected by the module, absent from the input
  std::vector<std::string> unexpected;  // present in the input, unknown to the module
  std::vector<std::string> mismatched;  // "name: expected [..], found [..]"
  std::vector<std::string> defaulted;   // optional entries absent and set to their default (num_batches_tracked)
  int64_t loaded = 0;
  bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string summary() const;  // one line listing every problem
};

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The computation. Containers and blocks take one input and return one output.
  virtual Variable forward(const Variable& x) = 0;
  Variable operator()(const Variable& x) { return forward(x); }

  // Training mode (batch statistics in batch norm) or evaluation mode, recursively.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Every parameter, with its dotted name, in state_dict order.
  std::vector<std::pair<std::string, Variable>> named_parameters() const;
  std::vector<Variable> parameters() const;
  // Learnable scalars (PyTorch's sum of p.numel()).
  int64_t num_parameters() const;
  // Parameters' values and buffers, in PyTorch's state_dict order.
  std::vector<NamedTensor> state_dict() const;
  // Strict: every problem (missing key, unexpected key, shape or dtype mismatch)
  // throws one Error listing all of them, and nothing is modified. Non-strict:
  // loads what matches and returns the rest. Optional buffers
  // (is_optional_buffer: num_batches_tracked) may be absent; they are set to 0.
  LoadReport load_state_dict(const std::vector<NamedTensor>& tensors, bool strict = true);
  // Moves every parameter and buffer to `device` (the Variables keep their identity).
  void to(const Device& device);
  // Drops every parameter's gradient.
  void zero_grad();

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 protected:
  Variable register_parameter(const std::string& name, Tensor value);
  // The returned pointer stays valid for the module's lifetime. A host-only
  // buffer (a counter) stays on the CPU when the module moves to a device.
  Tensor* register_buffer(const std::string& name, Tensor value, bool host_only = false);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  // Buffers that may be missing from a checkpoint (e.g. num_batches_tracked).
  virtual bool is_optional_buffer(const std::string& local_name) const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  // Visits (full name, parameter) and (full name, buffer) in state_dict order.
  template <class ParamFn, class BufferFn>
  void visit(const std::string& prefix, ParamFn&& on_param, BufferFn&& on_buffer) const;

  std::vector<std::pair<std::string, Variable>> params_;
  struct Buffer {
    std::string name;
    Tensor tensor;
    bool host_only;
  };
  std::deque<Buffer> buffers_;  // deque: stable addresses
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace layers
}  // namespace retort
