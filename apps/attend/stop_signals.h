// SIGINT (Ctrl-C) and SIGTERM (kill, a scheduler's time limit) while training: the trainer stops at
// the next batch boundary and saves its state for --resume; a second signal quits at once.
//
// The signals are blocked in every thread and taken by one watcher thread with sigtimedwait(), so
// no compute thread is ever interrupted by a handler. It must not be: oneDNN's JIT f32 GEMM points
// rsp into a heap workspace while it runs, so a signal frame pushed then corrupts the heap (oneDNN
// issue #4845; docs/architecture.md).
#pragma once

#include <signal.h>

#include <atomic>
#include <string>
#include <thread>

namespace attend::cli {

class StopSignals {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread and starts the watcher. Construct it before
  // any worker thread (OpenMP, oneDNN) starts: threads inherit the mask of the thread that makes
  // them. A signal already pending (sent before attend started) is taken at once. `note` says on
  // stderr what the first signal does.
  explicit StopSignals(std::string note = "stopping after this batch to save the state");
  // Stops the watcher, then restores the previous dispositions and the calling thread's mask.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Reads true once a stop signal arrived; the flag for ExperimentOptions::stop.
  const std::atomic<bool>& stop() const { return stop_; }
  // The first stop signal received (SIGINT or SIGTERM), 0 if none.
  int signal() const { return signal_.load(); }

 private:
  void watch();
  void on_signal(int sig);
  void print_note(int sig);

  std::string note_;
  sigset_t set_{};
  sigset_t old_mask_{};
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  std::atomic<bool> stop_{false};
  std::atomic<int> signal_{0};
  std::atomic<bool> done_{false};
  bool noted_ = false;  // the note printed (on_signal and the watcher only)
  std::thread watcher_;
};

}  // namespace attend::cli
