#include "optim/optimizer.h"

#include <cmath>
#include <map>

#include "tensor/ops.h"

namespace retort {
namespace optim {

Optimizer::Optimizer(NamedParams params, double lr) : params_(std::move(params)), lr_(lr) {
  for (const auto& p : params_)
    RETORT_CHECK(p.second.defined() && p.second.requires_grad() && p.second.is_leaf(),
                 "optimizer: parameter '" << p.first << "' must be a leaf that requires a gradient");
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.second.zero_grad();
}

namespace {

// Finds "<kind>.<name>" in a saved state, checking its shape against the parameter.
Tensor restore(const OptimizerState& s, const std::string& kind, const std::pair<std::string, Variable>& p) {
  const std::string key = kind + "." + p.first;
  for (const auto& t : s.tensors)
    if (t.first == key) {
      RETORT_CHECK(t.second.shape() == p.second.shape(), "optimizer state: '" << key << "' has shape "
                                                                              << t.second.shape() << ", expected "
                                                                              << p.second.shape());
      return t.second.to(p.second.value().device()).clone();
    }
  return Tensor();
}

}  // namespace

SGD::SGD(NamedParams params, const SgdOptions& o) : Optimizer(std::move(params), o.lr), options_(o) {
  RETORT_CHECK(o.lr >= 0 && o.momentum >= 0 && o.weight_decay >= 0,
               "SGD: expected lr, momentum and weight decay >= 0, found " << o.lr << ", " << o.momentum << ", "
                                                                          << o.weight_decay);
  RETORT_CHECK(!o.nesterov || o.momentum > 0, "SGD: Nesterov momentum requires momentum > 0");
  buffers_.resize(params_.size());
}

void SGD::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    const Variable& v = params_[i].second;
    if (!v.grad().defined()) continue;
    Tensor p = v.value();
    const bool first = !buffers_[i].defined();
    if (first && options_.momentum != 0.0) buffers_[i] = empty(p.shape(), DType::F32, p.device());
    SgdParams s{static_cast<float>(lr_), static_cast<float>(options_.momentum),
                static_cast<float>(options_.weight_decay), options_.nesterov, first};
    ops::sgd_update_(p, v.grad(), buffers_[i], s);
  }
  ++steps_;
}

OptimizerState SGD::state() const {
  OptimizerState s;
  s.steps = steps_;
  s.lr = lr_;
  for (size_t i = 0; i < params_.size(); ++i)
    if (buffers_[i].defined()) s.tensors.emplace_back("momentum_buffer." + params_[i].first, buffers_[i]);
  return s;
}

void SGD::load_state(const OptimizerState& s) {
  std::vector<Tensor> restored(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) restored[i] = restore(s, "momentum_buffer", params_[i]);
  buffers_ = std::move(restored);
  steps_ = s.steps;
  lr_ = s.lr;
}

AdamW::AdamW(NamedParams params, const AdamWOptions& o) : Optimizer(std::move(params), o.lr), options_(o) {
  RETORT_CHECK(o.lr >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0,
               "AdamW: expected lr >= 0, betas in [0, 1) and eps > 0");
  m_.resize(params_.size());
  v_.resize(params_.size());
}

void AdamW::step() {
  ++steps_;
  const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  AdamWParams s{static_cast<float>(lr_),          static_cast<float>(options_.beta1),
                static_cast<float>(options_.beta2), static_cast<float>(options_.eps),
                static_cast<float>(options_.weight_decay), static_cast<float>(bc1),
                static_cast<float>(std::sqrt(bc2))};
  for (size_t i = 0; i < params_.size(); ++i) {
    const Variable& v = params_[i].second;
    if (!v.grad().defined()) continue;
    Tensor p = v.value();
    if (!m_[i].defined()) {
      m_[i] = zeros(p.shape(), DType::F32, p.device());
      v_[i] = zeros(p.shape(), DType::F32, p.device());
    }
    ops::adamw_update_(p, v.grad(), m_[i], v_[i], s);
  }
}

OptimizerState AdamW::state() const {
  OptimizerState s;
  s.steps = steps_;
  s.lr = lr_;
  for (size_t i = 0; i < params_.size(); ++i)
    if (m_[i].defined()) {
      s.tensors.emplace_back("exp_avg." + params_[i].first, m_[i]);
      s.tensors.emplace_back("exp_avg_sq." + params_[i].first, v_[i]);
    }
  return s;
}

void AdamW::load_state(const OptimizerState& s) {
  std::vector<Tensor> m(params_.size()), v(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    m[i] = restore(s, "exp_avg", params_[i]);
    v[i] = restore(s, "exp_avg_sq", params_[i]);
    RETORT_CHECK(m[i].defined() == v[i].defined(),
                 "AdamW state: '" << params_[i].first << "' has one moment without the other");
  }
  m_ = std::move(m);
  v_ = std::move(v);
  steps_ = s.steps;
  lr_ = s.lr;
}

}  // namespace optim
}  // namespace retort
