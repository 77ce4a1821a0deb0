#pragma once
// Test metrics of TSLib's utils/metrics.py, computed in float64 over all elements.
#include <nlohmann/json.hpp>

#include <cstdint>

namespace attend::train {

struct Metrics {
  double mse = 0;   // mean((pred - true)^2)
  double mae = 0;   // mean(|pred - true|)
  double rmse = 0;  // sqrt(mse)
  double mape = 0;  // mean(|(pred - true) / true|)   (inf where true == 0, as numpy)
  double mspe = 0;  // mean(((pred - true) / true)^2)
};

// Metrics of n predictions against n true values.
Metrics compute_metrics(const float* pred, const float* truth, int64_t n);

// {"mse": .., "mae": .., "rmse": .., "mape": .., "mspe": ..} (non-finite values as null).
nlohmann::json metrics_to_json(const Metrics& m);

// TSLib's final line: "mse:<v>, mae:<v>" with the values printed as float32 (shortest repr).
std::string metrics_line(const Metrics& m);

}  // namespace attend::train
