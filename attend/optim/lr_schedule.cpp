#include "attend/optim/lr_schedule.h"

#include <cmath>
#include <numbers>

namespace attend::optim {

void LrSchedule::epoch_end(Optimizer& opt, int epoch) {
  if (auto lr = lr_for_epoch(epoch)) opt.set_lr(*lr);
}

TslibSchedule::TslibSchedule(std::string lradj, double base_lr, int train_epochs)
    : lradj_(std::move(lradj)), base_lr_(base_lr), train_epochs_(train_epochs) {
  ATTEND_CHECK(lradj_ == "type1" || lradj_ == "type2" || lradj_ == "type3" || lradj_ == "cosine" ||
                   lradj_ == "constant",
               "[lradj] unknown schedule '{}' (expected type1, type2, type3, cosine, constant or "
               "TST)",
               lradj_);
  ATTEND_CHECK(lradj_ != "cosine" || train_epochs > 0,
               "[lradj] cosine needs train_epochs > 0, got {}", train_epochs);
}

std::optional<double> TslibSchedule::lr_for_epoch(int epoch) const {
  if (lradj_ == "type1") return base_lr_ * std::pow(0.5, epoch - 1);
  if (lradj_ == "type2") {
    switch (epoch) {
      case 2:
        return 5e-5;
      case 4:
        return 1e-5;
      case 6:
        return 5e-6;
      case 8:
        return 1e-6;
      case 10:
        return 5e-7;
      case 15:
        return 1e-7;
      case 20:
        return 5e-8;
      default:
        return std::nullopt;
    }
  }
  if (lradj_ == "type3") return epoch < 3 ? base_lr_ : base_lr_ * std::pow(0.9, epoch - 3);
  if (lradj_ == "cosine")
    return base_lr_ / 2.0 *
           (1.0 + std::cos(static_cast<double>(epoch) / train_epochs_ * std::numbers::pi));
  return base_lr_;  // constant
}

OneCycleLR::OneCycleLR(Optimizer& opt, const OneCycleOptions& options) : options_(options) {
  const auto& o = options_;
  ATTEND_CHECK(o.total_steps > 0, "[OneCycleLR] total_steps must be positive, got {}",
               o.total_steps);
  ATTEND_CHECK(o.pct_start >= 0.0 && o.pct_start <= 1.0,
               "[OneCycleLR] pct_start must be in [0, 1], got {}", o.pct_start);
  const double initial = o.max_lr / o.div_factor, min_lr = initial / o.final_div_factor;
  const double total = static_cast<double>(o.total_steps);
  if (o.three_phase) {
    num_phases_ = 3;
    phases_[0] = {o.pct_start * total - 1, initial, o.max_lr, o.max_momentum, o.base_momentum};
    phases_[1] = {2 * o.pct_start * total - 2, o.max_lr, initial, o.base_momentum, o.max_momentum};
    phases_[2] = {total - 1, initial, min_lr, o.max_momentum, o.max_momentum};
  } else {
    num_phases_ = 2;
    phases_[0] = {o.pct_start * total - 1, initial, o.max_lr, o.max_momentum, o.base_momentum};
    phases_[1] = {total - 1, o.max_lr, min_lr, o.base_momentum, o.max_momentum};
  }
  opt.set_lr(lr_at(0));
  if (o.cycle_momentum) opt.set_momentum(momentum_at(0));
}

std::pair<double, double> OneCycleLR::at(int64_t step) const {
  ATTEND_CHECK(step <= options_.total_steps,
               "[OneCycleLR] tried to step {} times; the specified number of total steps is {}",
               step, options_.total_steps);
  // cos annealing from start to end as pct goes 0 -> 1
  auto anneal = [](double start, double end, double pct) {
    return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
  };
  double start_step = 0.0, s = static_cast<double>(step);
  for (int i = 0; i < num_phases_; ++i) {
    const Phase& ph = phases_[i];
    if (s <= ph.end_step || i == num_phases_ - 1) {
      double pct = (s - start_step) / (ph.end_step - start_step);
      return {anneal(ph.lr_start, ph.lr_end, pct), anneal(ph.m_start, ph.m_end, pct)};
    }
    start_step = ph.end_step;
  }
  return {0.0, 0.0};
}

double OneCycleLR::lr_at(int64_t step) const {
  return at(step).first;
}

double OneCycleLR::momentum_at(int64_t step) const {
  return at(step).second;
}

void OneCycleLR::batch_end(Optimizer& opt) {
  auto [lr, m] = at(step_ + 1);
  ++step_;
  opt.set_lr(lr);
  if (options_.cycle_momentum) opt.set_momentum(m);
}

std::unique_ptr<LrSchedule> make_lr_schedule(const std::string& lradj, Optimizer& opt, double lr,
                                             int train_epochs, int64_t steps_per_epoch,
                                             double pct_start) {
  if (lradj == "TST") {
    OneCycleOptions o;
    o.max_lr = lr;
    o.total_steps = static_cast<int64_t>(train_epochs) * steps_per_epoch;
    o.pct_start = pct_start;
    return std::make_unique<OneCycleLR>(opt, o);
  }
  return std::make_unique<TslibSchedule>(lradj, lr, train_epochs);
}

}  // namespace attend::optim
