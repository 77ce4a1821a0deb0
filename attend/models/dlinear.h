#pragma once
// DLinear (Zeng et al., "Are Transformers Effective for Time Series Forecasting?") as TSLib:
// series decomposition by a moving average (edge values repeated), then one Linear(seq_len →
// pred_len) on the seasonal part and one on the trend, shared by all variables.
#include <memory>

#include "attend/models/model.h"
#include "attend/nn/linear.h"

namespace attend::models {

// Moving average over time with (k − 1)/2 copies of the first and last values at the ends:
// x (B, L, C) -> (B, L, C). k must be odd.
Tensor moving_average(const Tensor& x, int64_t kernel_size);

class DLinear : public ForecastModel {
 public:
  DLinear(const ModelConfig& c, Context& ctx, DType dtype);
  Tensor forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                            const Tensor& x_mark_dec) override;
  std::string type_name() const override { return "DLinear"; }

 private:
  std::shared_ptr<nn::Linear> linear_seasonal_, linear_trend_;
};

}  // namespace attend::models
