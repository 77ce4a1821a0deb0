#include "attend/nn/module.h"

namespace attend::nn {

Tensor Module::forward(const Tensor&) {
  fail("[{}] has no one-input forward()", type_name());
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  if (t.defined()) t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t, bool persistent) {
  buffers_.push_back({name, t, persistent});
  return t;
}

void Module::collect(const std::string& prefix, bool params, bool persistent_only,
                     NamedTensors& out) const {
  if (params) {
    for (const auto& [name, t] : params_)
      if (t.defined()) out.emplace_back(prefix + name, t);
  } else {
    for (const auto& b : buffers_)
      if (b.tensor.defined() && (b.persistent || !persistent_only))
        out.emplace_back(prefix + b.name, b.tensor);
  }
  for (const auto& [name, child] : children_)
    child->collect(prefix + name + ".", params, persistent_only, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers(bool persistent_only) const {
  NamedTensors out;
  collect("", false, persistent_only, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : named_parameters()) out.emplace(name, t);
  for (auto& [name, t] : named_buffers(true)) out.emplace(name, t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& [name, t] : named_parameters()) t.zero_grad();
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

void Sequential::push_back(std::shared_ptr<Module> m) {
  register_module(std::to_string(modules_.size()), m);
  modules_.push_back(std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& m : modules_) h = m->forward(h);
  return h;
}

void ModuleList::push_back(std::shared_ptr<Module> m) {
  register_module(std::to_string(modules_.size()), m);
  modules_.push_back(std::move(m));
}

}  // namespace attend::nn
