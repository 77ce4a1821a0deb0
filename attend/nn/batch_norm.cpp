#include "attend/nn/batch_norm.h"

#include "attend/ops/nn_functional.h"

namespace attend::nn {

BatchNorm1d::BatchNorm1d(int64_t num_features, const BatchNorm1dOptions& options, Context& ctx,
                         DType dtype)
    : c_(num_features), eps_(options.eps), momentum_(options.momentum) {
  ATTEND_CHECK(c_ > 0, "[BatchNorm1d] num_features must be positive, got {}", c_);
  if (options.affine) {
    weight_ = register_parameter("weight", Tensor::ones({c_}, dtype, ctx));
    bias_ = register_parameter("bias", Tensor::zeros({c_}, dtype, ctx));
  }
  if (options.track_running_stats) {
    running_mean_ = register_buffer("running_mean", Tensor::zeros({c_}, dtype, ctx));
    running_var_ = register_buffer("running_var", Tensor::ones({c_}, dtype, ctx));
    num_batches_tracked_ =
        register_buffer("num_batches_tracked", Tensor::zeros(Shape{}, DType::I64, ctx));
  }
}

Tensor BatchNorm1d::forward(const Tensor& x) {
  ATTEND_CHECK(x.defined() && (x.ndim() == 2 || x.ndim() == 3) && x.size(1) == c_,
               "[BatchNorm1d] expected input (N, {}) or (N, {}, L), got {}", c_, c_,
               x.defined() ? x.shape().str() : "undefined");
  const bool training = is_training();
  const bool use_batch_stats = training || !running_mean_.defined();
  if (training) {
    int64_t per_channel = x.numel() / c_;
    ATTEND_CHECK(per_channel > 1,
                 "[BatchNorm1d] expected more than 1 value per channel when training, got input {}",
                 x.shape().str());
  }
  Tensor out =
      batch_norm(x, running_mean_, running_var_, weight_, bias_, use_batch_stats, momentum_, eps_);
  if (training && num_batches_tracked_.defined()) num_batches_tracked_.data<int64_t>()[0] += 1;
  return out;
}

}  // namespace attend::nn
