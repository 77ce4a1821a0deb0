// The CLI's stop-signal watcher, in-process: SIGINT/SIGTERM are blocked in the threads training
// runs on and taken by the watcher thread alone; the previous mask and dispositions come back.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "stop_signals.h"

namespace {

bool blocked_here(int sig) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

bool wait_for(const std::atomic<bool>& flag) {
  for (int i = 0; i < 400 && !flag.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return flag.load();
}

void (*handler_of(int sig))(int) {
  struct sigaction now {};
  sigaction(sig, nullptr, &now);
  return now.sa_handler;
}

}  // namespace

TEST(StopSignals, WorkerThreadsInheritTheBlockAndTheWatcherTakesTheSignal) {
  ASSERT_FALSE(blocked_here(SIGTERM));
  const auto before = handler_of(SIGTERM);
  {
    attend::cli::StopSignals stop;
    EXPECT_TRUE(blocked_here(SIGINT));
    EXPECT_TRUE(blocked_here(SIGTERM));
    bool worker_blocks = false;
    std::thread worker([&] { worker_blocks = blocked_here(SIGINT) && blocked_here(SIGTERM); });
    worker.join();
    EXPECT_TRUE(worker_blocks);

    EXPECT_FALSE(stop.stop().load());
    EXPECT_EQ(stop.signal(), 0);
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);  // process-directed: only the watcher can take it
    ASSERT_TRUE(wait_for(stop.stop()));
    EXPECT_EQ(stop.signal(), SIGTERM);
  }
  EXPECT_FALSE(blocked_here(SIGTERM));
  EXPECT_FALSE(blocked_here(SIGINT));
  EXPECT_EQ(handler_of(SIGTERM), before);
}

TEST(StopSignals, SignalPendingBeforehandIsTaken) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  ASSERT_EQ(kill(getpid(), SIGINT), 0);  // pending, as when a parent signals before attend starts
  {
    attend::cli::StopSignals stop;
    ASSERT_TRUE(wait_for(stop.stop()));
    EXPECT_EQ(stop.signal(), SIGINT);
  }
  // the destructor restores the mask it found: SIGINT still blocked, and nothing pending
  EXPECT_TRUE(blocked_here(SIGINT));
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGINT), 0);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST(StopSignals, IgnoredByTheParentStillStops) {
  // nohup and `cmd &` in a script start attend with SIGINT ignored; kill -INT must still stop it
  struct sigaction ign {};
  struct sigaction old {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ASSERT_EQ(sigaction(SIGINT, &ign, &old), 0);
  {
    attend::cli::StopSignals stop;
    ASSERT_EQ(kill(getpid(), SIGINT), 0);
    ASSERT_TRUE(wait_for(stop.stop()));
    EXPECT_EQ(stop.signal(), SIGINT);
  }
  EXPECT_EQ(handler_of(SIGINT), SIG_IGN);
  sigaction(SIGINT, &old, nullptr);
}

// A thread made before StopSignals (as Open MPI's under mpirun) does not block the signals: the
// fallback handler takes a signal sent to it, the stop counts as the watcher's would (the watcher
// prints the note), and a second signal then takes the default action (the process ends by it).
void stop_through_a_thread_made_beforehand() {
  std::atomic<bool> done{false};
  std::thread early([&] {  // signals not blocked here
    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  {
    attend::cli::StopSignals stop;
    pthread_kill(early.native_handle(), SIGTERM);  // lands on `early`: the fallback handler
    if (!wait_for(stop.stop()) || stop.signal() != SIGTERM) _exit(3);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the watcher's note
    pthread_kill(early.native_handle(), SIGTERM);                 // the second: default action
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
  _exit(4);  // not reached
}

TEST(StopSignals, ThreadMadeBeforehandStopsThenASecondSignalQuits) {
  EXPECT_EXIT(stop_through_a_thread_made_beforehand(), ::testing::KilledBySignal(SIGTERM),
              "SIGTERM: stopping after this batch");
}
