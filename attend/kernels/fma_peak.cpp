// The FMA peak loop: 12 independent accumulators, enough to cover the FMA latency × throughput
// of every x86 core (4 cycles × 2 ports on Zen 3 and Skylake needs 8), and with the two operands
// 14 vector registers: AVX2 has 16 (16 accumulators spilled to the stack and measured one FMA a
// cycle, half of Zen 3's peak). A Highway (runtime-dispatched) kernel.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/fma_peak.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "attend/kernels/fma_peak.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// `iterations` rounds of 12 vector FMAs; returns the FLOPs done (and a value that depends on
// every accumulator, so the loop is not removed).
double FmaLoop(int64_t iterations, float* sink) {
  const hn::ScalableTag<float> d;
  const auto a = hn::Set(d, 0.999999f), b = hn::Set(d, 1e-7f);
  auto x0 = hn::Set(d, 1.0f), x1 = hn::Set(d, 1.1f), x2 = hn::Set(d, 1.2f), x3 = hn::Set(d, 1.3f);
  auto x4 = hn::Set(d, 1.4f), x5 = hn::Set(d, 1.5f), x6 = hn::Set(d, 1.6f), x7 = hn::Set(d, 1.7f);
  auto x8 = hn::Set(d, 1.8f), x9 = hn::Set(d, 1.9f), xa = hn::Set(d, 2.0f), xb = hn::Set(d, 2.1f);
  for (int64_t i = 0; i < iterations; ++i) {
    x0 = hn::MulAdd(x0, a, b), x1 = hn::MulAdd(x1, a, b), x2 = hn::MulAdd(x2, a, b);
    x3 = hn::MulAdd(x3, a, b), x4 = hn::MulAdd(x4, a, b), x5 = hn::MulAdd(x5, a, b);
    x6 = hn::MulAdd(x6, a, b), x7 = hn::MulAdd(x7, a, b), x8 = hn::MulAdd(x8, a, b);
    x9 = hn::MulAdd(x9, a, b), xa = hn::MulAdd(xa, a, b), xb = hn::MulAdd(xb, a, b);
  }
  auto s =
      hn::Add(hn::Add(hn::Add(x0, x1), hn::Add(x2, x3)), hn::Add(hn::Add(x4, x5), hn::Add(x6, x7)));
  s = hn::Add(s, hn::Add(hn::Add(x8, x9), hn::Add(xa, xb)));
  *sink = hn::GetLane(s);
  return 2.0 * 12 * static_cast<double>(hn::Lanes(d)) * static_cast<double>(iterations);
}

const char* TargetName() {
  return hwy::TargetName(HWY_TARGET);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(FmaLoop);
HWY_EXPORT(TargetName);

namespace {

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

FmaPeak measure_fma_peak(int threads, double seconds) {
  threads = threads < 1 ? omp_get_max_threads() : threads;
  // Calibrate the iteration count on one thread, then time every thread running it at once.
  float sink = 0;
  int64_t iterations = 1 << 16;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    HWY_DYNAMIC_DISPATCH(FmaLoop)(iterations, &sink);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > seconds / 4 || iterations > (int64_t{1} << 40)) {
      iterations = static_cast<int64_t>(static_cast<double>(iterations) * seconds / s) + 1;
      break;
    }
    iterations *= 4;
  }
  // Each thread's rate over its own CPU time (CLOCK_THREAD_CPUTIME_ID), so that time the thread
  // was descheduled by other work on a shared machine does not count; the best of five trials.
  double best_per_core = 0;
  for (int trial = 0; trial < 5; ++trial) {
    double rate_sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : rate_sum)
    {
      float local = 0;
      const double c0 = thread_cpu_seconds();
      const double flops = HWY_DYNAMIC_DISPATCH(FmaLoop)(iterations / 5 + 1, &local);
      const double c1 = thread_cpu_seconds();
      rate_sum += c1 > c0 ? flops / (c1 - c0) / 1e9 : 0.0;
      if (local == 12345.0f) sink = local;  // keeps the result alive
    }
    best_per_core = std::max(best_per_core, rate_sum / threads);
  }
  FmaPeak p;
  p.threads = threads;
  p.gflops_per_core = best_per_core;
  p.gflops = best_per_core * threads;
  p.target = HWY_DYNAMIC_DISPATCH(TargetName)();
  (void)sink;
  return p;
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
