#pragma once
// torch.nn.LayerNorm over the last dimension.
#include "attend/nn/module.h"

namespace attend::nn {

// torch.nn.LayerNorm's keyword arguments.
struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;
};

class LayerNorm : public Module {
 public:
  // weight (d) = 1, bias (d) = 0 (elementwise_affine = false registers neither).
  LayerNorm(int64_t normalized_shape, const LayerNormOptions& options,
            Context& ctx = default_context(), DType dtype = DType::F32);
  explicit LayerNorm(int64_t normalized_shape, Context& ctx = default_context(),
                     DType dtype = DType::F32)
      : LayerNorm(normalized_shape, LayerNormOptions{}, ctx, dtype) {}
  // x: (..., d) -> (..., d)
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  int64_t d_;
  double eps_;
  Tensor weight_, bias_;
};

}  // namespace attend::nn
