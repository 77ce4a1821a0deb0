#pragma once
// TSLib's forecasting data protocols (Dataset_ETT_hour, Dataset_ETT_minute, Dataset_Custom):
// borders, column order, scaler fitted on the train rows, time features and windows.
// One CSV read is split three ways; windows are offsets into each split's scaled array.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
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
  // Time features: parse_freq's forms (h, 15min, QE); "auto": the data's spacing; "": each
  // format's default, TSLib's h for wide data and auto for long format (see format_freq).
  std::string freq;
};

// The frequency text a run of `freq` (SampleConfig::freq) uses for data of this format: "auto" or
// a frequency; "" becomes "h" for wide data (TSLib's default) and "auto" for long format.
std::string format_freq(const std::string& freq, bool long_format);

// How missing values are handled: refused (naming file, line and column), filled with the
// series' last observed value, filled by linear interpolation, or masked (missing targets are
// left out of the loss and the metrics; missing inputs are filled with the last observed value).
// Leading gaps take the first observed value. Nothing silently becomes zero.
enum class MissingPolicy { Error, Ffill, Interpolate, Mask };
// Parses "error", "ffill", "interpolate" or "mask"; `flag` names the option in the error.
MissingPolicy parse_missing_policy(const std::string& text, const std::string& flag = "--missing");

// Which file and columns (run.py's names and defaults, except root_path), and attend's own-data
// options: long format, cut-off dates, missing values.
struct DataConfig {
  std::string data = "ETTh1";               // ETTh1, ETTh2 (hour borders), ETTm1, ETTm2, custom
  std::string root_path = "./data/";        // folder of the CSV (run.py: ./data/ETT/)
  std::string data_path = "ETTh1.csv";      // CSV file name inside root_path
  std::string features = "M";               // M: all columns, S: target only, MS: all, target last
  std::string target = "OT";                // target column (S, MS; always for custom)
  std::vector<std::string> static_columns;  // columns constant per series (TFT)
  std::vector<std::string> known_columns;   // columns known over the horizon (TFT)
  std::string id_col;       // long format's series-id column ("": unique_id when present)
  std::string time_col;     // time column ("": date, else ds)
  std::string val_start;    // first timestamp of validation for every series ("": 70/10/20 split)
  std::string test_start;   // first timestamp of test for every series ("": 70/10/20 split)
  bool skip_short = false;  // leave out (with a note) series too short for a window
  std::string missing = "error";    // MissingPolicy: error, ffill, interpolate, mask
  std::string date_format = "ymd";  // dates with the year last: dmy or mdy (DateOrder)
  bool scale = true;                // standardise with the scaler fitted on train rows
  // Not an option (backtest refits set it): series id -> its own {validation start, test start}
  // timestamps, over val_start/test_start, for series that span different periods.
  std::map<std::string, std::array<int64_t, 2>> series_splits;
};

// One split (train, val or test): its rows of the selected, scaled columns and time marks. In
// long format the split holds one segment of rows per series, back to back; a window never
// crosses from one segment into the next.
struct ForecastSplit {
  std::string name;            // "train", "val" or "test"
  int64_t begin = 0, end = 0;  // wide data: CSV data rows [begin, end)
  int64_t rows = 0;            // rows held (wide: end - begin)
  int64_t channels = 0;        // C
  int64_t mark_dim = 0;        // F
  int64_t seq_len = 0, label_len = 0, pred_len = 0;
  std::vector<float> data;          // (rows, C), scaled when config.scale
  std::vector<float> marks;         // (rows, F)
  std::vector<int64_t> timestamps;  // (rows), seconds since 1970 UTC
  // (rows, C): 0 where the value was missing and --missing mask keeps it out of the loss and the
  // metrics; empty when every value counts.
  std::vector<uint8_t> observed;
  std::vector<int64_t> starts;         // first row of each window, in window order
  std::vector<int64_t> window_series;  // series of each window (long format); empty for wide

