#pragma once
// Adam and AdamW with PyTorch's exact updates (torch.optim.Adam / AdamW, single-tensor path).
#include "attend/optim/optimizer.h"

namespace attend::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: L2 added to the gradient; AdamW: decoupled
  bool amsgrad = false;
};

// t += 1; g += wd·p (Adam only); m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
// v̂ = amsgrad ? max(v̂, v) : v; p −= lr/(1 − β1ᵗ) · m / (sqrt(v̂)/sqrt(1 − β2ᵗ) + eps).
// AdamW first decays p *= 1 − lr·wd.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  void step() override;
  double momentum() const override { return options_.beta1; }
  void set_momentum(double m) override { options_.beta1 = m; }
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled, std::string name);

 private:
  AdamOptions options_;
  bool decoupled_ = false;
};

// Adam with decoupled weight decay (PyTorch's default weight_decay for AdamW is 1e-2).
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamOptions& options);
};

// AdamOptions with AdamW's default weight decay.
inline AdamOptions adamw_defaults(double lr = 1e-3) {
  AdamOptions o;
  o.lr = lr;
  o.weight_decay = 1e-2;
  return o;
}

}  // namespace attend::optim
