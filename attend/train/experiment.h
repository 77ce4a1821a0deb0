#pragma once
// Whole runs as TSLib's run.py does them: train then test into a run folder named by the setting
// string, or test a saved checkpoint. The CLI and other front ends call these.
#include <atomic>
#include <functional>
#include <string>

#include "attend/train/checkpoint.h"
#include "attend/train/trainer.h"

namespace attend::train {

struct ExperimentOptions {
  bool resume = false;                          // continue from <run>/resume/
  const std::atomic<bool>* stop = nullptr;      // checked at batch boundaries
  TrainCallbacks callbacks;                     // progress
  std::function<void(const std::string&)> log;  // one-line messages (may be empty)
  // The data in memory (a DataFrame) instead of the file cfg.data names; outlives the call.
  const data::CsvTable* table = nullptr;
  // Data-parallel training (Trainer::set_communicator): every rank calls train_and_test with the
  // same arguments; rank 0 alone writes the run folder (the others read it on --resume: a shared
  // file system). nullptr: alone.
  Communicator* comm = nullptr;
};

struct ExperimentResult {
  std::string dir;           // the run folder
  bool interrupted = false;  // stopped; <dir>/resume holds the state for --resume
  TrainResult train;
  Metrics metrics;  // test metrics (when not interrupted)
};

// The run folder: <run.checkpoints>/<setting_name(cfg)>.
std::string run_folder(const RunConfig& cfg);

// Trains (or resumes), tests, and writes the run folder (checkpoint and metrics.json) atomically.
// After each epoch but the last, and when stopped, the folder holds the checkpoint and resume/
// (weights, optimizer, state) for --resume.
ExperimentResult train_and_test(const ValidConfig& cfg, Context& ctx,
                                const ExperimentOptions& options = {});

// Tests the weights in `dir` (weights.safetensors) with the model and data of `cfg` (or the data
// of `table` when given).
Metrics test_weights(const ValidConfig& cfg, const std::string& dir, Context& ctx,
                     const data::CsvTable* table = nullptr);

}  // namespace attend::train
