// TSLib's early stopping rule.
#include "attend/train/early_stopping.h"

#include <cmath>

#include "attend/base/error.h"

namespace attend::train {

bool EarlyStopping::step(double val_loss) {
  if (!std::isfinite(val_loss)) {  // never an improvement; counts toward patience
    ++counter_;
    if (counter_ >= patience_) early_stop_ = true;
    return false;
  }
  const double score = -val_loss;
  if (!best_score_) {
    best_score_ = score;
    return true;
  }
  if (score < *best_score_ + delta_) {
    ++counter_;
    if (counter_ >= patience_) early_stop_ = true;
    return false;
  }
  best_score_ = score;
  counter_ = 0;
  return true;
}

std::optional<double> EarlyStopping::best_loss() const {
  if (!best_score_) return std::nullopt;
  return -*best_score_;
}

nlohmann::json EarlyStopping::to_json() const {
  nlohmann::json j;
  j["counter"] = counter_;
  j["best_score"] = best_score_ ? nlohmann::json(*best_score_) : nlohmann::json(nullptr);
  j["early_stop"] = early_stop_;
  return j;
}

void EarlyStopping::load_json(const nlohmann::json& j) {
  try {
    counter_ = j.at("counter").get<int64_t>();
    if (j.at("best_score").is_null())
      best_score_.reset();
    else
      best_score_ = j.at("best_score").get<double>();
    early_stop_ = j.at("early_stop").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail("[early_stopping] bad saved state: {}", e.what());
  }
}

}  // namespace attend::train
