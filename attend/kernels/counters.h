#pragma once
// Work and time counters of the compute kernels, for the roofline of `attend bench model
// --train`: how many FLOPs the GEMMs and the fused attention kernels did, and the core-seconds
// they took. Off by default (one relaxed atomic load per kernel call); only the outermost kernel
// call counts (GEMMs inside the attention kernel are the attention's), so the counters are meant
// for one thread of control at a time.
#include <atomic>
#include <cstdint>

namespace attend::kernels {

struct KernelCounter {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> flops{0};
  std::atomic<int64_t> core_nanoseconds{0};  // wall time × threads the call used
  void reset() {
    calls = 0;
    flops = 0;
    core_nanoseconds = 0;
  }
};

KernelCounter& gemm_counter();       // kernels::gemm, float32 (2·M·N·K FLOPs)
KernelCounter& attention_counter();  // attention_forward/backward, float32 (see attention.cpp)

// Turns counting on or off (both counters).
void set_kernel_counting(bool on);

// Counts one kernel call (`flops`, run on `threads` threads) from construction to destruction,
// unless counting is off or another counted call encloses it.
class CountedCall {
 public:
  CountedCall(KernelCounter& counter, double flops, int threads);
  ~CountedCall();
  CountedCall(const CountedCall&) = delete;
  CountedCall& operator=(const CountedCall&) = delete;

 private:
  KernelCounter* counter_ = nullptr;  // null: not counted
  int64_t flops_ = 0, start_ = 0;
  int threads_ = 1;
};

}  // namespace attend::kernels
