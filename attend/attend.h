#pragma once
// attend's public C++ API: load a checkpoint and forecast from arrays and timestamps (one window
// or a batch, point and quantiles), train from run options, read a window's attention weights.
//
// Source-stable within 0.x (the ABI is not promised). Only standard types cross it; everything
// else in the include tree is internal. Errors throw attend::Error (attend::NotFoundError for a
// missing file or folder) with a message naming the input, field or option at fault.
//
//   attend::Model model = attend::Model::load("checkpoints/my_run");
//   attend::SeriesInput in;
//   in.timestamps = {...};  // seq_len or more, seconds since 1970 UTC, increasing
//   in.values = {...};      // (rows, model.info().columns.size()), row-major
//   attend::Forecast f = model.forecast(in);  // f.values: (pred_len, outputs)
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attend/base/exceptions.h"
#include "attend/version.h"

namespace attend {

// The library's version, "major.minor.patch" (the ATTEND_VERSION_STRING it was built with).
const char* version();

// The names of the forecasting models ("DLinear", "Informer", ..., "iTransformer"), sorted.
std::vector<std::string> model_names();

// ---- forecasting ----------------------------------------------------------------------------

// One series' recent history, in the data's units.
struct SeriesInput {
  // Long-format checkpoints: the series, one of ModelInfo::series_ids (it picks the scaler the
  // series was trained with). Empty for checkpoints of wide data.
  std::string id;
  // (T) seconds since 1970 UTC, strictly increasing, T >= seq_len; the forecast steps follow
  // their spacing (gaps are filled as the checkpoint's --missing says).
  std::vector<int64_t> timestamps;
  // (T, ModelInfo::columns.size()) row-major, the columns in ModelInfo::columns order; NaN marks
  // a missing value.
  std::vector<double> values;
  // Models trained with known-future columns: (pred_len, ModelInfo::known_columns.size())
  // row-major, their values at the pred_len forecast steps. Empty otherwise.
  std::vector<double> future;
};

// The forecast of one SeriesInput, in the data's units.
struct Forecast {
  std::string id;                   // the input's id
  std::vector<int64_t> timestamps;  // (pred_len) the forecast steps
  std::vector<float> values;        // (pred_len, ModelInfo::outputs.size()) the point forecast
  // Quantile models: (pred_len, outputs, ModelInfo::quantiles.size()) sorted along the levels.
  std::vector<float> quantiles;
};

// What a loaded checkpoint reads and writes.
struct ModelInfo {
  std::string model;  // "PatchTST", ..., as attend::model_names()
  int64_t seq_len = 0, label_len = 0, pred_len = 0;
  std::string freq;                        // time-feature frequency ("h", "D", "auto", ...)
  std::vector<std::string> columns;        // the input columns, in order
  std::vector<std::string> outputs;        // the forecast columns (M: all; S, MS: the target)
  std::vector<std::string> known_columns;  // known-future columns (SeriesInput::future)
  std::vector<double> quantiles;           // quantile levels; empty: a point forecast only
  std::vector<std::string> series_ids;     // long format: the series; empty for wide data
  std::string id_column, time_column;      // the training data's column names
  bool has_attention = false;              // Model::attention gives weights
  std::string checkpoint;                  // the folder it was loaded from
};

// One attention layer's weights for one window.
struct AttentionMap {
  std::string layer;  // the layer's module path, e.g. "encoder.attn_layers.0.attention"
  std::string role;   // "encoder self-attention", "decoder self-attention" or "cross-attention"
  // (maps, heads, queries, keys): maps is 1, or the variables for a channel-independent model
  // (PatchTST: each variable's patches attend among themselves).
  std::vector<int64_t> shape;
  std::vector<float> weights;  // row-major; each (query) row sums to 1
};

// A checkpoint loaded for forecasting. Copies share the loaded model. Thread-safe: any number
// of threads may forecast on one Model at once (each call takes a model instance of its own
// from a pool that grows to the number of concurrent callers).
class Model {
 public:
  // Loads a checkpoint folder (weights.safetensors, config.json, scaler.json: `attend train`'s
  // run folder). `threads`: worker threads of each forecast (0: all cores).
  static Model load(const std::string& checkpoint, int threads = 0);

  const ModelInfo& info() const;

  // The next pred_len steps after the input.
  Forecast forecast(const SeriesInput& input) const;
  // Several inputs (any series, any number of windows of one series) in one batched forward:
  // the same forecasts as one call each, faster.
  std::vector<Forecast> forecast(const std::vector<SeriesInput>& inputs) const;

  // The attention weights of every attention layer for the input's window (a forward as
  // forecast's). An error for a model without attention (ModelInfo::has_attention).
  std::vector<AttentionMap> attention(const SeriesInput& input) const;

 private:
  struct Impl;
  explicit Model(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// ---- training ---------------------------------------------------------------------------------

// Run options as on attend's command line: TSLib run.py's flag names without "--" and their
// values as text ({"model", "PatchTST"}, {"seq_len", "96"}, {"quantiles", "0.1,0.5,0.9"},
// {"inverse", "true"}). `attend --help` lists them.
using RunOptions = std::vector<std::pair<std::string, std::string>>;

struct EpochProgress {
  int64_t epoch = 0, epochs = 0;  // 1-based epoch, of epochs
  double train_loss = 0, val_loss = 0, test_loss = 0;
  double seconds = 0;  // the epoch's time
};

struct TrainOptions {
  int threads = 0;                                  // worker threads (0: all cores)
  bool resume = false;                              // continue from <run folder>/resume
  const std::atomic<bool>* stop = nullptr;          // set: stop at the next batch, resumable
  std::function<void(const EpochProgress&)> epoch;  // after each epoch
  std::function<void(const std::string&)> log;      // one-line notes and progress
};

struct TrainReport {
  std::string checkpoint;    // the run folder: <checkpoints>/<setting>
  bool interrupted = false;  // stopped; <checkpoint>/resume holds the state for resume
  // Test metrics of the best epoch: mae, mse, rmse, mape, mspe (and pinball, coverage, crps
  // and interval for quantile models), by name.
  std::vector<std::pair<std::string, double>> metrics;
};

// Trains a model as `attend train` does (the data file the options name, its train and
// validation splits, early stopping), tests it and writes its checkpoint folder.
TrainReport train_model(const RunOptions& options, const TrainOptions& how = {});

}  // namespace attend
