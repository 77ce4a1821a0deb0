#pragma once
// parallel_for over an index range with an explicit thread count (OpenMP), used by the
// elementwise, reduction and normalisation kernels. Runs inline when the work is too small to pay
// for waking threads.
#include <algorithm>
#include <cstdint>

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

}  // namespace attend::kernels
