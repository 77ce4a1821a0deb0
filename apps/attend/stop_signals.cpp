#include "stop_signals.h"

#include <fmt/format.h>
#include <pthread.h>

#include <cstdio>
#include <ctime>

namespace attend::cli {
namespace {

// The flags of the StopSignals alive now, for fallback_handler (one exists at a time: run_train's).
// Atomic pointers: lock-free, so safe to read in a handler while the destructor clears them.
std::atomic<std::atomic<bool>*> g_fallback_stop{nullptr};
std::atomic<std::atomic<int>*> g_fallback_signal{nullptr};

// Runs only on a thread that does not block the signals (one some library made before
// StopSignals existed: Open MPI's, under mpirun); installed also so that a SIG_IGN inherited from
// the parent (nohup, `&` in a script) does not discard them before sigtimedwait() can take them.
// The first signal only stores (the watcher prints the note); a second one after a stop takes the
// default action, as on_signal does. sigaction and raise are async-signal-safe.
void fallback_handler(int sig) {
  if (std::atomic<bool>* stop = g_fallback_stop.load(); stop && stop->load()) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    raise(sig);
    return;
  }
  if (std::atomic<int>* first = g_fallback_signal.load()) {
    int none = 0;
    first->compare_exchange_strong(none, sig);
  }
  if (std::atomic<bool>* stop = g_fallback_stop.load()) stop->store(true);
}

}  // namespace

StopSignals::StopSignals(std::string note) : note_(std::move(note)) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
  g_fallback_stop.store(&stop_);
  g_fallback_signal.store(&signal_);
  struct sigaction sa {};
  sa.sa_handler = fallback_handler;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
  // A signal already pending (sent before the command began its work) counts at once, not when
  // the watcher thread first runs, which under load can be after a short job has finished.
  const timespec now{0, 0};
  if (const int sig = sigtimedwait(&set_, nullptr, &now); sig > 0) on_signal(sig);
  watcher_ = std::thread([this] { watch(); });  // inherits the blocked mask
}

StopSignals::~StopSignals() {
  done_.store(true);
  watcher_.join();
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_fallback_stop.store(nullptr);
  g_fallback_signal.store(nullptr);
  // A signal still pending now meets the restored disposition once unblocked.
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void StopSignals::watch() {
  const timespec poll{0, 50'000'000};  // 50 ms: how soon the destructor's join returns
  while (!done_.load()) {
    const int sig = sigtimedwait(&set_, nullptr, &poll);
    if (sig > 0)
      on_signal(sig);
    else if (stop_.load() && !noted_)  // raised by fallback_handler
      print_note(signal_.load());
  }
}

void StopSignals::print_note(int sig) {
  noted_ = true;
  fmt::print(stderr, "\n{0}: {1}; {0} again quits at once\n", sig == SIGTERM ? "SIGTERM" : "Ctrl-C",
             note_);
  std::fflush(stderr);
}

void StopSignals::on_signal(int sig) {
  if (!stop_.load()) {
    signal_.store(sig);
    stop_.store(true);
    print_note(sig);
    return;
  }
  // The second one: the default action (terminate), as if attend had no handler. Nothing half
  // written is left behind: checkpoints are written to a temporary name and renamed into place.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  pthread_kill(pthread_self(), sig);
}

}  // namespace attend::cli
