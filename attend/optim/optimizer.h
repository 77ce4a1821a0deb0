#pragma once
// Optimizer base: a list of parameter tensors updated in place (under NoGradGuard, on the raw
// data) from their accumulated .grad; parameters whose grad is undefined are skipped.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend::optim {

class Optimizer {
 public:
  // params: contiguous float32/float64 leaves; lr: initial learning rate; name: for messages.
  Optimizer(std::vector<Tensor> params, double lr, std::string name);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient.
  virtual void step() = 0;
  // Drops every parameter's gradient (PyTorch's set_to_none=True).
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  // The knob one-cycle scheduling cycles: SGD's momentum, Adam's beta1.
  virtual double momentum() const { return 0.0; }
  virtual void set_momentum(double) {}
  // Number of step() calls so far.
  int64_t step_count() const { return steps_; }
  const std::vector<Tensor>& params() const { return params_; }
  const std::string& name() const { return name_; }

  // Checkpoint state: "step" (int64 0-d), "lr" (float64 0-d), and per parameter index i
  // "i.step" (int64 0-d) plus "i.<buffer>" (exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer).
  std::map<std::string, Tensor> state_dict() const;
  // Restores what state_dict() wrote (buffers are copied; shapes must match the parameters).
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  // Buffer `key` of parameter i, created as zeros shaped like the parameter when missing
  // (`created` tells whether it was just made).
  Tensor buffer(size_t i, const std::string& key, bool* created = nullptr);
  // The gradient of parameter i as a contiguous tensor, or undefined.
  Tensor grad_of(size_t i) const;

  std::vector<Tensor> params_;
  std::vector<std::map<std::string, Tensor>> state_;  // per parameter: buffer name -> tensor
  std::vector<int64_t> param_steps_;                  // per parameter: updates applied
  double lr_;
  int64_t steps_ = 0;
  std::string name_;
};

}  // namespace attend::optim
