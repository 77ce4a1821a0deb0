#include "attend/nn/conv1d.h"

#include <cmath>

#include "attend/nn/init.h"
#include "attend/ops/shape.h"

namespace attend::nn {

Conv1d::Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
               const Conv1dModuleOptions& o, Context& ctx, DType dtype)
    : in_(in_channels), out_(out_channels), k_(kernel_size) {
  ATTEND_CHECK(in_ > 0 && out_ > 0 && k_ > 0,
               "[Conv1d] channels and kernel_size must be positive, got in {}, out {}, k {}", in_,
               out_, k_);
  ATTEND_CHECK(o.groups > 0 && in_ % o.groups == 0 && out_ % o.groups == 0,
               "[Conv1d] in_channels {} and out_channels {} must be divisible by groups {}", in_,
               out_, o.groups);
  ATTEND_CHECK(o.stride > 0 && o.dilation > 0 && o.padding >= 0,
               "[Conv1d] invalid stride {}, padding {} or dilation {}", o.stride, o.padding,
               o.dilation);
  options_ = Conv1dOptions{o.stride, o.padding, o.dilation, o.groups, o.padding_mode};
  weight_ = register_parameter("weight", Tensor::empty({out_, in_ / o.groups, k_}, dtype, ctx));
  init::kaiming_uniform_(weight_, std::sqrt(5.0));
  if (o.bias) {
    double bound = 1.0 / std::sqrt(static_cast<double>(in_ / o.groups * k_));
    bias_ = register_parameter("bias", Tensor::empty({out_}, dtype, ctx));
    init::uniform_(bias_, -bound, bound);
  }
}

Tensor Conv1d::forward(const Tensor& x) {
  ATTEND_CHECK(x.defined() && (x.ndim() == 3 || x.ndim() == 2) && x.size(-2) == in_,
               "[Conv1d] expected input (N, {}, L), got {}", in_,
               x.defined() ? x.shape().str() : "undefined");
  if (x.ndim() == 2) return squeeze(conv1d(unsqueeze(x, 0), weight_, bias_, options_), 0);
  return conv1d(x, weight_, bias_, options_);
}

}  // namespace attend::nn
