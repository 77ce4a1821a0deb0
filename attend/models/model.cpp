// ForecastModel's defaults.
#include "attend/models/model.h"

#include "attend/ops/shape.h"

namespace attend::models {

Tensor ForecastModel::forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc,
                                         const Tensor& x_dec, const Tensor& x_mark_dec) {
  const Tensor y = forecast(x_enc, x_mark_enc, x_dec, x_mark_dec);  // (B, P, C)
  return reshape(y, {y.size(0), y.size(1), y.size(2), 1});
}

}  // namespace attend::models
