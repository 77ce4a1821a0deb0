// kernels::parallel_region: every thread index runs once per region, nested regions run inline,
// each calling thread has its own team, a sleeping team wakes, and a forked child gets a new one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "attend/kernels/parallel.h"

namespace attend::kernels {
namespace {

// Runs one region of `threads` and returns how often each index ran (and checks n each time).
std::vector<int> indices_run(int threads) {
  std::vector<std::atomic<int>> runs(threads);
  std::atomic<int> bad_count{0};
  parallel_region(threads, [&](int i, int n) {
    if (n != threads || i < 0 || i >= n) {
      ++bad_count;
      return;
    }
    if (threads > 1) EXPECT_TRUE(in_parallel_region());  // one thread: inline, no region
    ++runs[i];
  });
  EXPECT_EQ(bad_count.load(), 0);
  EXPECT_FALSE(in_parallel_region());
  std::vector<int> out;
  for (auto& r : runs) out.push_back(r.load());
  return out;
}

TEST(ParallelRegion, EveryIndexRunsOnce) {
  for (int threads : {1, 2, 3, 8, 2, 5}) {  // grows the team, then regions of fewer threads
    const std::vector<int> runs = indices_run(threads);
    for (int i = 0; i < threads; ++i) EXPECT_EQ(runs[i], 1) << "thread " << i << " of " << threads;
  }
}

TEST(ParallelRegion, ThousandsOfRegionsInARow) {
  // A forward's pattern: many short regions, each's writes visible to the caller after it.
  std::vector<int64_t> sums(4, 0);
  for (int round = 0; round < 20000; ++round)
    parallel_region(1 + round % 2, [&](int i, int n) {
      for (int j = i; j < 4; j += n) sums[j] += round;
    });
  const int64_t expected = int64_t{20000} * 19999 / 2;
  for (int j = 0; j < 4; ++j) EXPECT_EQ(sums[j], expected) << j;
}

TEST(ParallelRegion, NestedRegionRunsInline) {
  std::atomic<int> inner_calls{0}, inner_n_one{0};
  parallel_region(2, [&](int, int) {
    parallel_region(4, [&](int i, int n) {
      ++inner_calls;
      if (i == 0 && n == 1) ++inner_n_one;
    });
  });
  EXPECT_EQ(inner_calls.load(), 2);
  EXPECT_EQ(inner_n_one.load(), 2);
}

TEST(ParallelRegion, WakesAfterTheTeamSlept) {
  for (int k = 0; k < 3; ++k) {
    // well past the workers' spin: they sleep on the condition variable
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::vector<int> runs = indices_run(3);
    EXPECT_EQ(runs, (std::vector<int>{1, 1, 1}));
  }
}

TEST(ParallelRegion, SeveralCallersEachWithTheirOwnTeam) {
  constexpr int kCallers = 4, kRegions = 2000;
  std::vector<int64_t> totals(kCallers, 0);
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      std::vector<int64_t> part(3, 0);
      for (int r = 0; r < kRegions; ++r) parallel_region(3, [&](int i, int) { part[i] += r; });
      totals[c] = part[0] + part[1] + part[2];
    });
  for (auto& t : callers) t.join();
  for (int c = 0; c < kCallers; ++c)
    EXPECT_EQ(totals[c], 3 * int64_t{kRegions} * (kRegions - 1) / 2);
}

TEST(ParallelRegion, WorkersTakeNoSignals) {
  // from a thread that takes every signal: the workers it starts still block SIGINT and SIGTERM
  std::thread caller([] {
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    std::atomic<int> blocked{0};
    parallel_region(3, [&](int i, int) {
      sigset_t mask;
      pthread_sigmask(SIG_BLOCK, nullptr, &mask);
      if (i > 0 && sigismember(&mask, SIGINT) == 1 && sigismember(&mask, SIGTERM) == 1) ++blocked;
    });
    EXPECT_EQ(blocked.load(), 2);
  });
  caller.join();
}

TEST(ParallelRegion, ChunksCoverTheRangeOnce) {
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{100000}}) {
    std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
    parallel_chunks(n, 3, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) ++seen[i];
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << i << " of " << n;
  }
}

TEST(ParallelRegion, UsableInAForkedChild) {
  indices_run(2);  // this thread's team exists, its worker in the parent only
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int ok = 0;
    parallel_region(2, [&](int i, int) {
      if (i == 1) ok = 1;
    });
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  // bounded: a child stuck on the parent's worker would never exit
  for (int waited = 0; waited < 100 && waitpid(pid, &status, WNOHANG) == 0; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "the forked child's region did not finish in 5 s";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace attend::kernels
