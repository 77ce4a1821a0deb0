#pragma once
// Several models trained and tested on the same data and split, side by side: accuracy, training
// time, forecast latency and size (the library behind `attend compare` and `attend bench model`).
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attend/models/model.h"
#include "attend/train/distributed.h"
#include "attend/train/metrics.h"
#include "attend/train/run_config.h"

namespace attend::train {

struct LatencyOptions {
  std::vector<int64_t> batches = {1, 32};  // batch sizes timed
  int warmup = 2;                          // untimed calls before timing
  int repeats = 10;                        // timed calls (the median is reported)
};

struct LatencyResult {
  int64_t batch = 0;
  double median_ms = 0;  // median wall time of one forecast call
  double min_ms = 0;
  double gflop = 0;  // one forecast's GEMM and fused-attention FLOPs (counted by the kernels), 1e9
};

struct CompareRow {
  std::string model;          // canonical registry name
  int64_t params = 0;         // trainable parameter count
  int epochs = 0;             // epochs run (early stopping may cut --train_epochs short)
  double train_s = 0;         // wall time of training (epochs with their vali/test losses)
  double epoch_train_s = 0;   // mean seconds of the optimisation loop of one epoch (no vali/test)
  Metrics metrics;            // test metrics of the best weights
  double latency_b1_ms = 0;   // median forecast latency at batch 1 (eval, no grad)
  double latency_b32_ms = 0;  // median forecast latency at batch 32
};

struct CompareOptions {
  LatencyOptions latency;                       // batches are forced to {1, 32}
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
  // Checked between training batches and between models: when it reads true the model in
  // training is dropped and compare_models returns the rows of those done.
  const std::atomic<bool>* stop = nullptr;
  // Several processes (ranks) sharing the list: rank r of N trains the models at indices i with
  // i mod N = r (round robin; the models' costs are not known before training), each as one
  // process trains it (no data parallelism), then the ranks exchange their rows (all_gather).
  // Collective: every rank calls compare_models with the same arguments (its own context and
  // stop flag) and gets the same rows. A rank whose share is empty loads no data. An error on
  // one rank leaves the others waiting in the exchange: the caller ends the job. The ranks share
  // a byte order. nullptr: this process trains every model.
  Communicator* comm = nullptr;
};

// Splits "A,B, C" into canonical names; empty entries, unknown and repeated names are errors.
std::vector<std::string> parse_model_list(const std::string& list);

// Random inputs shaped for `model` (x_enc, x_mark_enc, x_dec, x_mark_dec; undefined for the
// inputs it does not read) and times forecast() in eval mode without grad at each batch size.
std::vector<LatencyResult> forecast_latency(models::ForecastModel& model,
                                            const LatencyOptions& options, Context& ctx);

// Trains each model of `models` with `cfg` (its model field replaced) on data loaded once, tests
// it, and times its forecasts. The run writes no checkpoint. The rows follow the list's order.
// Stopped (options.stop): the rows of the models finished (on any rank, with options.comm).
std::vector<CompareRow> compare_models(const RunConfig& cfg, const std::vector<std::string>& models,
                                       Context& ctx, const CompareOptions& options = {});

// model,params,epochs,train_s,epoch_train_s,mse,mae,latency_b1_ms,latency_b32_ms (header + rows).
std::string compare_to_csv(const std::vector<CompareRow>& rows);
// A GitHub Markdown table of the same columns.
std::string compare_to_markdown(const std::vector<CompareRow>& rows);
// Writes <dir>/compare.csv and <dir>/compare.md (creating dir); returns the two paths.
std::vector<std::string> write_compare(const std::vector<CompareRow>& rows, const std::string& dir);

// One model built from `cfg` (no data: enc_in/dec_in/c_out 0 become 7, freq "auto" becomes "h"),
// its parameter count and forecast latency (`attend bench model`).
struct ModelBenchResult {
  std::string model;
  int64_t params = 0;
  std::vector<LatencyResult> latency;
};
ModelBenchResult bench_model(const RunConfig& cfg, const LatencyOptions& options, Context& ctx);

// The roofline of a training step (`attend bench model --train`): a model built from `cfg` as
// bench_model does, trained on random inputs of cfg.train.batch_size windows (forward, the loss
// of the point forecast, backward, Adam step), `repeats` timed steps after `warmup`. Per step:
// the FLOPs and core-seconds of the GEMMs and of the fused attention kernels (the kernels'
// counters), against the machine's FMA peak measured on the same threads.
struct TrainStepOptions {
  int warmup = 2;   // untimed steps first
  int repeats = 5;  // timed steps (the median step is reported)
};
struct TrainStepResult {
  std::string model;
  int64_t params = 0, batch = 0;
  int threads = 0;
  double median_ms = 0, min_ms = 0;                   // one step's wall time
  double gemm_gflop = 0, gemm_core_ms = 0;            // per step: GEMM work and core time
  double attention_gflop = 0, attention_core_ms = 0;  // per step: fused attention (fwd + bwd)
  double gemm_calls = 0;                              // per step
  double peak_gflops_per_core = 0;                    // measured FMA peak
  std::string isa;                                    // the instruction set of the peak loop
};
TrainStepResult bench_train_step(const RunConfig& cfg, const TrainStepOptions& options,
                                 Context& ctx);
// The roofline as a small table, or one JSON line.
std::string format_train_step(const RunConfig& cfg, const TrainStepResult& r, bool json);

// JSON text of a bench_model result (one line) or a small table.
std::string format_model_bench(const RunConfig& cfg, const ModelBenchResult& r, int threads,
                               bool json);

}  // namespace attend::train
