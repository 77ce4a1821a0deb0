#pragma once
// Forecasting from a checkpoint and a CSV of recent history (original units): the last seq_len
// rows go in, the next pred_len rows come out with timestamps that follow the input's spacing.
#include <cstdint>
#include <string>
#include <vector>

#include "attend/data/csv.h"
#include "attend/train/checkpoint.h"

namespace attend::train {

struct ForecastTable {
  std::vector<int64_t> timestamps;    // (pred_len) seconds since 1970 UTC
  std::vector<std::string> columns;   // predicted columns (M: all, S/MS: the target)
  std::vector<float> values;          // (pred_len, columns) in original units
  data::TimestampFormat date_format;  // the input's: future dates are written as its dates
};

// The `n` timestamps after the last of `ts` (increasing), stepped by the frequency of their own
// spacing (data::spacing_of, data::future_timestamps); `freq` (--freq) is used when ts has one
// row. Spacing that fits no frequency is an error.
std::vector<int64_t> future_timestamps(const std::vector<int64_t>& ts, int64_t n,
                                       const std::string& freq);

// Runs the checkpoint's model on the last seq_len rows of `input`; errors name a missing column
// or too few rows.
ForecastTable forecast(const CheckpointInfo& info, const data::CsvTable& input, Context& ctx);

// CSV text: "date,<columns>" then one row per step, dates in the input's format.
std::string forecast_to_csv(const ForecastTable& t);

}  // namespace attend::train
