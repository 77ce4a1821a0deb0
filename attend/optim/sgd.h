#pragma once
// Stochastic gradient descent with PyTorch's exact rules (torch.optim.SGD).
#include "attend/optim/optimizer.h"

namespace attend::optim {

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// d = g + wd·p; b = d (first step) or momentum·b + (1 − dampening)·d;
// d = nesterov ? d + momentum·b : b (when momentum ≠ 0); p −= lr·d.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  void step() override;
  double momentum() const override { return options_.momentum; }
  void set_momentum(double m) override { options_.momentum = m; }
  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
};

}  // namespace attend::optim
