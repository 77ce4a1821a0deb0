#pragma once
// torch.nn.Dropout (inverted dropout; identity in eval mode).
#include "attend/nn/module.h"

namespace attend::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  // Zeroes elements with probability p and scales the rest by 1/(1 − p) while training.
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace attend::nn
