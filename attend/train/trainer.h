#pragma once
// Trainer: TSLib's exp_long_term_forecast loop for a ForecastModel. Adam(lr), the --lradj schedule
// (after each epoch: adjust_learning_rate(epoch + 1); TST per batch), early stopping on the
// validation loss with the best weights kept in memory and reloaded at the end, vali/test loss in
// eval mode without grad, test metrics on the scaled (or, with inverse, original) values.
// Stoppable at a batch boundary through an atomic flag, with a resumable state.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attend/data/dataset.h"
#include "attend/data/loader.h"
#include "attend/models/model.h"
#include "attend/optim/adam.h"
#include "attend/optim/lr_schedule.h"
#include "attend/train/distributed.h"
#include "attend/train/early_stopping.h"
#include "attend/train/metrics.h"
#include "attend/train/run_config.h"

namespace attend::train {

struct EpochReport {
  int epoch = 0;   // 1-based
  int epochs = 0;  // --train_epochs
  double train_loss = 0, val_loss = 0, test_loss = 0;
  double lr = 0;       // lr used during the epoch
  double seconds = 0;  // wall time of the epoch (training + vali + test)
  bool improved = false;
};

struct TrainCallbacks {
  // After each optimizer step: epoch (1-based), batch (1-based), batches per epoch, batch loss.
  std::function<void(int epoch, int64_t batch, int64_t batches, double loss)> on_batch;
  // After each epoch's validation.
  std::function<void(const EpochReport&)> on_epoch;
  // After each epoch but the last, once the position is the next epoch's first batch (the
  // learning rate adjusted): a state write_resume() saves here resumes exactly.
  std::function<void()> on_epoch_boundary;
};

struct TrainResult {
  bool interrupted = false;    // stopped by the stop flag; save_resume() keeps the position
  bool early_stopped = false;  // patience exhausted
  int epochs_run = 0;          // completed epochs
  std::vector<EpochReport> history;
};

// Predictions of one split: (windows, pred_len, channels) after the f_dim slice.
struct Predictions {
  std::vector<float> preds, trues;
  std::vector<uint8_t> observed;  // same layout: 0 where the truth was missing (mask); or empty
  int64_t windows = 0, pred_len = 0, channels = 0;
  int64_t first_channel = 0;  // data channel of the first predicted channel (f_dim)
  // Quantile models: (windows, pred_len, channels, Q) sorted along Q at `levels`; else empty.
  std::vector<float> quantiles;
  std::vector<double> levels;
};

// Maps p (predictions of `split` of `data`) to original units in place: x * scale[c] + mean[c]
// with c = first_channel + k and each window's series' scaler; unchanged when the data is not
// scaled.
void to_original_units(Predictions& p, const data::ForecastData& data,
                       const data::ForecastSplit& split);

// One batch's forecast against its target: (B, pred_len, channels) each, and the target's
// observed flags (undefined when every value counts); quantile models also give the quantile
// outputs (B, pred_len, channels, Q) as the model computes them (undefined for a point model).
struct BatchForecast {
  Tensor pred, target, observed, quantiles;
};

class Trainer {
 public:
  // Loads the data cfg names and builds the model in ctx from cfg.train.seed.
  Trainer(const ValidConfig& cfg, Context& ctx);
  // Same with data already loaded (from cfg.data and cfg.model's sample shape).
  Trainer(const ValidConfig& cfg, std::shared_ptr<const data::ForecastData> data, Context& ctx);

  // The config resolved against the data (see resolve()).
  const RunConfig& config() const { return cfg_; }
  const data::ForecastData& data() const { return *data_; }
  models::ForecastModel& model() { return *model_; }
  optim::Optimizer& optimizer() { return *optimizer_; }
  Context& context() { return ctx_; }

  // The flag checked before every batch; when it reads true training stops there (with a
  // communicator: when it reads true on any rank, every rank stops at that batch).
  void set_stop_flag(const std::atomic<bool>* flag) { stop_ = flag; }
  // Data-parallel training (distributed.h, docs/distributed.md): this process is rank
  // comm->rank() of comm->size(); nullptr or one rank: alone. Every rank makes its Trainer with the
  // same config and calls the same methods in the same order: train, evaluate_loss, predict and
  // the tests are then collective, each rank computes its share of every batch
  // (batch_share) and all get the results one process gets on the whole batch (to rounding).
  // The caller lets one rank write files (write_checkpoint, write_resume).
  void set_communicator(Communicator* comm) { comm_ = comm; }
  bool distributed() const { return comm_ && comm_->size() > 1; }
  void set_callbacks(TrainCallbacks callbacks) { callbacks_ = std::move(callbacks); }

