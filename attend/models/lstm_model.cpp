#include "attend/models/lstm_model.h"

#include "attend/models/common.h"
#include "attend/ops/shape.h"

namespace attend::models {

LSTMModel::LSTMModel(const ModelConfig& c, Context& ctx, DType dtype) : ForecastModel(c) {
  ATTEND_CHECK(c.seq_len > 0 && c.pred_len > 0, "--seq_len {} and --pred_len {} must be positive",
               c.seq_len, c.pred_len);
  ATTEND_CHECK(c.enc_in > 0 && c.d_model > 0 && c.e_layers > 0,
               "[LSTM] --enc_in {}, --d_model {} and --e_layers {} must be positive", c.enc_in,
               c.d_model, c.e_layers);
  ATTEND_CHECK(c.c_out == c.enc_in,
               "[LSTM] de-normalisation needs --c_out equal to --enc_in, got {} and {}", c.c_out,
               c.enc_in);
  lstm_ = register_module(
      "lstm", std::make_shared<nn::LSTM>(
                  c.enc_in, c.d_model,
                  nn::LSTMOptions{.num_layers = c.e_layers, .batch_first = true}, ctx, dtype));
  head_ = register_module("head", std::make_shared<nn::Linear>(
                                      c.d_model, c.pred_len * c.c_out * n_quantiles(), ctx, dtype));
}

Tensor LSTMModel::forecast_quantiles(const Tensor& x_enc, const Tensor&, const Tensor&,
                                     const Tensor&) {
  const ModelConfig& c = config_;
  ATTEND_CHECK(x_enc.defined() && x_enc.ndim() == 3 && x_enc.size(1) == c.seq_len &&
                   x_enc.size(2) == c.enc_in,
               "[LSTM] expected x_enc of shape (B, {}, {}), got {}", c.seq_len, c.enc_in,
               x_enc.defined() ? x_enc.shape().str() : "none");
  WindowNorm norm;
  Tensor x = normalize_window(x_enc, norm);
  nn::LSTMOutput r = lstm_->forward_all(x);
  // h_n[-1]: (B, d_model) -> (B, pred_len·c_out·Q) -> (B, pred_len, c_out, Q), element
  // (t·c_out + c)·Q + q.
  Tensor y = head_->forward(select(r.h_n, 0, c.e_layers - 1));
  const int64_t Q = n_quantiles();
  if (Q == 1)
    return unsqueeze(denormalize_window(reshape(y, {x.size(0), c.pred_len, c.c_out}), norm), 3);
  return denormalize_window(reshape(y, {x.size(0), c.pred_len, c.c_out, Q}), norm);
}

}  // namespace attend::models
