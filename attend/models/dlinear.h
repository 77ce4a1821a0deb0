#pragma once
// DLinear (Zeng et al., "Are Transformers Effective for Time Series Forecasting?") as TSLib:
// series decomposition by a moving average (edge values repeated), then one Linear(seq_len →
// pred_len) on the seasonal part and one on the trend, shared by all variables, or with
// --individual one pair per variable (TSLib's `individual=True`: ModuleLists `Linear_Seasonal.{i}`,
// `Linear_Trend.{i}` for i < enc_in).
#include <memory>
#include <vector>

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
  // Shared mode: one Linear each; individual mode: enc_in each, in channel order.
  std::shared_ptr<nn::Linear> linear_seasonal_, linear_trend_;
  std::vector<std::shared_ptr<nn::Linear>> seasonal_per_variable_, trend_per_variable_;
};

}  // namespace attend::models
