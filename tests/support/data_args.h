#pragma once
// The two arguments of the data layer's load_forecast_data/make_forecast_data in one value, for
// tests that vary them. The frequency is inferred unless a test sets it.
#include "attend/data/dataset.h"

namespace attend::testing {

struct DataArgs {
  data::DataConfig data;
  data::SampleConfig sample{.freq = "auto"};
};

inline data::ForecastData make_forecast_data(const data::CsvTable& t, const DataArgs& a) {
  return data::make_forecast_data(t, a.data, a.sample);
}

inline data::ForecastData load_forecast_data(const DataArgs& a) {
  return data::load_forecast_data(a.data, a.sample);
}

}  // namespace attend::testing
