// ForecastModel's point forecast and quantile levels.
#include "attend/models/model.h"

#include <cmath>

#include "attend/ops/elementwise.h"
#include "attend/ops/shape.h"

namespace attend::models {

Tensor decoder_input(const Tensor& y, int64_t label_len,
                     const std::vector<int64_t>& known_columns) {
  const int64_t B = y.size(0), T = y.size(1), C = y.size(2);
  ATTEND_CHECK(label_len >= 0 && label_len <= T, "[decoder_input] label_len {} for {} steps",
               label_len, T);
  const Tensor label = slice(y, 1, 0, label_len);
  if (known_columns.empty())
    return concat({label, Tensor::zeros({B, T - label_len, C}, y.dtype(), y.context())}, 1);
  std::vector<double> keep(static_cast<size_t>(C), 0.0);  // 1 in the known columns
  for (int64_t k : known_columns) {
    ATTEND_CHECK(k >= 0 && k < C, "[decoder_input] known column {} of {}", k, C);
    keep[k] = 1.0;
  }
  const Tensor mask = Tensor::from_doubles(keep, Shape({C}), y.dtype(), y.context());
  return concat({label, mul(slice(y, 1, label_len, T), mask)}, 1);
}

Tensor sorted_quantiles(const Tensor& q) {
  return q.size(q.ndim() - 1) == 1 ? q : sort(q, q.ndim() - 1);
}

ForecastModel::ForecastModel(const ModelConfig& config) : config_(config) {
  const auto& q = config.quantiles;
  for (size_t i = 0; i < q.size(); ++i)
    ATTEND_CHECK(q[i] > 0.0 && q[i] < 1.0 && (i == 0 || q[i] > q[i - 1]),
                 "--quantiles: the levels must lie in (0, 1) and increase, got {}",
                 fmt::format("{}", fmt::join(q, ",")));
}

Tensor ForecastModel::forecast(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                               const Tensor& x_mark_dec) {
  const Tensor q = forecast_quantiles(x_enc, x_mark_enc, x_dec, x_mark_dec);  // (B, T, C, Q)
  if (q.size(3) == 1) return reshape(q, {q.size(0), q.size(1), q.size(2)});
  return contiguous(select(sorted_quantiles(q), 3, median_index()));
}

int64_t ForecastModel::n_quantiles() const {
  return config_.quantiles.empty() ? 1 : static_cast<int64_t>(config_.quantiles.size());
}

int64_t ForecastModel::median_index() const {
  for (size_t i = 0; i < config_.quantiles.size(); ++i)
    if (std::abs(config_.quantiles[i] - 0.5) < 1e-12) return static_cast<int64_t>(i);
  return n_quantiles() / 2;
}

}  // namespace attend::models
