#include "autograd/engine.h"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "autograd/anomaly.h"
#include "tensor/ops.h"

namespace retort {
namespace autograd {

// What grad() asks for: leaves by identity, intermediate variables by the node
// output that produced them. Captured sums land in `results`.
struct Engine::Targets {
  std::unordered_map<const VariableImpl*, size_t> leaves;
  std::map<std::pair<const Node*, int>, size_t> outputs;
  std::vector<Tensor> results;
};

namespace {

Tensor accumulate(const Tensor& sum, const Tensor& g) { return sum.defined() ? ops::add(sum, g) : g; }

Tensor default_root_grad(const Variable& root, size_t i) {
  RETORT_CHECK(root.numel() == 1, "backward: output " << i << " has shape " << root.shape()
                                                      << "; pass its gradient explicitly (only one-element outputs "
                                                         "default to 1)");
  return ones(root.shape(), DType::F32, root.value().device());
}

}  // namespace

void Engine::run(const std::vector<Variable>& roots, const std::vector<Tensor>& grads, bool retain_graph,
                 Targets* targets) {
  RETORT_CHECK(grads.empty() || grads.size() == roots.size(),
               "backward: expected " << roots.size() << " gradients, found " << grads.size());
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto deliver_to_leaf = [&](const std::shared_ptr<VariableImpl>& leaf, const Tensor& g, const char* from) {
    RETORT_CHECK(g.shape() == leaf->value.shape(), "backward: " << from << " produced a gradient of shape "
                                                                << g.shape() << " for a variable of shape "
                                                                << leaf->value.shape());
    if (targets) {
      auto it = targets->leaves.find(leaf.get());
      if (it != targets->leaves.end()) targets->results[it->second] = accumulate(targets->results[it->second], g);
    } else if (leaf->requires_grad) {
      leaf->grad = accumulate(leaf->grad, g);
    }
  };

  std::vector<Node*> root_nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Variable& r = roots[i];
    RETORT_CHECK(r.defined() && r.requires_grad(),
                 "backward: output " << i << " does not require a gradient (no input it depends on requires one)");
    const Tensor g = (grads.empty() || !grads[i].defined()) ? default_root_grad(r, i) : grads[i];
    RETORT_CHECK(g.shape() == r.shape(), "backward: gradient " << i << " has shape " << g.shape() << ", expected "
                                                               << r.shape());
    if (r.is_leaf()) {
      deliver_to_leaf(r.impl(), g, "the root");
      continue;
    }
    Node* n = r.grad_fn().get();
    auto& buf = buffers[n];
    buf.resize(n->num_outputs());
    buf[r.output_nr()] = accumulate(buf[r.output_nr()], g);
    root_nodes.push_back(n);
  }

  // Discover the graph (iteratively) and count, for each node, the edges that feed it.
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> order;  // discovery order, used for the pruning pass below
  {
    std::unordered_set<Node*> seen;
    std::vector<Node*> stack;
    for (Node* n : root_nodes)
      if (seen.insert(n).second) stack.push_back(n);
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      order.push_back(n);
      for (const Edge& e : n->next_)
        if (e.node) {
          ++deps[e.node.get()];
          if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
        }
    }
  }

  // For grad(): run only nodes that lead to a target, and only ask for the
  // input gradients on such paths. Masks are restored afterwards.
  std::unordered_map<Node*, std::vector<char>> saved_masks;
  std::unordered_set<Node*> useful;
  if (targets) {
    // Usefulness flows from producers to consumers; reverse discovery order
    // mostly visits producers first, and the loop runs to a fixed point.
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node* n = *it;
        if (useful.count(n)) continue;
        for (const Edge& e : n->next_) {
          const bool hit = (e.leaf && targets->leaves.count(e.leaf.get())) ||
                           (e.node && (useful.count(e.node.get()) ||
                                       targets->outputs.count({e.node.get(), e.output_nr})));
          if (hit) {
            useful.insert(n);
            changed = true;
            break;
          }
        }
      }
    }
    for (Node* n : order) {
      saved_masks[n] = n->wanted_;
      for (size_t i = 0; i < n->next_.size(); ++i) {
        const Edge& e = n->next_[i];
        const bool hit = (e.leaf && targets->leaves.count(e.leaf.get())) ||
                         (e.node && (useful.count(e.node.get()) ||
                                     targets->outputs.count({e.node.get(), e.output_nr})));
        n->wanted_[i] = n->wanted_[i] && hit;
      }
    }
  }

  std::deque<Node*> ready;
  for (Node* n : root_nodes)
    if (deps[n] == 0 && std::find(ready.begin(), ready.end(), n) == ready.end()) ready.push_back(n);

  while (!ready.empty()) {
    Node* n = ready.front();
    ready.pop_front();
    std::vector<Tensor> grad_out = std::move(buffers[n]);
    buffers.erase(n);
    grad_out.resize(n->num_outputs());
    if (targets)
      for (int k = 0; k < n->num_outputs(); ++k) {
        auto it = targets->outputs.find({n, k});
        if (it != targets->outputs.end() && grad_out[k].defined())
          targets->results[it->second] = accumulate(targets->results[it->second], grad_out[k]);
      }
    bool any = false;
    for (const Tensor& g : grad_out) any = any || g.defined();
    const bool run_node = any && (!targets || useful.count(n));
    std::vector<Tensor> grad_in;
    if (run_node) {
      RETORT_CHECK(!n->released_, n->name() << ": backward through the graph a second time; the saved tensors were "
                                               "freed after the first backward (pass retain_graph)");
      grad_in = n->apply(grad_out);
      RETORT_CHECK(grad_in.size() == n->next_.size(), n->name() << ": returned " << grad_in.size()
                                                                << " gradients for " << n->next_.size()
                                                                << " inputs");
      if (detect_anomaly()) check_backward(n->name(), grad_out, grad_in);
      if (!retain_graph) {
        n->release();
        n->released_ = true;
      }
    }
    for (size_t i = 0; i < n->next_.size(); ++i) {
      const Edge& e = n->next_[i];
      if (run_node && n->wanted_[i] && grad_in[i].defined()) {
        if (e.leaf) {
          deliver_to_leaf(e.leaf, grad_in[i], n->name());
        } else if (e.node) {
          auto& buf = buffers[e.node.get()];
          buf.resize(e.node->num_outputs());
          buf[e.output_nr] = accumulate(buf[e.output_nr], grad_in[i]);
        }
      }
      if (e.node && --deps[e.node.get()] == 0) ready.push_back(e.node.get());
    }
  }
  for (auto& kv : saved_masks) kv.first->wanted_ = kv.second;
}

void backward(const std::vector<Variable>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  Engine::run(roots, grads, retain_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool allow_unused) {
  Engine::Targets t;
  t.results.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Variable& v = inputs[i];
    RETORT_CHECK(v.defined() && v.requires_grad(), "grad: input " << i << " does not require a gradient");
    if (v.is_leaf()) t.leaves[v.impl().get()] = i;
    else t.outputs[{v.grad_fn().get(), v.output_nr()}] = i;
  }
  // A root that is itself an input receives its own output gradient.
  Engine::run(outputs, grad_outputs, retain_graph, &t);
  for (size_t i = 0; i < inputs.size(); ++i)
    RETORT_CHECK(allow_unused || t.results[i].defined(),
                 "grad: the outputs do not depend on input " << i << " (pass allow_unused to get an undefined "
                                                                     "gradient instead)");
  return t.results;
}

}  // namespace autograd
}  // namespace retort
