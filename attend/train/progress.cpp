// Training progress output.
#include "attend/train/progress.h"

#include <fmt/format.h>

#include "attend/base/clock.h"

namespace attend::train {

namespace {

std::string clock_text(double s) {
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

}  // namespace

std::string epoch_line(const EpochReport& r) {
  return fmt::format("epoch {}/{} | train {:.4f} | val {:.4f} | test {:.4f} | lr {:.1e} | {:.1f} s",
                     r.epoch, r.epochs, r.train_loss, r.val_loss, r.test_loss, r.lr, r.seconds);
}

TrainCallbacks ProgressPrinter::callbacks() {
  TrainCallbacks cb;
  cb.on_batch = [this](int e, int64_t b, int64_t n, double l) { on_batch(e, b, n, l); };
  cb.on_epoch = [this](const EpochReport& r) { on_epoch(r); };
  return cb;
}

void ProgressPrinter::clear() {
  if (drawn_) {
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
    drawn_ = false;
  }
}

void ProgressPrinter::on_batch(int epoch, int64_t batch, int64_t batches, double loss) {
  const double t = now_seconds();
  if (epoch != epoch_) {
    epoch_ = epoch;
    epoch_start_ = t;
    first_batch_ = batch - 1;
    last_draw_ = bar_ ? 0 : t;
  }
  // A terminal gets the bar redrawn every 0.1 s and at the last batch; a log gets a plain line
  // every plain_every_ seconds, never at the last batch (the epoch line follows).
  const bool last = batch == batches;
  if (!bar_ && last) return;
  if (!last && t - last_draw_ < (bar_ ? 0.1 : plain_every_)) return;
  last_draw_ = t;
  const double elapsed = t - epoch_start_;
  const double done = static_cast<double>(batch - first_batch_);
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  if (!bar_) {
    const double eta_plain = rate > 0 ? static_cast<double>(batches - batch) / rate : 0.0;
    fmt::print(out_, "epoch {} | {}/{} batches | {:.1f} steps/s | ETA {} | loss {:.4f}\n", epoch,
               batch, batches, rate, clock_text(eta_plain), loss);
    std::fflush(out_);
    return;
  }
  const double eta = rate > 0 ? static_cast<double>(batches - batch) / rate : 0.0;
  const int width = 24;
  const int filled = static_cast<int>(width * batch / std::max<int64_t>(batches, 1));
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '-');
  fmt::print(out_, "\r\033[Kepoch {} [{}] {}/{} | {:.1f} steps/s | ETA {} | loss {:.4f}", epoch,
             bar, batch, batches, rate, clock_text(eta), loss);
  std::fflush(out_);
  drawn_ = true;
}

void ProgressPrinter::on_epoch(const EpochReport& r) {
  clear();
  fmt::print(out_, "{}{}\n", epoch_line(r), r.improved ? "" : " | no improvement");
  std::fflush(out_);
  epoch_ = -1;
}

}  // namespace attend::train
