#pragma once
// Forecasting from a checkpoint and a CSV of recent history (original units): the last seq_len
// rows go in, the next pred_len rows come out with timestamps that follow the input's spacing.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attend/data/csv.h"
#include "attend/nn/attention.h"
#include "attend/ops/linalg.h"
#include "attend/train/checkpoint.h"

namespace attend::train {

// Forecast rows: pred_len per series, in original units.
struct ForecastTable {
  std::string id_column;             // long format: the input's series-id column ("" for wide)
  std::string time_column = "date";  // the time column's name in the output
  std::vector<std::string> ids;      // (rows) long format: the series of each row
  std::vector<int64_t> timestamps;   // (rows) seconds since 1970 UTC
  std::vector<std::string> columns;  // predicted columns (M: all, S/MS: the target)
  std::vector<float> values;         // (rows, columns) the point forecast
  // Quantile models: the levels, and the quantiles (rows, columns, levels) sorted per value.
  std::vector<double> levels;
  std::vector<float> quantiles;
  data::TimestampFormat date_format;  // the input's: future dates are written as its dates
};

// The name of a quantile's column beside `column`: "OT_q0.1".
std::string quantile_column(const std::string& column, double level);

// The `n` timestamps after the last of `ts` (increasing), stepped by the frequency of their own
// spacing (data::spacing_of, data::future_timestamps); `freq` (--freq) is used when ts has one
// row. Spacing that fits no frequency is an error.
std::vector<int64_t> future_timestamps(const std::vector<int64_t>& ts, int64_t n,
                                       const std::string& freq);

// Runs the checkpoint's model on the last seq_len rows of `input` (of each series in long
// format, or of the series in `ids` only); errors name a missing column, too few rows or an
// unknown series id. A model trained with known-future columns reads their values for the
// pred_len forecast steps from `future` (--future: the same time and id columns, a row for every
// future step of every series forecast); without it, or with a row or value missing, the error
// names the file, series, step and column.
ForecastTable forecast(const CheckpointInfo& info, const data::CsvTable& input, Context& ctx,
                       const std::vector<std::string>& ids = {},
                       const data::CsvTable* future = nullptr);

// One series' forecast window ready for the model: its last seq_len rows scaled, their time
// features and the forecast steps' (Predictor::prepare), run with others in one batch.
struct PreparedWindow {
  std::string id;                                // long format: the series; "" for wide data
  std::string where;                             // the input (and series) in messages
  const data::StandardScaler* scaler = nullptr;  // the series' scaler (the checkpoint's)
  char freq_letter = 0;                          // the time features' frequency letter
  std::vector<float> x;                          // (seq_len, C) scaled
  std::vector<float> marks, dec_marks;           // (seq_len, F), (label_len + pred_len, F) or empty
  std::vector<float> ahead;    // (pred_len, C) scaled known-future values, or empty
  std::vector<int64_t> steps;  // (pred_len) the forecast steps' timestamps
};

// One window's forecast in original units: columns first_column.. of the checkpoint's columns.
struct WindowForecast {
  int64_t first_column = 0, columns = 0;  // K predicted columns (S/MS: the target)
  std::vector<float> values;              // (pred_len, K) the point forecast
  std::vector<float> quantiles;           // (pred_len, K, Q) sorted along Q; empty without
};

// A checkpoint loaded once for many forecasts (a service, the Python package): forecast() as the
// free function below, with the model built at construction (for --freq auto, on the first call)
// and kept (rebuilt only when a checkpoint of --freq auto meets data of another frequency kind).
// Number of time-mark columns the data layer makes for a model config: timeF features, or the
// integer calendar marks of TSLib's timeenc 0 (month, day, weekday, hour[, minute]).
int64_t mark_columns(const models::ModelConfig& c);

// Readies `model` (whose weights must not change from now on) for forecasts under `weights`'s
// PackedWeights::Scope: freezes its parameters and buffers; with `warm`, also runs one forecast at
// batch 1 on zeros in that scope, so that its Linear weights are packed (and the backend's kernels
// generated) now rather than in the first forecast — what ONNX Runtime does when it creates a
// session. The random generator's counter is left as it was.
void prepare_for_inference(models::ForecastModel& model, PackedWeights& weights, Context& ctx,
                           bool warm = true);

class Predictor {
 public:
  // `repeated`: forecasts will follow one another (the API, a service), so the model is readied
  // at load (prepare_for_inference with warm-up); false for a single forecast, whose weights are
  // packed as it meets them.
  Predictor(CheckpointInfo info, Context& ctx, bool repeated = true);
  const CheckpointInfo& info() const { return info_; }
  // The checkpoint's configuration resolved against its columns.
  const RunConfig& config() const { return cfg_; }
  ForecastTable forecast(const data::CsvTable& input, const std::vector<std::string>& ids = {},
                         const data::CsvTable* future = nullptr);
  // The two halves of forecast(): the windows of `input`'s series (checked, scaled, with their
  // time features), and their forecasts — windows of one frequency in one batched forward each.
  std::vector<PreparedWindow> prepare(const data::CsvTable& input,
                                      const std::vector<std::string>& ids = {},
                                      const data::CsvTable* future = nullptr);
  std::vector<WindowForecast> run(const std::vector<PreparedWindow>& windows);
  // The attention maps (B = 1 or the variables, H, Lq, Lk) of every attention layer for one
  // window; an error for a model without attention.
  std::vector<nn::CapturedAttention> attention(const PreparedWindow& window);

 private:
  models::ForecastModel& model(char freq_letter);
  // The model on a batch of windows of one frequency: (B, >= pred_len, c_out, Q) sorted along Q;
  // `capture` (or nullptr) records the attention weights.
  Tensor forward(const std::vector<const PreparedWindow*>& batch, nn::AttentionCapture* capture);

  CheckpointInfo info_;
  RunConfig cfg_;
  Context& ctx_;
  std::shared_ptr<models::ForecastModel> model_;
  PackedWeights packed_;  // model_'s Linear weights, packed at their first forecast
  char model_freq_ = 0;   // the time-feature letter model_ was built for
  bool repeated_ = true;
};

// CSV text: "date,<columns>" (long format: "<id>,<time>,<columns>") then one row per step, dates
// in the input's format; a quantile model writes "<column>_q<level>" beside each column.
std::string forecast_to_csv(const ForecastTable& t);

}  // namespace attend::train
