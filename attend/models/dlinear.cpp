#include "attend/models/dlinear.h"

#include "attend/nn/init.h"
#include "attend/ops/conv.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/shape.h"

namespace attend::models {

Tensor moving_average(const Tensor& x, int64_t k) {
  ATTEND_CHECK(k > 0 && k % 2 == 1, "--moving_avg must be a positive odd number, got {}", k);
  const int64_t B = x.size(0), L = x.size(1), C = x.size(2), pad = (k - 1) / 2;
  Tensor padded = x;
  if (pad > 0) {
    Tensor front = expand(slice(x, 1, 0, 1), {B, pad, C});
    Tensor end = expand(slice(x, 1, L - 1, L), {B, pad, C});
    padded = concat({front, x, end}, 1);
  }
  // AvgPool1d(k, stride 1) over time: (B, C, L + 2·pad) -> (B, C, L)
  return permute(avg_pool1d(permute(padded, {0, 2, 1}), k, 1, 0), {0, 2, 1});
}

DLinear::DLinear(const ModelConfig& c, Context& ctx, DType dtype) : ForecastModel(c) {
  ATTEND_CHECK(c.seq_len > 0 && c.pred_len > 0, "--seq_len {} and --pred_len {} must be positive",
               c.seq_len, c.pred_len);
  ATTEND_CHECK(c.moving_avg > 0 && c.moving_avg % 2 == 1,
               "--moving_avg must be a positive odd number, got {}", c.moving_avg);
  linear_seasonal_ = register_module(
      "Linear_Seasonal",
      std::make_shared<nn::Linear>(c.seq_len, c.pred_len * n_quantiles(), ctx, dtype));
  linear_trend_ = register_module(
      "Linear_Trend",
      std::make_shared<nn::Linear>(c.seq_len, c.pred_len * n_quantiles(), ctx, dtype));
  // TSLib starts both weights at the average: 1/seq_len everywhere (biases keep Linear's init).
  nn::init::constant_(linear_seasonal_->weight(), 1.0 / static_cast<double>(c.seq_len));
  nn::init::constant_(linear_trend_->weight(), 1.0 / static_cast<double>(c.seq_len));
}

Tensor DLinear::forecast_quantiles(const Tensor& x_enc, const Tensor&, const Tensor&,
                                   const Tensor&) {
  const ModelConfig& c = config_;
  ATTEND_CHECK(x_enc.defined() && x_enc.ndim() == 3 && x_enc.size(1) == c.seq_len,
               "[DLinear] expected x_enc of shape (B, {}, C), got {}", c.seq_len,
               x_enc.defined() ? x_enc.shape().str() : "none");
  Tensor trend = moving_average(x_enc, c.moving_avg);
  Tensor seasonal = sub(x_enc, trend);
  // (B, C, L) -> (B, C, pred_len·Q), summed, -> (B, C, pred_len, Q) -> (B, pred_len, C, Q)
  Tensor y = add(linear_seasonal_->forward(permute(seasonal, {0, 2, 1})),
                 linear_trend_->forward(permute(trend, {0, 2, 1})));
  const int64_t Q = n_quantiles();
  if (Q == 1) return unsqueeze(permute(y, {0, 2, 1}), 3);
  return permute(reshape(y, {y.size(0), y.size(1), c.pred_len, Q}), {0, 2, 1, 3});
}

}  // namespace attend::models
