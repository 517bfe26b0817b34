#include "autograd/variable.h"

#include "autograd/anomaly.h"
#include "autograd/engine.h"

namespace retort {
namespace autograd {

Variable::Variable(Tensor value, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
  RETORT_CHECK(value.defined(), "Variable: expected a defined value tensor");
  RETORT_CHECK(!requires_grad || value.dtype() == DType::F32,
               "Variable: only f32 values can require gradients, found " << dtype_name(value.dtype()));
  impl_->value = std::move(value);
  impl_->requires_grad = requires_grad;
}

Variable Variable::from_impl(std::shared_ptr<VariableImpl> impl) {
  Variable v;
  v.impl_ = std::move(impl);
  return v;
}

namespace {
const VariableImpl& checked(const std::shared_ptr<VariableImpl>& impl) {
  RETORT_CHECK(impl != nullptr, "Variable: expected a defined variable, found an empty one");
  return *impl;
}
}  // namespace

const Tensor& Variable::value() const { return checked(impl_).value; }
void Variable::set_value(const Tensor& value) const {
  checked(impl_);
  RETORT_CHECK(impl_->grad_fn == nullptr, "Variable::set_value: only leaves can have their value replaced");
  RETORT_CHECK(value.shape() == impl_->value.shape() && value.dtype() == impl_->value.dtype(),
               "Variable::set_value: expected " << dtype_name(impl_->value.dtype()) << " " << impl_->value.shape()
                                                << ", found " << dtype_name(value.dtype()) << " " << value.shape());
  impl_->value = value;
  if (impl_->grad.defined()) impl_->grad = impl_->grad.to(value.device());
}

const Tensor& Variable::grad() const { return checked(impl_).grad; }

void Variable::set_grad(const Tensor& g) const {
  checked(impl_);
  RETORT_CHECK(!g.defined() || g.shape() == impl_->value.shape(),
               "Variable::set_grad: expected a gradient of shape " << impl_->value.shape() << ", found " << g.shape());
  impl_->grad = g;
}

void Variable::zero_grad() const { checked(impl_), impl_->grad = Tensor(); }
bool Variable::requires_grad() const { return checked(impl_).requires_grad; }

void Variable::set_requires_grad(bool r) const {
  checked(impl_);
  RETORT_CHECK(impl_->grad_fn == nullptr, "Variable::set_requires_grad: only leaves can change requires_grad");
  RETORT_CHECK(!r || impl_->value.dtype() == DType::F32,
               "Variable::set_requires_grad: only f32 values can require gradients");
  impl_->requires_grad = r;
}

bool Variable::is_leaf() const { return checked(impl_).grad_fn == nullptr; }
const std::shared_ptr<Node>& Variable::grad_fn() const { return checked(impl_).grad_fn; }
int Variable::output_nr() const { return checked(impl_).output_nr; }
Variable Variable::detach() const { return Variable(value(), false); }

void Variable::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward({*this}, {grad}, retain_graph);
}

Node::~Node() {
  // A producer owned only by this node would be destroyed recursively; take
  // such producers over and destroy them one at a time instead.
  std::vector<std::shared_ptr<Node>> doomed;
  auto adopt = [&doomed](std::vector<Edge>& edges) {
    for (Edge& e : edges)
      if (e.node && e.node.use_count() == 1) doomed.push_back(std::move(e.node));
  };
  adopt(next_);
  while (!doomed.empty()) {
    std::shared_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    adopt(n->next_);
  }  // n's destructor finds no uniquely owned producers left
}

const Tensor& SavedTensor::get(const char* node_name) const {
  RETORT_CHECK(tensor_.defined(), node_name << ": the tensors saved for backward were already freed; call backward "
                                               "with retain_graph to backpropagate through a graph twice");
  RETORT_CHECK(tensor_.version() == version_,
               node_name << ": a tensor saved for backward (shape " << tensor_.shape()
                         << ") was modified in place after it was saved (version " << version_ << " -> "
                         << tensor_.version() << "); the gradient would be wrong");
  return tensor_;
}

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool needs_graph(const std::vector<Variable>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Variable& v : inputs)
    if (v.defined() && v.requires_grad()) return true;
  return false;
}

namespace {

// Edges to the producers of `inputs`; an input that needs no gradient gets an invalid edge.
void connect(const std::vector<Variable>& inputs, std::vector<Edge>& next, std::vector<char>& wanted) {
  next.clear();
  wanted.clear();
  for (const Variable& v : inputs) {
    Edge e;
    if (v.defined() && v.requires_grad()) {
      if (v.grad_fn()) {
        e.node = v.grad_fn();
        e.output_nr = v.output_nr();
      } else {
        e.leaf = v.impl();
      }
    }
    wanted.push_back(e.valid() ? 1 : 0);
    next.push_back(std::move(e));
  }
}

}  // namespace

Variable make_output(const std::shared_ptr<Node>& node, const std::vector<Variable>& inputs, const Tensor& value) {
  return make_outputs(node, inputs, {value})[0];
}

std::vector<Variable> make_outputs(const std::shared_ptr<Node>& node, const std::vector<Variable>& inputs,
                                   const std::vector<Tensor>& values) {
  if (detect_anomaly()) check_forward(node->name(), inputs, values);
  connect(inputs, node->next_, node->wanted_);
  node->num_outputs_ = static_cast<int>(values.size());
  std::vector<Variable> out;
  for (size_t i = 0; i < values.size(); ++i) {
    auto impl = std::make_shared<VariableImpl>();
    impl->value = values[i];
    impl->requires_grad = true;
    impl->grad_fn = node;
    impl->output_nr = static_cast<int>(i);
    out.push_back(Variable::from_impl(std::move(impl)));
  }
  return out;
}

}  // namespace autograd
}  // namespace retort
