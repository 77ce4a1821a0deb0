#include "attend/kernels/counters.h"

#include <chrono>

namespace attend::kernels {

namespace {

std::atomic<bool> counting{false};
std::atomic<int> depth{0};  // counted calls in progress (a nested one is not counted)

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

KernelCounter& gemm_counter() {
  static KernelCounter c;
  return c;
}

KernelCounter& attention_counter() {
  static KernelCounter c;
  return c;
}

void set_kernel_counting(bool on) {
  counting.store(on, std::memory_order_relaxed);
}

CountedCall::CountedCall(KernelCounter& counter, double flops, int threads) {
  if (!counting.load(std::memory_order_relaxed)) return;
  if (depth.fetch_add(1, std::memory_order_relaxed) != 0) {
    depth.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  counter_ = &counter;
  flops_ = static_cast<int64_t>(flops);
  threads_ = threads < 1 ? 1 : threads;
  start_ = now_ns();
}

CountedCall::~CountedCall() {
  if (!counter_) return;
  const int64_t elapsed = now_ns() - start_;
  counter_->calls.fetch_add(1, std::memory_order_relaxed);
  counter_->flops.fetch_add(flops_, std::memory_order_relaxed);
  counter_->core_nanoseconds.fetch_add(elapsed * threads_, std::memory_order_relaxed);
  depth.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace attend::kernels
