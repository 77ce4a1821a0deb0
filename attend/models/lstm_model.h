#pragma once
// LSTM baseline (attend's reference models/LSTM/model.py, not in TSLib): per-window
// normalisation, nn.LSTM(enc_in → d_model, e_layers), Linear(d_model → pred_len·c_out) on the last
// hidden state of the top layer, de-normalisation.
#include <memory>

#include "attend/models/model.h"
#include "attend/nn/linear.h"
#include "attend/nn/lstm.h"

namespace attend::models {

class LSTMModel : public ForecastModel {
 public:
  LSTMModel(const ModelConfig& c, Context& ctx, DType dtype);
  // x_enc (B, seq_len, enc_in) -> (B, pred_len, c_out); the other inputs are ignored.
  Tensor forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                            const Tensor& x_mark_dec) override;
  std::string type_name() const override { return "LSTM"; }

 private:
  std::shared_ptr<nn::LSTM> lstm_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace attend::models
