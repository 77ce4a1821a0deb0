#pragma once
// parallel_for over an index range with an explicit thread count (OpenMP), used by the
// elementwise, reduction and normalisation kernels. Runs inline when the work is too small to pay
// for waking threads. spin_until: the threads of one parallel region meeting many times without
// sleeping.
#include <algorithm>
#include <cstdint>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace attend::kernels {

constexpr int64_t kParallelMinWork = 32768;  // work units below which threads do not pay

// Calls f(begin, end) on disjoint chunks covering [0, n); `work_per_item` scales the threshold.
template <class F>
void parallel_chunks(int64_t n, int threads, int64_t work_per_item, F&& f) {
  if (threads <= 1 || n < 2 || n * work_per_item < kParallelMinWork) {
    f(int64_t{0}, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(threads, n);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) f(b, e);
  }
}

// Waits until ready() holds, for threads of one parallel region that meet once per step of a
// loop (the LSTM recurrence split by hidden units: ~40 µs a step), where an OpenMP barrier under
// OMP_WAIT_POLICY=passive would put the waiters to sleep and wake them every step. Spins with a
// pause, and after kSpinsBeforeYield pauses (~30 µs on Zen 3) yields the core at each check, so
// that a waiter whose partner was descheduled on a busy machine hands its time slice over instead
// of burning it.
template <class Ready>
void spin_until(Ready&& ready) {
  constexpr int kSpinsBeforeYield = 1024;
  for (int spins = 0; !ready(); ++spins) {
    if (spins < kSpinsBeforeYield) {
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace attend::kernels
