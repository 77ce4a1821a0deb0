#pragma once
// Wall-clock time for measuring durations.
#include <chrono>

namespace attend {

// Seconds on the monotonic clock (std::chrono::steady_clock); only differences are meaningful.
inline double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace attend
