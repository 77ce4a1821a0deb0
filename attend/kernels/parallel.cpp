#include "attend/kernels/parallel.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace attend::kernels {
namespace {

thread_local bool t_in_region = false;

// Bumped in a forked child, where the parent's workers do not exist: its teams start afresh.
std::atomic<uint64_t> g_forks{0};

// Every signal blocked on the calling thread for the scope's life (threads started meanwhile
// inherit the mask).
class BlockSignals {
 public:
  BlockSignals() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~BlockSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  BlockSignals(const BlockSignals&) = delete;
  BlockSignals& operator=(const BlockSignals&) = delete;

 private:
  sigset_t old_;
};

// One calling thread's workers. A region is published as one atomic word, generation << 8 |
// thread count, after its function and context; worker w (1-based) runs it when w < count and
// then decrements `pending_`, on which the caller waits. An idle worker watches the word for
// kSpin, then sleeps on the condition variable until the next region.
class Team {
 public:
  // After a region a worker watches for the next with pauses (~32 ns each on Zen 3) for
  // kPauseOnly, then yields its core between checks up to kSpin, then sleeps: a forward's regions
  // (microseconds apart) find it awake, while a sleeping worker takes 60-100 µs to wake on a VM
  // (docs/benchmarks.md). The yields hand the core to any other thread that wants it.
  static constexpr auto kPauseOnly = std::chrono::microseconds(30);
  static constexpr auto kSpin = std::chrono::microseconds(200);
  static constexpr int kMaxThreads = 255;  // the count's 8 bits

  Team() = default;
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  ~Team() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      word_.store(kStop, std::memory_order_seq_cst);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  void run(int n, void (*fn)(void*, int, int), void* context) {
    n = std::min(n, kMaxThreads);
    if (static_cast<int>(workers_.size()) < n - 1) {
      // Workers take no asynchronous signal: a handler's frame must never land on a thread in a
      // kernel (docs/architecture.md, Training and CLI), whatever the caller's mask.
      const BlockSignals blocked;  // the caller's mask back even if a thread cannot start
      while (static_cast<int>(workers_.size()) < n - 1) {
        const int w = static_cast<int>(workers_.size()) + 1;
        const uint64_t seen = word_.load(std::memory_order_relaxed);
        workers_.emplace_back([this, w, seen] { work(w, seen); });
      }
    }
    fn_ = fn;
    context_ = context;
    pending_.store(n - 1, std::memory_order_relaxed);
    const uint64_t generation = (word_.load(std::memory_order_relaxed) >> 8) + 1;
    word_.store(generation << 8 | static_cast<uint64_t>(n), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { const std::lock_guard<std::mutex> lock(mutex_); }  // a sleeper past its check now waits
      wake_.notify_all();
    }
    t_in_region = true;
    fn(context, 0, n);
    t_in_region = false;
    // Pauses while the workers finish their shares; soon yields, so that a worker woken onto
    // this core (the scheduler's choice when the other is idle on a VM) runs.
    for (int checks = 1; pending_.load(std::memory_order_acquire) != 0; ++checks) {
      if (checks % 64 != 0)
        cpu_pause();
      else
        std::this_thread::yield();
    }
  }

  uint64_t forks = g_forks.load();  // g_forks when this team was made

 private:
  void work(int w, uint64_t seen) {
    t_in_region = true;
    for (;;) {
      const uint64_t word = await(seen);
      if (word == kStop) return;
      seen = word;
      const int n = static_cast<int>(word & 0xff);
      if (w < n) {
        fn_(context_, w, n);
        pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  // The word once it differs from `seen`.
  uint64_t await(uint64_t seen) {
    const auto start = std::chrono::steady_clock::now();
    for (int checks = 1;; ++checks) {
      const uint64_t word = word_.load(std::memory_order_acquire);
      if (word != seen) return word;
      if (checks % 64 != 0) {
        cpu_pause();
        continue;
      }
      const auto waited = std::chrono::steady_clock::now() - start;
      if (waited > kSpin) break;
      if (waited > kPauseOnly) std::this_thread::yield();
    }
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return word_.load(std::memory_order_acquire) != seen; });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return word_.load(std::memory_order_acquire);
  }

  static constexpr uint64_t kStop = ~uint64_t{0};
  std::vector<std::thread> workers_;
  void (*fn_)(void*, int, int) = nullptr;
  void* context_ = nullptr;
  alignas(64) std::atomic<uint64_t> word_{0};
  alignas(64) std::atomic<int> pending_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};

thread_local std::unique_ptr<Team> t_team;

Team& team() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { g_forks.fetch_add(1); });
    return true;
  }();
  (void)registered;
  if (t_team && t_team->forks != g_forks.load(std::memory_order_relaxed))
    (void)t_team.release();  // a forked child: the workers, mutex and all stay the parent's
  if (!t_team) t_team = std::make_unique<Team>();
  return *t_team;
}

}  // namespace

bool in_parallel_region() {
  return t_in_region;
}

namespace detail {
void run_region(int threads, void (*fn)(void*, int, int), void* context) {
  team().run(threads, fn, context);
}
}  // namespace detail

}  // namespace attend::kernels
