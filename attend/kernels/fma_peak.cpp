// The FMA peak loop: 16 independent accumulators (enough to cover the FMA latency × throughput of
// every x86 core: 4 cycles × 2 ports on Zen 3 and Skylake needs 8), a Highway
// (runtime-dispatched) kernel.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/fma_peak.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <omp.h>

#include <chrono>
#include <cstdint>

#include "attend/kernels/fma_peak.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// `iterations` rounds of 16 vector FMAs; returns the FLOPs done (and a value that depends on
// every accumulator, so the loop is not removed).
double FmaLoop(int64_t iterations, float* sink) {
  const hn::ScalableTag<float> d;
  const auto a = hn::Set(d, 0.999999f), b = hn::Set(d, 1e-7f);
  auto x0 = hn::Set(d, 1.0f), x1 = hn::Set(d, 1.1f), x2 = hn::Set(d, 1.2f), x3 = hn::Set(d, 1.3f);
  auto x4 = hn::Set(d, 1.4f), x5 = hn::Set(d, 1.5f), x6 = hn::Set(d, 1.6f), x7 = hn::Set(d, 1.7f);
  auto x8 = hn::Set(d, 1.8f), x9 = hn::Set(d, 1.9f), xa = hn::Set(d, 2.0f), xb = hn::Set(d, 2.1f);
  auto xc = hn::Set(d, 2.2f), xd = hn::Set(d, 2.3f), xe = hn::Set(d, 2.4f), xf = hn::Set(d, 2.5f);
  for (int64_t i = 0; i < iterations; ++i) {
    x0 = hn::MulAdd(x0, a, b), x1 = hn::MulAdd(x1, a, b), x2 = hn::MulAdd(x2, a, b);
    x3 = hn::MulAdd(x3, a, b), x4 = hn::MulAdd(x4, a, b), x5 = hn::MulAdd(x5, a, b);
    x6 = hn::MulAdd(x6, a, b), x7 = hn::MulAdd(x7, a, b), x8 = hn::MulAdd(x8, a, b);
    x9 = hn::MulAdd(x9, a, b), xa = hn::MulAdd(xa, a, b), xb = hn::MulAdd(xb, a, b);
    xc = hn::MulAdd(xc, a, b), xd = hn::MulAdd(xd, a, b), xe = hn::MulAdd(xe, a, b);
    xf = hn::MulAdd(xf, a, b);
  }
  auto s =
      hn::Add(hn::Add(hn::Add(x0, x1), hn::Add(x2, x3)), hn::Add(hn::Add(x4, x5), hn::Add(x6, x7)));
  s = hn::Add(s, hn::Add(hn::Add(hn::Add(x8, x9), hn::Add(xa, xb)),
                         hn::Add(hn::Add(xc, xd), hn::Add(xe, xf))));
  *sink = hn::GetLane(s);
  return 2.0 * 16 * static_cast<double>(hn::Lanes(d)) * static_cast<double>(iterations);
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
  double flops = 0;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
  {
    float local = 0;
    flops += HWY_DYNAMIC_DISPATCH(FmaLoop)(iterations, &local);
    if (local == 12345.0f) sink = local;  // keeps the result alive
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  FmaPeak p;
  p.threads = threads;
  p.gflops = flops / s / 1e9;
  p.gflops_per_core = p.gflops / threads;
  p.target = HWY_DYNAMIC_DISPATCH(TargetName)();
  (void)sink;
  return p;
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