  // Number of windows (wide: rows - seq_len - pred_len + 1).
  int64_t size() const { return static_cast<int64_t>(starts.size()); }
  // Rows of seq_y: label_len + pred_len.
  int64_t y_len() const { return label_len + pred_len; }
  // Series of window i (0 for wide data).
  int64_t series_of(int64_t i) const { return window_series.empty() ? 0 : window_series[i]; }
  // seq_x of window i: rows [s, s + seq_len) from s = starts[i], (seq_len, C) contiguous.
  const float* seq_x(int64_t i) const { return data.data() + starts[i] * channels; }
  // seq_y of window i: rows [s + seq_len - label_len, s + seq_len + pred_len), (y_len, C).
  const float* seq_y(int64_t i) const {
    return data.data() + (starts[i] + seq_len - label_len) * channels;
  }
  // Whether seq_y's values count (same rows as seq_y), or nullptr when every value counts.
  const uint8_t* seq_y_observed(int64_t i) const {
    return observed.empty() ? nullptr
                            : observed.data() + (starts[i] + seq_len - label_len) * channels;
  }
  // Time marks of the same rows: (seq_len, F) and (y_len, F).
  const float* seq_x_mark(int64_t i) const { return marks.data() + starts[i] * mark_dim; }
  const float* seq_y_mark(int64_t i) const {
    return marks.data() + (starts[i] + seq_len - label_len) * mark_dim;
  }
  // Timestamp of row r of window i's input (r < seq_len) or of its horizon (r >= seq_len).
  int64_t time_of(int64_t i, int64_t r) const { return timestamps[starts[i] + r]; }
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
  StandardScaler scaler;                // wide: fitted on the train rows (unfitted when !scale)
  // Long format: the series in file order, each with its scaler fitted on its own train rows.
  std::string id_column, time_column;  // the input's names, for output in the same layout
  TimestampFormat date_format;         // how the input writes its timestamps
  std::vector<std::string> series_ids;
  std::vector<StandardScaler> series_scalers;
  ForecastSplit train, val, test;

  bool long_format() const { return !series_ids.empty(); }
  // The scaler of series s (the one scaler of wide data).
  const StandardScaler& scaler_of(int64_t s) const {
    return long_format() ? series_scalers[s] : scaler;
  }

  int64_t channels() const { return static_cast<int64_t>(columns.size()); }
  int64_t mark_dim() const { return static_cast<int64_t>(mark_names.size()); }
  // Channel the loss is taken on from the model output: features MS -> C - 1, else 0 (TSLib f_dim).
  int64_t f_dim() const { return config.features == "MS" ? channels() - 1 : 0; }
  // The split named "train", "val" (or "vali") or "test".
  const ForecastSplit& split(std::string_view name) const;
};

// Reads root_path/data_path once, or takes `table` when given (data held in memory, such as a
// DataFrame: root_path and data_path are then unused), and builds the three splits of
// `sample`-shaped windows. `log` receives one-line notices (series skipped under skip_short); may
// be empty.
ForecastData load_forecast_data(const DataConfig& config, const SampleConfig& sample,
                                const std::function<void(const std::string&)>& log = {},
                                const CsvTable* table = nullptr);

// The CSV reading options a DataConfig asks for (time and id columns, missing values, date
// order).
CsvOptions csv_options(const DataConfig& config);

// Builds the three splits from an already parsed table.
ForecastData make_forecast_data(const CsvTable& table, const DataConfig& config,
                                const SampleConfig& sample,
                                const std::function<void(const std::string&)>& log = {});

// The series of a table: row indices per series id, in first-seen order (one series "" for a
// wide table).
struct SeriesRows {
  std::vector<std::string> ids;
  std::vector<std::vector<int64_t>> rows;
};
SeriesRows group_series(const CsvTable& table);

// One series of a table: the `pick` columns' values in time order, with a NaN row inserted for
// each step the timestamps skip when `fill_gaps` and they follow a frequency with whole steps
// missing (data::spacing_with_gaps; the ETT protocols take rows as they come). Under
// MissingPolicy::Error a skipped step is an error naming the file, line, series and the flag that
// fills it; so are more missing rows than the series has rows (mixed frequencies).
struct SeriesValues {
  std::vector<double> values;        // (rows, C), NaN where missing
  std::vector<int64_t> timestamps;   // (rows)
  std::vector<int64_t> lines;        // (rows) the file line (an inserted row: the next one's)
  std::optional<Frequency> spacing;  // nullopt: irregular, or fewer than two rows
  int64_t rows() const { return static_cast<int64_t>(timestamps.size()); }
};
SeriesValues series_values(const CsvTable& table, const std::vector<int64_t>& rows,
                           const std::vector<int64_t>& pick, bool fill_gaps, MissingPolicy policy,
                           const std::string& id = "");

// Fills the NaN values of `values` (rows, cols) row-major per `policy` (Ffill/Mask: last observed
// value, Interpolate: linear in the row index; leading gaps: the first observed value); returns
// the (rows, cols) observed flags. Error: throws naming `source`:line (from `lines`) and the
// column. A column with no value at all is an error naming it.
std::vector<uint8_t> fill_missing(std::vector<double>& values, int64_t rows, int64_t cols,
                                  MissingPolicy policy, const std::vector<std::string>& columns,
                                  const std::vector<int64_t>& lines, const std::string& source);

}  // namespace attend::data
