#pragma once
// TSLib's forecasting data protocols (Dataset_ETT_hour, Dataset_ETT_minute, Dataset_Custom):
// borders, column order, scaler fitted on the train rows, time features and windows.
// One CSV read is split three ways; windows are offsets into each split's scaled array.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attend/data/csv.h"
#include "attend/data/scaler.h"
#include "attend/data/time_features.h"

namespace attend::data {

// What one sample looks like: the window lengths and the time encoding (run.py's names). The
// model's configuration is this plus the model's own options (models::ModelConfig derives from
// it), so the data layer and the model read the same values.
struct SampleConfig {
  int64_t seq_len = 96;         // encoder input length
  int64_t label_len = 48;       // decoder start-token length (<= seq_len)
  int64_t pred_len = 96;        // forecast horizon
  std::string embed = "timeF";  // timeF -> timeenc 1; fixed/learned -> timeenc 0
  std::string freq = "h";       // time features: parse_freq's forms (h, 15min, QE); "auto"/"" infer
};

// Which file and columns (run.py's names and defaults, except root_path).
struct DataConfig {
  std::string data = "ETTh1";               // ETTh1, ETTh2 (hour borders), ETTm1, ETTm2, custom
  std::string root_path = "./data/";        // folder of the CSV (run.py: ./data/ETT/)
  std::string data_path = "ETTh1.csv";      // CSV file name inside root_path
  std::string features = "M";               // M: all columns, S: target only, MS: all, target last
  std::string target = "OT";                // target column (S, MS; always for custom)
  std::vector<std::string> static_columns;  // columns constant per series (TFT)
  std::vector<std::string> known_columns;   // columns known over the horizon (TFT)
  bool scale = true;                        // standardise with the scaler fitted on train rows
  std::string date_format = "ymd";          // dates with the year last: dmy or mdy (DateOrder)
};

// One split (train, val or test): its rows of the selected, scaled columns and time marks.
struct ForecastSplit {
  std::string name;            // "train", "val" or "test"
  int64_t begin = 0, end = 0;  // CSV data rows [begin, end)
  int64_t rows = 0;            // end - begin
  int64_t channels = 0;        // C
  int64_t mark_dim = 0;        // F
  int64_t seq_len = 0, label_len = 0, pred_len = 0;
  std::vector<float> data;          // (rows, C), scaled when config.scale
  std::vector<float> marks;         // (rows, F)
  std::vector<int64_t> timestamps;  // (rows), seconds since 1970 UTC

  // Number of windows: rows - seq_len - pred_len + 1.
  int64_t size() const { return rows - seq_len - pred_len + 1; }
  // Rows of seq_y: label_len + pred_len.
  int64_t y_len() const { return label_len + pred_len; }
  // seq_x of window i: rows [i, i + seq_len), (seq_len, C) contiguous.
  const float* seq_x(int64_t i) const { return data.data() + i * channels; }
  // seq_y of window i: rows [i + seq_len - label_len, i + seq_len + pred_len), (y_len, C).
  const float* seq_y(int64_t i) const { return data.data() + (i + seq_len - label_len) * channels; }
  // Time marks of the same rows: (seq_len, F) and (y_len, F).
  const float* seq_x_mark(int64_t i) const { return marks.data() + i * mark_dim; }
  const float* seq_y_mark(int64_t i) const {
    return marks.data() + (i + seq_len - label_len) * mark_dim;
  }
};

// The three splits of one CSV plus what a model and a forecast need to know about them.
struct ForecastData {
  DataConfig config;
  SampleConfig sample;
  std::string source;                   // CSV path
  std::vector<std::string> columns;     // the C channels in order (custom: target last)
  int64_t target_index = -1;            // index of the target in columns, -1 if not selected
  std::string freq;                     // TSLib's letter of the time features (s t h d b w m)
  FreqKind freq_kind = FreqKind::Hour;  // kind of the time features (time_feature_kind)
  std::optional<Frequency> spacing;     // the data's own frequency; nullopt: irregular, 1 row
  int timeenc = 1;                      // 1: timeF features, 0: integer calendar marks
  std::vector<std::string> mark_names;  // names of the F mark columns
  StandardScaler scaler;                // fitted on the train rows (unfitted when !scale)
  ForecastSplit train, val, test;

  int64_t channels() const { return static_cast<int64_t>(columns.size()); }
  int64_t mark_dim() const { return static_cast<int64_t>(mark_names.size()); }
  // Channel the loss is taken on from the model output: features MS -> C - 1, else 0 (TSLib f_dim).
  int64_t f_dim() const { return config.features == "MS" ? channels() - 1 : 0; }
  // The split named "train", "val" (or "vali") or "test".
  const ForecastSplit& split(std::string_view name) const;
};

// Reads root_path/data_path once and builds the three splits of `sample`-shaped windows.
ForecastData load_forecast_data(const DataConfig& config, const SampleConfig& sample);

// Builds the three splits from an already parsed table.
ForecastData make_forecast_data(const CsvTable& table, const DataConfig& config,
                                const SampleConfig& sample);

}  // namespace attend::data
