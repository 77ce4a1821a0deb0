#pragma once
// Training progress on a stream: a bar with steps/s and ETA (for terminals) or plain lines,
// one per epoch: "epoch 3/10 | train 0.4123 | val 0.5012 | test 0.4876 | lr 2.5e-04 | 12.3 s".
#include <cstdio>
#include <string>

#include "attend/train/trainer.h"

namespace attend::train {

// The per-epoch line.
std::string epoch_line(const EpochReport& r);

class ProgressPrinter {
 public:
  // bar: redraw a one-line bar after batches (when `out` is a terminal); else epoch lines and, in
  // epochs longer than plain_every seconds, a plain progress line every plain_every seconds.
  ProgressPrinter(std::FILE* out, bool bar, double plain_every = 30.0)
      : out_(out), bar_(bar), plain_every_(plain_every) {}
  // Callbacks that print to the stream; the printer must outlive the trainer's use of them.
  TrainCallbacks callbacks();
  // Ends a bar line left on screen (e.g. before an interruption message).
  void clear();

 private:
  void on_batch(int epoch, int64_t batch, int64_t batches, double loss);
  void on_epoch(const EpochReport& r);
  std::FILE* out_;
  bool bar_;
  double plain_every_;
  bool drawn_ = false;
  int epoch_ = -1;
  double epoch_start_ = 0, last_draw_ = 0;
  int64_t first_batch_ = 0;
  int epochs_ = 0;
};

}  // namespace attend::train
