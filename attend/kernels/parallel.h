#pragma once
// Parallel regions with an explicit thread count on attend's own threads (parallel.cpp: one team
// of workers per calling thread), for the GEMM, attention, convolution, elementwise, reduction
// and normalisation kernels; they run inline when the work is too small to pay for threads.
// spin_until: the threads of one region meeting many times without sleeping.
//
// Not OpenMP: a batch-1 forward is hundreds of regions microseconds apart. Under
// OMP_WAIT_POLICY=passive libgomp's workers sleep at the end of each and every region pays a
// wake-up (60-100 µs on a VM); under its default policy they spin ~300 000 times after each, a
// core taken for a millisecond and more. A team's workers watch for the next region for up to
// 200 µs (yielding the core after the first 30), then sleep. oneDNN's GEMMs keep their OpenMP
// threads.
#include <algorithm>
#include <cstdint>
#include <thread>
#include <type_traits>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace attend::kernels {

constexpr int64_t kParallelMinWork = 32768;  // work units below which threads do not pay

// One pause of a spin-wait loop (x86's PAUSE: ~32 ns on Zen 3, easier on the sibling thread and
// the memory order machinery than a bare load loop).
inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

namespace detail {
void run_region(int threads, void (*fn)(void*, int, int), void* context);
}  // namespace detail

// Whether the calling thread runs inside a parallel region (a region opened there runs inline).
bool in_parallel_region();

// Calls f(i, n) for i in [0, n) on n = threads threads: the caller runs i = 0, the calling
// thread's team the others; returns when every call has returned (its writes visible). With
// threads <= 1, or inside a region (nested regions run inline, as OpenMP's), f(0, 1) on the
// caller. f must not throw.
template <class F>
void parallel_region(int threads, F&& f) {
  if (threads <= 1 || in_parallel_region()) {
    f(0, 1);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::run_region(
      threads, [](void* c, int i, int n) { (*static_cast<Fn*>(c))(i, n); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

// Calls f(begin, end) on disjoint chunks covering [0, n), one per thread; `work_per_item`
// scales the threshold.
template <class F>
void parallel_chunks(int64_t n, int threads, int64_t work_per_item, F&& f) {
  if (threads <= 1 || n < 2 || n * work_per_item < kParallelMinWork) {
    f(int64_t{0}, n);
    return;
  }
  const int chunks = static_cast<int>(std::min<int64_t>(threads, n));
  parallel_region(chunks, [&](int c, int count) {
    const int64_t b = n * c / count, e = n * (c + 1) / count;
    if (b < e) f(b, e);
  });
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
      cpu_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace attend::kernels
