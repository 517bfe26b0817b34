// Variables, graph nodes and grad mode.
//
// A Variable is a cheap shared handle to a value Tensor, its gradient and the
// Node that produced it. A Node holds edges to the producers of its inputs (or
// to leaf variables) and whatever its backward needs, saved with the storage
// version so an in-place change of a saved tensor is an error, never a wrong
// gradient. Nodes never point to their outputs, so graphs have no cycles and
// are freed with the last Variable that refers to them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace retort {
namespace autograd {

class Node;
struct VariableImpl;

// Where the gradient of one input goes: output `output_nr` of `node`, or a leaf.
struct Edge {
  std::shared_ptr<Node> node;
  int output_nr = 0;
  std::shared_ptr<VariableImpl> leaf;
  bool valid() const { return node != nullptr || leaf != nullptr; }
};

struct VariableImpl {
  Tensor value;
  Tensor grad;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  int output_nr = 0;
};

class Variable {
 public:
  Variable() = default;
  explicit Variable(Tensor value, bool requires_grad = false);

  bool defined() const { return impl_ != nullptr; }
  const Tensor& value() const;
  // Replaces the value of a leaf (same shape and dtype), e.g. to move it to a device.
  void set_value(const Tensor& value) const;
  // The accumulated gradient (undefined until a backward reaches this leaf).
  const Tensor& grad() const;
  void set_grad(const Tensor& g) const;
  void zero_grad() const;  // drops the gradient (PyTorch's set_to_none)
  bool requires_grad() const;
  void set_requires_grad(bool r) const;  // leaves only
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  int output_nr() const;
  // A new leaf sharing the value, outside any graph.
  Variable detach() const;

  const Shape& shape() const { return value().shape(); }
  int64_t size(int dim) const { return value().size(dim); }
  int ndim() const { return value().ndim(); }
  int64_t numel() const { return value().numel(); }

  // Backpropagates from this variable; `grad` defaults to 1 for a one-element value.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }
  static Variable from_impl(std::shared_ptr<VariableImpl> impl);

 private:
  std::shared_ptr<VariableImpl> impl_;
};

// A tensor saved for backward with the version it had.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t) : tensor_(t), version_(t.version()) {}
  // Throws Error when the tensor was modified in place after it was saved.
  const Tensor& get(const char* node_name) const;
  void reset() { tensor_ = Tensor(); }
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

class Node {
 public:
  // Frees long chains of producers iteratively (no recursion depth limit).
  virtual ~Node();
  virtual const char* name() const = 0;
  // Gradients for each input edge from the gradients of the outputs. An
  // undefined output gradient means zero; an undefined result means none.
  virtual std::vector<Tensor> apply(const std::vector<Tensor>& grad_outputs) = 0;
  // Frees what was saved for backward.
  virtual void release() = 0;

  // Whether input i's gradient is wanted in this backward pass.
  bool needs_input_grad(int i) const { return i < static_cast<int>(wanted_.size()) && wanted_[i]; }
  int num_outputs() const { return num_outputs_; }
  const std::vector<Edge>& next_edges() const { return next_; }

 protected:
  int num_outputs_ = 1;

 private:
  friend class Engine;
  friend Variable make_output(const std::shared_ptr<Node>&, const std::vector<Variable>&, const Tensor&);
  friend std::vector<Variable> make_outputs(const std::shared_ptr<Node>&, const std::vector<Variable>&,
                                            const std::vector<Tensor>&);
  std::vector<Edge> next_;
  std::vector<char> wanted_;
  bool released_ = false;
};

// Grad mode: when off, functions record nothing and save nothing.
bool grad_enabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and some input requires a gradient: a function
// then builds a Node; otherwise it returns a plain Variable.
bool needs_graph(const std::vector<Variable>& inputs);
// Wraps `value` as the output of `node`, whose inputs are `inputs`.
Variable make_output(const std::shared_ptr<Node>& node, const std::vector<Variable>& inputs, const Tensor& value);
// The same for a node with several outputs.
std::vector<Variable> make_outputs(const std::shared_ptr<Node>& node, const std::vector<Variable>& inputs,
                                   const std::vector<Tensor>& values);

}  // namespace autograd
}  // namespace retort
