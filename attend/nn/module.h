#pragma once
// nn::Module: named parameters, buffers and children. Dotted names equal PyTorch state_dict keys
// ("encoder.attn_layers.0.conv1.weight"). A module keeps handles to its tensors in members for
// forward() and registers the same handles here, so loading and optimizer steps work in place.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // One-input forward for modules that have one (Sequential uses it); others throw.
  virtual Tensor forward(const Tensor& x);
  // Class name for messages ("Linear").
  virtual std::string type_name() const { return "Module"; }

  // Recursive listings in registration order, names dotted from this module.
  NamedTensors named_parameters() const;
  NamedTensors named_buffers(bool persistent_only = false) const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
    return children_;
  }
  // Parameters and persistent buffers by name (what PyTorch's state_dict() holds).
  std::map<std::string, Tensor> state_dict() const;
  int64_t num_parameters() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();

 protected:
  // Registers a parameter (marked requires_grad) and returns the handle.
  Tensor register_parameter(const std::string& name, Tensor t);
  // Registers a buffer; non-persistent buffers stay out of state_dict.
  Tensor register_buffer(const std::string& name, Tensor t, bool persistent = true);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool params, bool persistent_only,
               NamedTensors& out) const;
  NamedTensors params_;
  struct Buffer {
    std::string name;
    Tensor tensor;
    bool persistent;
  };
  std::vector<Buffer> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Children run in order, each with forward(x).
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  void push_back(std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return modules_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return modules_[i]; }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

// A list of children named "0", "1", ...; typed access with at<M>(i).
class ModuleList : public Module {
 public:
  ModuleList() = default;
  void push_back(std::shared_ptr<Module> m);
  size_t size() const { return modules_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return modules_[i]; }
  template <typename M>
  M& at(size_t i) const {
    return dynamic_cast<M&>(*modules_.at(i));
  }
  std::string type_name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace attend::nn
