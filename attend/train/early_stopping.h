#pragma once
// TSLib's EarlyStopping (utils/tools.py): score = -val_loss; the first call and every call with
// score >= best + delta count as an improvement (counter reset, checkpoint saved); otherwise the
// counter grows and early_stop is set once counter >= patience.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>

namespace attend::train {

class EarlyStopping {
 public:
  explicit EarlyStopping(int64_t patience = 7, double delta = 0.0)
      : patience_(patience), delta_(delta) {}

  // Feeds one validation loss; returns true when it is an improvement (save the weights).
  bool step(double val_loss);

  bool early_stop() const { return early_stop_; }
  int64_t counter() const { return counter_; }
  int64_t patience() const { return patience_; }
  // Best validation loss so far (nullopt before the first step).
  std::optional<double> best_loss() const;

  // {"counter", "best_score" (null before the first step), "early_stop"}.
  nlohmann::json to_json() const;
  void load_json(const nlohmann::json& j);

 private:
  int64_t patience_;
  double delta_;
  int64_t counter_ = 0;
  std::optional<double> best_score_;  // -val_loss
  bool early_stop_ = false;
};

}  // namespace attend::train
