#pragma once
// `attend explain`: seeing inside a trained model on one test window and over the test set.
// Writes into an output folder:
//   heatmaps/<role>_L<l>[_var-<name>]_{h<k>,mean}.{png,svg}  attention per layer and head
//   weights/<role>_L<l>.{npy,json}                          raw weights of the window
//   head_stats.{csv,md,json}, head_distance.{png,svg}, head_entropy.{png,svg}
//   forecast.{png,svg}, rollout.{png,svg} (what mattered, under the input series), or
//   rollout_variables.{png,svg} when the tokens are variables
//   models with variable selection (TFT): selection_<group>.{png,svg}, selection_weights.json
//   report.html (everything, images embedded)
// Roles are "encoder-self", "decoder-self" and "cross". What is drawn follows the model's own
// description (models::ForecastModel::describe). A model without attention is an error saying so;
// nothing is written.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attend/data/dataset.h"
#include "attend/models/model.h"
#include "attend/train/run_config.h"

namespace attend::explain {

struct ExplainOptions {
  std::string out;               // output folder (created when missing)
  std::optional<int64_t> index;  // test window to explain (none: from date, else window 0)
  std::string date;              // forecast origin = timestamp of the window's last input row
  int64_t max_batches = 0;       // test batches averaged for head statistics (0: all)
  std::string source;            // what is explained (checkpoint folder), shown in the report
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
  // Checked between test batches and between the parts written: when it reads true explain
  // returns there (ExplainResult::interrupted), the files written so far complete, without
  // report.html.
  const std::atomic<bool>* stop = nullptr;
  // explain_checkpoint: the data in memory (a DataFrame) instead of the file the config names.
  const data::CsvTable* table = nullptr;
};

struct ExplainResult {
  std::string report;              // path of report.html
  int64_t window = 0;              // test window explained
  int64_t origin = 0;              // its forecast origin (seconds since 1970 UTC)
  int64_t batches = 0;             // test batches averaged for head statistics
  std::vector<std::string> files;  // every file written
  bool interrupted = false;        // stopped by options.stop; report is then empty
};

// The test window named by options.index or options.date (neither: window 0; both: error).
// Errors name the bad value and the valid range.
int64_t select_window(const data::ForecastSplit& test, const ExplainOptions& options);

// Explains `model` (eval mode is set) on the test split of `data`; cfg gives label_len,
// pred_len, features and batch_size. Throws attend::Error when the model has no attention.
ExplainResult explain_model(models::ForecastModel& model, const data::ForecastData& data,
                            const train::RunConfig& cfg, const ExplainOptions& options,
                            Context& ctx);

// Loads the data named by cfg (a checkpoint's resolved config with any data flags applied) and
// the weights in checkpoint_dir, then explains.
ExplainResult explain_checkpoint(const std::string& checkpoint_dir, const train::ValidConfig& cfg,
                                 const ExplainOptions& options, Context& ctx);

// The error text for a model without attention (naming the registry's models with attention).
std::string no_attention_message(const std::string& model);

}  // namespace attend::explain
