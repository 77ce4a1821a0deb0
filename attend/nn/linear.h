#pragma once
// torch.nn.Linear: y = x·Wᵀ + b.
#include "attend/nn/module.h"

namespace attend::nn {

// torch.nn.Linear's keyword arguments.
struct LinearOptions {
  bool bias = true;
};

class Linear : public Module {
 public:
  // weight (out, in) ~ kaiming_uniform(a = √5) = U(±1/√in); bias (out) ~ U(±1/√in).
  Linear(int64_t in_features, int64_t out_features, const LinearOptions& options,
         Context& ctx = default_context(), DType dtype = DType::F32);
  Linear(int64_t in_features, int64_t out_features, Context& ctx = default_context(),
         DType dtype = DType::F32)
      : Linear(in_features, out_features, LinearOptions{}, ctx, dtype) {}
  // x: (..., in) -> (..., out)
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

 private:
  int64_t in_, out_;
  Tensor weight_, bias_;
};

}  // namespace attend::nn
