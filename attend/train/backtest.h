#pragma once
// Rolling-origin evaluation, as neuralforecast's cross_validation: forecasts from several cut-offs
// inside the test split beside the actuals, with a checkpoint's weights (refit 0) or with a model
// retrained from scratch on the rows before every refit-th cut-off.
//
// A cut-off is a test window's forecast origin (its last input row). The cut-offs are the last
// n_windows windows of each series' test segment, `step` windows apart, counted from the segment's
// end, so cut-off k of every series sits at the same offset from its end; in time order.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "attend/data/dataset.h"
#include "attend/train/metrics.h"
#include "attend/train/run_config.h"
#include "attend/train/trainer.h"

namespace attend::train {

struct BacktestOptions {
  int64_t n_windows = 1;   // cut-offs per series; 0: as many as the test split holds at `step`
  int64_t step = 0;        // test windows between cut-offs; 0: pred_len (1 when n_windows is 0)
  int64_t refit = 0;       // 0: the weights in `checkpoint`; N: retrain at every N-th cut-off
  std::string checkpoint;  // refit 0: the folder holding weights.safetensors
  const std::atomic<bool>* stop = nullptr;      // checked between cut-offs and training batches
  TrainCallbacks callbacks;                     // training progress (refit)
  std::function<void(const std::string&)> log;  // one-line progress messages (may be empty)
  // The data in memory (a DataFrame) instead of the file cfg.data names; outlives the call.
  const data::CsvTable* table = nullptr;
};

// The cut-offs planned in a test split: windows[i] (an index into the split's windows, in the
// split's order: series, then time) is the forecast origin of cut-off cutoff[i] of its series.
struct CutoffPlan {
  std::vector<int64_t> windows, cutoff;
  int64_t count = 0;  // cut-offs (the most of any series)
  int64_t step = 0;   // the step used (the default resolved)
};

// The cut-offs in `test` (n_windows and step as in BacktestOptions; the split's pred_len gives the
// default step). n_windows that do not fit a series' test segment at `step` are an error naming
// --n_windows, --step and the series (series_ids: the names of long format's series).
CutoffPlan plan_cutoffs(const data::ForecastSplit& test, int64_t n_windows, int64_t step,
                        const std::vector<std::string>& series_ids = {});

// One cut-off of one series: the forecast beside the actuals.
struct BacktestWindow {
  int64_t cutoff = 0;  // 0-based, in time order
  int64_t series = 0;  // index into BacktestResult::series_ids (0 for wide data)
  int64_t origin = 0;  // timestamp of the last input row (the cut-off)
  std::vector<int64_t> history_times, times;  // (seq_len) input rows, (pred_len) forecast rows
  std::vector<float> history;                 // (seq_len, K) inputs, original units
  std::vector<float> forecast, actual;        // (pred_len, K) original units
  std::vector<float> pred, truth;             // (pred_len, K) in the metrics' units (--inverse)
  std::vector<uint8_t> observed;              // (pred_len, K); empty when every value counts
  Metrics metrics;                            // over the observed values of pred and truth
};

struct BacktestResult {
  RunConfig config;                  // refit 0: the checkpoint's (resolved); else the run's
  std::vector<std::string> columns;  // the K predicted columns
  int64_t target = -1;               // index of the target in columns, -1 if not predicted
  std::string id_column, time_column;
  data::TimestampFormat date_format;    // the input's, for cut-offs and dates written
  std::vector<std::string> series_ids;  // long format; empty for wide data
  int64_t cutoffs = 0, step = 0, refit = 0;
  std::vector<BacktestWindow> windows;  // the test split's order: series, then time
  Metrics overall;                      // pooled over every window's observed values
  bool interrupted = false;             // stopped by options.stop; `windows` holds what was done

  bool long_format() const { return !series_ids.empty(); }
};

// Backtests `cfg`: with refit 0 the weights of options.checkpoint forecast every cut-off (cfg is
// the checkpoint's resolved configuration, data flags may differ); with refit N a model of cfg is
// trained from cfg.train.seed at cut-offs 0, N, 2N, ... on the rows before the cut-off (the
// last 1/8 of them, at least pred_len, for validation; --val_start/--test_start set to those
// dates) and forecasts that cut-off and the next N - 1. Metrics follow cfg.train.inverse.
BacktestResult backtest(const ValidConfig& cfg, const BacktestOptions& options, Context& ctx);

// cutoffs.csv: cutoff, [id], mse, mae, rmse, mape, mspe; one row per window.
std::string backtest_cutoffs_csv(const BacktestResult& r);
// forecasts.csv: [id], cutoff, time, then <col> and <col>_actual per predicted column, original
// units (a missing actual is an empty field); the id and time columns keep the input's names.
std::string backtest_forecasts_csv(const BacktestResult& r);
// metrics.json: {"overall", "cutoffs": [{"cutoff", ["id"], metrics}], "n_windows", "step",
// "refit", "inverse", "complete"}.
nlohmann::json backtest_metrics_json(const BacktestResult& r);
// Writes cutoffs.csv, forecasts.csv and metrics.json into `dir` (created when missing); returns
// their paths.
std::vector<std::string> write_backtest(const BacktestResult& r, const std::string& dir);

}  // namespace attend::train
