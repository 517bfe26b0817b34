// The Node behind the differentiable functions: a name and a backward closure
// that owns the tensors it saved. release() drops the closure, freeing them.
#pragma once
#include <functional>
#include <utility>

#include "autograd/variable.h"

namespace retort {
namespace autograd {

using Grads = std::vector<Tensor>;
using BackwardFn = std::function<Grads(const Grads& grad_outputs, const Node& node)>;

class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, BackwardFn fn) : name_(name), fn_(std::move(fn)) {}
  const char* name() const override { return name_; }
  Grads apply(const Grads& grad_outputs) override { return fn_(grad_outputs, *this); }
  void release() override { fn_ = nullptr; }

 private:
  const char* name_;
  BackwardFn fn_;
};

// Records `value` as the output of a new node over `inputs` (call only when
// needs_graph(inputs)).
inline Variable record(const char* name, const std::vector<Variable>& inputs, const Tensor& value, BackwardFn fn) {
  return make_output(std::make_shared<FunctionNode>(name, std::move(fn)), inputs, value);
}

inline std::vector<Variable> record_many(const char* name, const std::vector<Variable>& inputs,
                                         const std::vector<Tensor>& values, BackwardFn fn) {
  return make_outputs(std::make_shared<FunctionNode>(name, std::move(fn)), inputs, values);
}

}  // namespace autograd
}  // namespace retort
