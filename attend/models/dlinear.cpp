#include "attend/models/dlinear.h"

#include "attend/nn/init.h"
#include "attend/ops/conv.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/linalg.h"
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
  // TSLib starts every weight at the average, 1/seq_len everywhere (biases keep Linear's init).
  // With Q quantile levels each linear has pred_len·Q outputs.
  const double average = 1.0 / static_cast<double>(c.seq_len);
  const int64_t outputs = c.pred_len * n_quantiles();
  if (!c.individual) {
    linear_seasonal_ = register_module(
        "Linear_Seasonal", std::make_shared<nn::Linear>(c.seq_len, outputs, ctx, dtype));
    linear_trend_ = register_module("Linear_Trend",
                                    std::make_shared<nn::Linear>(c.seq_len, outputs, ctx, dtype));
    nn::init::constant_(linear_seasonal_->weight(), average);
    nn::init::constant_(linear_trend_->weight(), average);
    return;
  }
  ATTEND_CHECK(c.enc_in > 0, "[DLinear] --individual needs --enc_in > 0, got {}", c.enc_in);
  auto seasonal = register_module("Linear_Seasonal", std::make_shared<nn::ModuleList>());
  auto trend = register_module("Linear_Trend", std::make_shared<nn::ModuleList>());
  auto averaging_linear = [&] {
    auto linear = std::make_shared<nn::Linear>(c.seq_len, outputs, ctx, dtype);
    nn::init::constant_(linear->weight(), average);
    return linear;
  };
  for (int64_t v = 0; v < c.enc_in; ++v) {  // TSLib's order: seasonal v, then trend v
    seasonal_per_variable_.push_back(averaging_linear());
    seasonal->push_back(seasonal_per_variable_.back());
    trend_per_variable_.push_back(averaging_linear());
    trend->push_back(trend_per_variable_.back());
  }
}

Tensor DLinear::forecast_quantiles(const Tensor& x_enc, const Tensor&, const Tensor&,
                                   const Tensor&) {
  const ModelConfig& c = config_;
  ATTEND_CHECK(x_enc.defined() && x_enc.ndim() == 3 && x_enc.size(1) == c.seq_len,
               "[DLinear] expected x_enc of shape (B, {}, C), got {}", c.seq_len,
               x_enc.defined() ? x_enc.shape().str() : "none");
  Tensor y;  // (B, C, pred_len·Q)
  if (!c.individual) {
    Tensor trend = moving_average(x_enc, c.moving_avg);
    Tensor seasonal = sub(x_enc, trend);
    // (B, C, L) -> (B, C, pred_len·Q), summed
    y = add(linear_seasonal_->forward(permute(seasonal, {0, 2, 1})),
            linear_trend_->forward(permute(trend, {0, 2, 1})));
  } else {
    ATTEND_CHECK(x_enc.size(2) == c.enc_in, "[DLinear] --individual has {} variables, x_enc has {}",
                 c.enc_in, x_enc.size(2));
    // Variable v: y_v = Ws_v·s_v + Wt_v·t_v + bs_v + bt_v, as batched products over the
    // variables: s, t (C, B, L) · Wᵀ (C, L, P·Q) -> (C, B, P·Q). Both operands are read in place:
    // the trend is the moving average's contiguous (B, C, L) output, the seasonal part is
    // computed in that layout.
    Tensor trend = permute(moving_average(x_enc, c.moving_avg), {0, 2, 1});  // (B, C, L)
    Tensor seasonal = sub(permute(x_enc, {0, 2, 1}), trend);                 // (B, C, L)
    std::vector<Tensor> ws, wt, bs, bt;
    for (size_t v = 0; v < seasonal_per_variable_.size(); ++v) {
      ws.push_back(seasonal_per_variable_[v]->weight());
      wt.push_back(trend_per_variable_[v]->weight());
      bs.push_back(seasonal_per_variable_[v]->bias());
      bt.push_back(trend_per_variable_[v]->bias());
    }
    auto product = [](const Tensor& x, const std::vector<Tensor>& w) {
      return matmul(permute(x, {1, 0, 2}), transpose(stack(w, 0), 1, 2));
    };
    Tensor bias = unsqueeze(add(stack(bs, 0), stack(bt, 0)), 1);  // (C, 1, P·Q)
    y = permute(add(add(product(seasonal, ws), product(trend, wt)), bias), {1, 0, 2});
  }
  const int64_t Q = n_quantiles();
  if (Q == 1) return unsqueeze(permute(y, {0, 2, 1}), 3);  // (B, pred_len, C, 1)
  // (B, C, pred_len, Q) -> (B, pred_len, C, Q)
  return permute(reshape(y, {y.size(0), y.size(1), c.pred_len, Q}), {0, 2, 1, 3});
}

}  // namespace attend::models
