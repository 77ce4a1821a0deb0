#include "attend/nn/linear.h"

#include <cmath>

#include "attend/nn/init.h"
#include "attend/ops/linalg.h"

namespace attend::nn {

Linear::Linear(int64_t in_features, int64_t out_features, const LinearOptions& options,
               Context& ctx, DType dtype)
    : in_(in_features), out_(out_features) {
  ATTEND_CHECK(in_features > 0 && out_features > 0,
               "[Linear] in_features and out_features must be positive, got {} and {}", in_features,
               out_features);
  weight_ = register_parameter("weight", Tensor::empty({out_, in_}, dtype, ctx));
  init::kaiming_uniform_(weight_, std::sqrt(5.0));
  if (options.bias) {
    double bound = 1.0 / std::sqrt(static_cast<double>(in_));
    bias_ = register_parameter("bias", Tensor::empty({out_}, dtype, ctx));
    init::uniform_(bias_, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  ATTEND_CHECK(x.defined() && x.ndim() >= 1 && x.size(-1) == in_,
               "[Linear] expected input (..., {}), got {}", in_,
               x.defined() ? x.shape().str() : "undefined");
  return linear(x, weight_, bias_);
}

}  // namespace attend::nn
