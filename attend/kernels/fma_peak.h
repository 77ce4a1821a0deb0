#pragma once
// The machine's float32 FMA peak as attend can reach it: independent fused multiply-adds on the
// widest vectors Highway dispatches to (AVX2: 8 lanes, AVX-512: 16), no memory traffic.
namespace attend::kernels {

struct FmaPeak {
  double gflops = 0;           // FLOP/s / 1e9 over all threads (an FMA is 2 FLOPs)
  double gflops_per_core = 0;  // gflops / threads
  int threads = 0;
  const char* target = "";  // the instruction set measured ("AVX2", "AVX3" = AVX-512, ...)
};

// Runs the FMA loop for about `seconds` on `threads` threads (each its own loop), in five trials:
// the best trial's mean per-thread rate over each thread's own CPU time (a shared machine's
// descheduling does not lower it).
FmaPeak measure_fma_peak(int threads, double seconds = 0.2);

}  // namespace attend::kernels
