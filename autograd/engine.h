// The backward engine: an iterative topological walk (dependency counts, a
// visited set, no recursion) that sums gradients arriving at shared inputs and
// frees each node's saved tensors after it ran unless the graph is retained.
#pragma once
#include <vector>

#include "autograd/variable.h"

namespace retort {
namespace autograd {

// Backpropagates from `roots` (each requiring a gradient) and accumulates into
// the .grad of the leaves they depend on. grads[i] defaults to 1 for a
// one-element root.
void backward(const std::vector<Variable>& roots, const std::vector<Tensor>& grads = {}, bool retain_graph = false);

// Gradients of sum_i <outputs[i], grad_outputs[i]> with respect to `inputs`
// (leaves or intermediate variables), without touching any .grad. Only the
// part of the graph between them runs. An input the outputs do not depend on
// gets an undefined tensor when allow_unused, else an Error.
std::vector<Tensor> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool allow_unused = false);

class Engine {
 public:
  struct Targets;
  static void run(const std::vector<Variable>& roots, const std::vector<Tensor>& grads, bool retain_graph,
                  Targets* targets);
};

}  // namespace autograd
}  // namespace retort