  // Trains from the current position (epoch 0, or where load_resume left off) to the end or to
  // early stopping, then reloads the best weights; returns early when the stop flag is set.
  TrainResult train();
  // Mean of per-batch losses over a split, eval mode, no grad (TSLib's vali).
  double evaluate_loss(std::string_view split);
  // Predictions over a split in order (eval mode, no grad); inverse: original units.
  Predictions predict(std::string_view split, bool inverse);
  // Test metrics on the test split (TSLib's test()), over the observed values.
  Metrics test(bool inverse);
  // Test metrics per series (long format; one entry for wide data), in series order.
  std::vector<Metrics> test_per_series(bool inverse);

  // Loads weights (TSLib state_dict names) from a safetensors file.
  void load_weights(const std::string& path);
  // Writes the model checkpoint (weights, config.json, scaler.json) into an existing folder.
  void write_checkpoint(const std::string& dir) const;
  // Writes the resumable state into an existing folder: weights, best weights, optimizer,
  // state.json (epoch, batch, partial losses, early stopping, schedule, RNG, history).
  void write_resume(const std::string& dir) const;
  // Restores what write_resume wrote; the config must match (differences are listed).
  void load_resume(const std::string& dir);

  // Current 0-based epoch and the next batch within it.
  int epoch() const { return epoch_; }
  int64_t batch() const { return batch_; }
  int64_t batches_per_epoch() const { return train_loader_.num_batches(); }
  bool has_best() const { return !best_.empty(); }

 private:
  void init();
  // One optimizer step on batch_ of the epoch; returns the batch loss.
  double step();
  // The same on this rank's share of the batch, the gradients summed over the ranks.
  double step_distributed();
  // Whether to stop before this batch (agreed by every rank).
  bool stop_requested();
  // Distributed evaluation: the rows this rank computes of a batch of `windows`, and whether it
  // counts them (no rank has an empty share; see eval_share).
  struct EvalShare {
    BatchShare rows;
    bool counts = true;
  };
  EvalShare eval_share(int64_t windows) const;
  // Fail unless every rank drew `drawn` random counters (sum_over_ranks is their sum).
  void check_same_draws(double sum_over_ranks, double drawn) const;
  // Fail when the batch loss or a gradient is not finite.
  void check_loss(double loss) const;
  void check_gradients() const;
  // Predictions of every window of the loader, each rank forecasting its shares (distributed).
  void gather_predictions(const data::ForecastSplit& split, const data::BatchLoader& loader,
                          Predictions& p);
  // outputs[:, -pred_len:, f_dim:] and batch_y[:, -pred_len:, f_dim:] of one batch.
  BatchForecast forward(const data::Batch& batch);
  // The --loss of pred against target; with observed flags, the mean over the observed values.
  Tensor criterion(const BatchForecast& f) const;
  void make_schedule();

  RunConfig cfg_;
  Context& ctx_;
  std::shared_ptr<const data::ForecastData> data_;
  std::shared_ptr<models::ForecastModel> model_;
  std::unique_ptr<optim::Adam> optimizer_;
  std::unique_ptr<optim::LrSchedule> schedule_;
  data::BatchLoader train_loader_, val_loader_, test_loader_;
  EarlyStopping early_stopping_;
  std::map<std::string, Tensor> best_;  // best weights (copies), empty before the first vali
  const std::atomic<bool>* stop_ = nullptr;
  Communicator* comm_ = nullptr;
  std::vector<float> grad_f32_;  // gradients summed over the ranks, flat
  std::vector<double> grad_f64_;
  TrainCallbacks callbacks_;
  // position
  int epoch_ = 0;
  int64_t batch_ = 0;
  int64_t schedule_steps_ = 0;
  std::vector<double> epoch_losses_;
  double epoch_seconds_ = 0;
  bool finished_ = false;
  std::vector<EpochReport> history_;
};

}  // namespace attend::train
