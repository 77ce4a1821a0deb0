#include "attend/nn/layer_norm.h"

#include "attend/ops/nn_functional.h"

namespace attend::nn {

LayerNorm::LayerNorm(int64_t normalized_shape, const LayerNormOptions& options, Context& ctx,
                     DType dtype)
    : d_(normalized_shape), eps_(options.eps) {
  ATTEND_CHECK(d_ > 0, "[LayerNorm] normalized_shape must be positive, got {}", d_);
  if (options.elementwise_affine) {
    weight_ = register_parameter("weight", Tensor::ones({d_}, dtype, ctx));
    bias_ = register_parameter("bias", Tensor::zeros({d_}, dtype, ctx));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  ATTEND_CHECK(x.defined() && x.ndim() >= 1 && x.size(-1) == d_,
               "[LayerNorm] expected input (..., {}), got {}", d_,
               x.defined() ? x.shape().str() : "undefined");
  return layer_norm(x, weight_, bias_, eps_);
}

}  // namespace attend::nn
