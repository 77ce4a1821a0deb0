#include "attend/optim/optimizer.h"

#include <cstdlib>

namespace attend::optim {

Optimizer::Optimizer(std::vector<Tensor> params, double lr, std::string name)
    : params_(std::move(params)), lr_(lr), name_(std::move(name)) {
  ATTEND_CHECK(lr >= 0.0, "[{}] invalid learning rate {}", name_, lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    ATTEND_CHECK(p.defined(), "[{}] parameter {} is undefined", name_, i);
    ATTEND_CHECK(p.dtype() == DType::F32 || p.dtype() == DType::F64,
                 "[{}] parameter {} is {}, expected a float tensor", name_, i,
                 dtype_name(p.dtype()));
    ATTEND_CHECK(p.is_contiguous(), "[{}] parameter {} of shape {} is not contiguous", name_, i,
                 p.shape().str());
  }
  state_.resize(params_.size());
  param_steps_.assign(params_.size(), 0);
}

void Optimizer::zero_grad() {
  for (const Tensor& p : params_) p.zero_grad();
}

Tensor Optimizer::buffer(size_t i, const std::string& key, bool* created) {
  auto it = state_[i].find(key);
  if (created) *created = it == state_[i].end();
  if (it != state_[i].end()) return it->second;
  const Tensor& p = params_[i];
  Tensor b = Tensor::zeros(p.shape(), p.dtype(), p.context());
  state_[i].emplace(key, b);
  return b;
}

Tensor Optimizer::grad_of(size_t i) const {
  Tensor g = params_[i].grad();
  if (!g.defined()) return g;
  ATTEND_CHECK(g.shape() == params_[i].shape(),
               "[{}] gradient of shape {} for parameter {} of shape {}", name_, g.shape().str(), i,
               params_[i].shape().str());
  if (g.dtype() != params_[i].dtype()) return g.copy_as(params_[i].dtype());
  return g.contiguous_data();
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out;
  Context& ctx = params_.empty() ? default_context() : params_[0].context();
  out.emplace("step", Tensor::scalar(static_cast<double>(steps_), DType::I64, ctx));
  out.emplace("lr", Tensor::scalar(lr_, DType::F64, ctx));
  for (size_t i = 0; i < params_.size(); ++i) {
    std::string prefix = std::to_string(i) + ".";
    out.emplace(prefix + "step",
                Tensor::scalar(static_cast<double>(param_steps_[i]), DType::I64, ctx));
    for (const auto& [key, t] : state_[i]) out.emplace(prefix + key, t.contiguous_data());
  }
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  for (const auto& [key, t] : state) {
    if (key == "step") {
      steps_ = static_cast<int64_t>(t.item());
      continue;
    }
    if (key == "lr") {
      lr_ = t.item();
      continue;
    }
    size_t dot = key.find('.');
    char* end = nullptr;
    unsigned long idx = std::strtoul(key.c_str(), &end, 10);
    ATTEND_CHECK(dot != std::string::npos && end == key.c_str() + dot && idx < params_.size(),
                 "[{}] unknown optimizer state entry '{}' ({} parameters)", name_, key,
                 params_.size());
    std::string name = key.substr(dot + 1);
    if (name == "step") {
      param_steps_[idx] = static_cast<int64_t>(t.item());
      continue;
    }
    const Tensor& p = params_[idx];
    ATTEND_CHECK(t.shape() == p.shape(), "[{}] state '{}' has shape {}, parameter {} has {}", name_,
                 key, t.shape().str(), idx, p.shape().str());
    Tensor b = Tensor::empty(p.shape(), p.dtype(), p.context());
    b.copy_from(t);
    state_[idx][name] = b;
  }
}

}  // namespace attend::optim
