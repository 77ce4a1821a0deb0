#pragma once
// Test metrics of TSLib's utils/metrics.py, computed in float64 over all elements.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attend::train {

struct Metrics {
  double mse = 0;   // mean((pred - true)^2)
  double mae = 0;   // mean(|pred - true|)
  double rmse = 0;  // sqrt(mse)
  double mape = 0;  // mean(|(pred - true) / true|)   (inf where true == 0, as numpy)
  double mspe = 0;  // mean(((pred - true) / true)^2)
  // Quantile forecasts (levels τ_1 < … < τ_Q, quantiles q_1 ≤ … ≤ q_Q per value; see
  // compute_quantile_metrics); has_quantiles is false for a point model.
  bool has_quantiles = false;
  double pinball = 0;   // mean over values and levels of ρ_τ(y − q_τ)
  double coverage = 0;  // fraction of values with q_1 ≤ y ≤ q_Q
  double crps = 0;      // CRPS estimated from the quantiles
  double interval = 0;  // τ_Q − τ_1: the coverage the outer interval should have
};

// Metrics of n predictions against n true values.
Metrics compute_metrics(const float* pred, const float* truth, int64_t n);

// The quantile metrics of n values: quantiles (n, Q) sorted per value at `levels` against truth
// (n), added to m. With the pinball loss ρ_τ(d) = max(τ·d, (τ − 1)·d):
//   pinball  = 1/(n·Q) Σ_i Σ_j ρ_τj(y_i − q_ij)
//   coverage = 1/n #{i : q_i1 ≤ y_i ≤ q_iQ}
//   crps     = 1/n Σ_i 2 Σ_j w_j ρ_τj(y_i − q_ij), the quantile form of CRPS(F, y) =
//              2 ∫₀¹ ρ_τ(y − F⁻¹(τ)) dτ with the integral as a midpoint sum: level j stands for
//              [m_{j−1}, m_j), m_0 = 0, m_j = (τ_j + τ_{j+1}) / 2, m_Q = 1, w_j = m_j − m_{j−1}.
void add_quantile_metrics(Metrics& m, const float* quantiles, const float* truth, int64_t n,
                          const std::vector<double>& levels);

// {"mse": .., "mae": .., "rmse": .., "mape": .., "mspe": ..} and, for quantile forecasts,
// "pinball", "coverage", "interval", "crps" (non-finite values as null).
nlohmann::json metrics_to_json(const Metrics& m);

// TSLib's final line: "mse:<v>, mae:<v>" with the values printed as float32 (shortest repr).
std::string metrics_line(const Metrics& m);

// For quantile forecasts, a second line: "pinball:<v>, coverage:<v> (nominal <τ_Q − τ_1>),
// crps:<v>"; "" for a point model.
std::string quantile_metrics_line(const Metrics& m);

}  // namespace attend::train
