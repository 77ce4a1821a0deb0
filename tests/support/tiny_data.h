#pragma once
// The first rows of data/ETTh1.csv as a small custom dataset (70/10/20 split), for tests
// that train or explain real models in seconds.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "attend/data/csv.h"
#include "attend/train/run_config.h"
#include "support/paths.h"

namespace attend::testing {

inline std::shared_ptr<const data::ForecastData> tiny_data(const train::RunConfig& cfg, int rows) {
  static const std::string text = [] {
    std::ifstream in(data_path("ETTh1.csv"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  size_t pos = 0;
  for (int i = 0; i <= rows; ++i) pos = text.find('\n', pos) + 1;
  auto table = data::parse_csv(std::string_view(text).substr(0, pos), "ETTh1_head.csv");
  return std::make_shared<const data::ForecastData>(
      data::make_forecast_data(table, cfg.data, cfg.model));
}

}  // namespace attend::testing
