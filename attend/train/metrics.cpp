// TSLib's forecasting metrics.
#include "attend/train/metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace attend::train {

Metrics compute_metrics(const float* pred, const float* truth, int64_t n) {
  Metrics m;
  if (n <= 0) return m;
  double se = 0, ae = 0, ape = 0, spe = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(pred[i]) - static_cast<double>(truth[i]);
    se += d * d;
    ae += std::abs(d);
    const double r = d / static_cast<double>(truth[i]);  // (pred - true) / true
    ape += std::abs(r);
    spe += r * r;
  }
  m.mse = se / n;
  m.mae = ae / n;
  m.rmse = std::sqrt(m.mse);
  m.mape = ape / n;
  m.mspe = spe / n;
  return m;
}

nlohmann::json metrics_to_json(const Metrics& m) {
  auto v = [](double x) -> nlohmann::json {
    if (std::isfinite(x)) return x;
    return nullptr;
  };
  return {{"mse", v(m.mse)},
          {"mae", v(m.mae)},
          {"rmse", v(m.rmse)},
          {"mape", v(m.mape)},
          {"mspe", v(m.mspe)}};
}

std::string metrics_line(const Metrics& m) {
  return fmt::format("mse:{}, mae:{}", static_cast<float>(m.mse), static_cast<float>(m.mae));
}

}  // namespace attend::train
