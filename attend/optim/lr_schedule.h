#pragma once
// Learning-rate schedules stepped by the trainer: TSLib's --lradj rules once per epoch
// (utils/tools.py adjust_learning_rate) and PatchTST's 'TST' one-cycle once per batch.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "attend/optim/optimizer.h"

namespace attend::optim {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  // After training epoch `epoch` (1-based: TSLib calls adjust_learning_rate(opt, epoch + 1));
  // sets the optimizer's lr when the rule defines one for that epoch.
  virtual void epoch_end(Optimizer& opt, int epoch);
  // After each optimizer step (only per-batch schedules act).
  virtual void batch_end(Optimizer&) {}
  virtual bool per_batch() const { return false; }
  // The lr the rule sets after epoch `epoch`, or nullopt when it keeps the current one.
  virtual std::optional<double> lr_for_epoch(int) const { return std::nullopt; }
};

// TSLib's epoch rules for base lr η:
//   type1: η·0.5^(epoch−1); type2: {2: 5e-5, 4: 1e-5, 6: 5e-6, 8: 1e-6, 10: 5e-7, 15: 1e-7,
//   20: 5e-8} (other epochs keep the lr); type3: η if epoch < 3 else η·0.9^(epoch−3);
//   cosine: η/2·(1 + cos(epoch/train_epochs·π)); constant: η.
class TslibSchedule : public LrSchedule {
 public:
  TslibSchedule(std::string lradj, double base_lr, int train_epochs);
  std::optional<double> lr_for_epoch(int epoch) const override;

 private:
  std::string lradj_;
  double base_lr_;
  int train_epochs_;
};

struct OneCycleOptions {
  double max_lr = 1e-3;
  int64_t total_steps = 0;  // epochs · steps_per_epoch
  double pct_start = 0.3;
  double div_factor = 25.0;       // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;  // min lr = initial lr / final_div_factor
  bool three_phase = false;
  bool cycle_momentum = true;  // cycles SGD's momentum / Adam's beta1 inversely to the lr
  double base_momentum = 0.85;
  double max_momentum = 0.95;
};

// torch.optim.lr_scheduler.OneCycleLR with cosine annealing. Construction sets the optimizer to
// step 0 (lr = max_lr/div_factor, momentum = max_momentum); batch_end advances one step.
class OneCycleLR : public LrSchedule {
 public:
  OneCycleLR(Optimizer& opt, const OneCycleOptions& options);
  void epoch_end(Optimizer&, int) override {}
  void batch_end(Optimizer& opt) override;
  bool per_batch() const override { return true; }
  // lr and momentum at scheduler step `step` (0 = construction).
  double lr_at(int64_t step) const;
  double momentum_at(int64_t step) const;
  int64_t step_num() const { return step_; }

 private:
  struct Phase {
    double end_step;
    double lr_start, lr_end, m_start, m_end;
  };
  std::pair<double, double> at(int64_t step) const;
  OneCycleOptions options_;
  Phase phases_[3];
  int num_phases_ = 2;
  int64_t step_ = 0;
};

// The schedule for TSLib's --lradj value: type1, type2, type3, cosine, constant, or TST (one-cycle
// over train_epochs · steps_per_epoch batches, max_lr = lr, pct_start as given).
std::unique_ptr<LrSchedule> make_lr_schedule(const std::string& lradj, Optimizer& opt, double lr,
                                             int train_epochs, int64_t steps_per_epoch,
                                             double pct_start = 0.3);

}  // namespace attend::optim
