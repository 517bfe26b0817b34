#include "layers/module.h"

#include <map>
#include <sstream>

#include "tensor/ops.h"

namespace retort {
namespace layers {

std::string LoadReport::summary() const {
  std::ostringstream os;
  auto list = [&os](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    os << (os.tellp() > 0 ? "; " : "") << v.size() << " " << what << ": ";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  };
  list("missing", missing);
  list("unexpected", unexpected);
  list("shape mismatches", mismatched);
  if (os.tellp() == 0) os << "all " << loaded << " tensors loaded";
  return os.str();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

Variable Module::register_parameter(const std::string& name, Tensor value) {
  RETORT_CHECK(value.dtype() == DType::F32, "register_parameter: '" << name << "' must be f32");
  Variable v(std::move(value), true);
  params_.emplace_back(name, v);
  return v;
}

Tensor* Module::register_buffer(const std::string& name, Tensor value, bool host_only) {
  buffers_.push_back(Buffer{name, std::move(value), host_only});
  return &buffers_.back().tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  RETORT_CHECK(module != nullptr, "register_module: '" << name << "' is null");
  children_.emplace_back(name, std::move(module));
}

bool Module::is_optional_buffer(const std::string& local_name) const { return local_name == "num_batches_tracked"; }

template <class ParamFn, class BufferFn>
void Module::visit(const std::string& prefix, ParamFn&& on_param, BufferFn&& on_buffer) const {
  for (const auto& p : params_) on_param(prefix + p.first, p.second);
  for (const Buffer& b : buffers_) on_buffer(prefix + b.name, const_cast<Tensor&>(b.tensor), is_optional_buffer(b.name));
  for (const auto& c : children_) c.second->visit(prefix + c.first + ".", on_param, on_buffer);
}

std::vector<std::pair<std::string, Variable>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Variable>> out;
  visit("", [&](const std::string& n, const Variable& v) { out.emplace_back(n, v); },
        [](const std::string&, Tensor&, bool) {});
  return out;
}

std::vector<Variable> Module::parameters() const {
  std::vector<Variable> out;
  for (auto& p : named_parameters()) out.push_back(p.second);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& p : named_parameters()) n += p.second.numel();
  return n;
}

std::vector<NamedTensor> Module::state_dict() const {
  std::vector<NamedTensor> out;
  visit("", [&](const std::string& n, const Variable& v) { out.push_back({n, v.value()}); },
        [&](const std::string& n, Tensor& t, bool) { out.push_back({n, t}); });
  return out;
}

LoadReport Module::load_state_dict(const std::vector<NamedTensor>& tensors, bool strict) {
  std::map<std::string, const Tensor*> given;
  for (const NamedTensor& nt : tensors) {
    RETORT_CHECK(given.emplace(nt.name, &nt.tensor).second, "load_state_dict: key '" << nt.name << "' appears twice");
  }
  struct Target {
    std::string name;
    Tensor dst;
    bool optional;
  };
  std::vector<Target> targets;
  visit("", [&](const std::string& n, const Variable& v) { targets.push_back({n, v.value(), false}); },
        [&](const std::string& n, Tensor& t, bool optional) { targets.push_back({n, t, optional}); });

  LoadReport report;
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  std::vector<Tensor> defaults;  // absent optional buffers, reset to 0 (MODELS.md section 5.4)
  for (const Target& t : targets) {
    auto it = given.find(t.name);
    if (it == given.end()) {
      (t.optional ? report.defaulted : report.missing).push_back(t.name);
      if (t.optional) defaults.push_back(t.dst);
      continue;
    }
    const Tensor& src = *it->second;
    if (src.shape() != t.dst.shape() || src.dtype() != t.dst.dtype()) {
      std::ostringstream os;
      os << t.name << ": expected " << dtype_name(t.dst.dtype()) << " " << t.dst.shape() << ", found "
         << dtype_name(src.dtype()) << " " << src.shape();
      report.mismatched.push_back(os.str());
    } else {
      copies.emplace_back(t.dst, &src);
    }
    given.erase(it);
  }
  for (const auto& kv : given) report.unexpected.push_back(kv.first);
  RETORT_CHECK(!strict || report.clean(), "load_state_dict: the tensors do not fit the model: " << report.summary());
  for (auto& c : copies) {
    Tensor dst = c.first;
    ops::copy_(dst, *c.second);
  }
  for (Tensor& d : defaults) ops::fill_(d, 0);
  report.loaded = static_cast<int64_t>(copies.size());
  return report;
}

void Module::to(const Device& device) {
  for (auto& p : params_) p.second.set_value(p.second.value().to(device));
  for (Buffer& b : buffers_)
    if (!b.host_only) b.tensor = b.tensor.to(device);
  for (auto& c : children_) c.second->to(device);
}

void Module::zero_grad() {
  for (auto& p : named_parameters()) p.second.zero_grad();
}

}  // namespace layers
}  // namespace retort
