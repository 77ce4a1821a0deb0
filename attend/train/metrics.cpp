// TSLib's forecasting metrics.
#include "attend/train/metrics.h"

#include <fmt/format.h>

#include <algorithm>
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

void add_quantile_metrics(Metrics& m, const float* quantiles, const float* truth, int64_t n,
                          const std::vector<double>& levels) {
  const auto Q = static_cast<int64_t>(levels.size());
  std::vector<double> w(static_cast<size_t>(Q));  // midpoint-rule weights, summing to one
  for (int64_t j = 0; j < Q; ++j) {
    const double lo = j == 0 ? 0.0 : (levels[j - 1] + levels[j]) / 2;
    const double hi = j == Q - 1 ? 1.0 : (levels[j] + levels[j + 1]) / 2;
    w[j] = hi - lo;
  }
  double pinball = 0, crps = 0;
  int64_t covered = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* q = quantiles + i * Q;
    const double y = truth[i];
    for (int64_t j = 0; j < Q; ++j) {
      const double d = y - static_cast<double>(q[j]);
      const double rho = std::max(levels[j] * d, (levels[j] - 1) * d);
      pinball += rho;
      crps += 2 * w[j] * rho;
    }
    covered += y >= q[0] && y <= q[Q - 1];
  }
  m.has_quantiles = true;
  m.interval = Q > 0 ? levels[Q - 1] - levels[0] : 0.0;
  if (n <= 0 || Q <= 0) return;
  m.pinball = pinball / static_cast<double>(n * Q);
  m.coverage = static_cast<double>(covered) / static_cast<double>(n);
  m.crps = crps / static_cast<double>(n);
}

nlohmann::json metrics_to_json(const Metrics& m) {
  auto v = [](double x) -> nlohmann::json {
    if (std::isfinite(x)) return x;
    return nullptr;
  };
  nlohmann::json j = {{"mse", v(m.mse)},
                      {"mae", v(m.mae)},
                      {"rmse", v(m.rmse)},
                      {"mape", v(m.mape)},
                      {"mspe", v(m.mspe)}};
  if (m.has_quantiles) {
    j["pinball"] = v(m.pinball);
    j["coverage"] = v(m.coverage);
    j["interval"] = v(m.interval);
    j["crps"] = v(m.crps);
  }
  return j;
}

std::string metrics_line(const Metrics& m) {
  return fmt::format("mse:{}, mae:{}", static_cast<float>(m.mse), static_cast<float>(m.mae));
}

std::string quantile_metrics_line(const Metrics& m) {
  if (!m.has_quantiles) return "";
  return fmt::format("pinball:{}, coverage:{} (nominal {}), crps:{}", static_cast<float>(m.pinball),
                     static_cast<float>(m.coverage), static_cast<float>(m.interval),
                     static_cast<float>(m.crps));
}

}  // namespace attend::train
