// Engine micro-benchmarks (issue: foundation):
//   - per-op overhead of small ops recorded on the tape
//   - GEMM GFLOP/s through kernels::gemm against calling the backend directly
//   - a Linear(7→32) + GELU + Linear(32→7) forward + backward step on a batch of 32
// Run: build/bench_engine --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <vector>

#include "attend/kernels/gemm.h"
#include "attend/ops/ops.h"

#if defined(ATTEND_GEMM_DNNL)
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif

namespace attend {
namespace {

// ---- per-op overhead ---------------------------------------------------------------------------
// One add of two 4-element tensors that require grad: allocation + kernel + tape node.
void BM_OpOverhead_AddOnTape(benchmark::State& state) {
  Context ctx({.threads = 1});
  Tensor a = Tensor::ones({4}, DType::F32, ctx);
  Tensor b = Tensor::ones({4}, DType::F32, ctx);
  a.set_requires_grad();
  b.set_requires_grad();
  for (auto _ : state) {
    Tensor c = add(a, b);
    benchmark::DoNotOptimize(c.data<float>());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpOverhead_AddOnTape);

// Same op with no gradient recording (inference path).
void BM_OpOverhead_AddNoGrad(benchmark::State& state) {
  Context ctx({.threads = 1});
  Tensor a = Tensor::ones({4}, DType::F32, ctx);
  Tensor b = Tensor::ones({4}, DType::F32, ctx);
  for (auto _ : state) {
    Tensor c = add(a, b);
    benchmark::DoNotOptimize(c.data<float>());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpOverhead_AddNoGrad);

// A chain of 64 tiny tape ops (mul, add, tanh) then backward: the per-op cost of forward +
// backward.
void BM_OpOverhead_ChainForwardBackward(benchmark::State& state) {
  Context ctx({.threads = 1});
  Tensor x = Tensor::ones({4}, DType::F32, ctx);
  x.set_requires_grad();
  const int ops = 64;
  for (auto _ : state) {
    Tensor h = x;
    for (int i = 0; i < ops / 4; ++i) h = tanh(add(mul(h, 0.5), h));  // 3 ops
    Tensor loss = sum(h);                                             // +1 per 48: close enough
    loss.backward();
    x.zero_grad();
  }
  state.SetItemsProcessed(state.iterations() * (ops / 4 * 3 + 1));
}
BENCHMARK(BM_OpOverhead_ChainForwardBackward);

// ---- GEMM --------------------------------------------------------------------------------------
void set_gemm_counters(benchmark::State& state, double m, double n, double k) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k * state.iterations(), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}

// args: M, N, K, threads
void BM_Gemm_Attend(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  int threads = static_cast<int>(state.range(3));
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  kernels::GemmShape s{false, false, m, n, k, k, n, n};
  for (auto _ : state) {
    kernels::gemm(s, 1.0f, a.data(), b.data(), 0.0f, c.data(), threads);
    benchmark::ClobberMemory();
  }
  set_gemm_counters(state, m, n, k);
}

#if defined(ATTEND_GEMM_DNNL)
void BM_Gemm_DirectDnnl(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  int threads = static_cast<int>(state.range(3));
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  // Same thread rule as kernels::gemm, so the comparison measures only the wrapper.
  omp_set_num_threads(2.0 * m * n * k < 8e6 ? 1 : threads);
  for (auto _ : state) {
    dnnl_sgemm('N', 'N', m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    benchmark::ClobberMemory();
  }
  set_gemm_counters(state, m, n, k);
}
#endif

void gemm_shapes(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) {
    b->Args({1024, 1024, 1024, threads});  // large square
    b->Args({512, 512, 512, threads});
    b->Args({3072, 32, 32, threads});  // skinny: Linear(32->32) on B*L = 3072 rows
    b->Args({3072, 64, 32, threads});  // FFN up-projection
    b->Args({96, 96, 64, threads});    // one attention head: Q·Kᵀ
    b->Args({32, 32, 7, threads});     // tiny: Linear(7->32) on a batch of 32
  }
  b->ArgNames({"M", "N", "K", "threads"});
}
BENCHMARK(BM_Gemm_Attend)->Apply(gemm_shapes)->UseRealTime();
#if defined(ATTEND_GEMM_DNNL)
BENCHMARK(BM_Gemm_DirectDnnl)->Apply(gemm_shapes)->UseRealTime();
#endif

// ---- small MLP training step -------------------------------------------------------------------
// Linear(7→32) + GELU + Linear(32→7), MSE against a target, backward; batch 32. args: threads
void BM_MlpStep(benchmark::State& state) {
  Context ctx({.threads = static_cast<int>(state.range(0)), .seed = 1});
  Tensor w1 = Tensor::uniform({32, 7}, -0.3, 0.3, DType::F32, ctx);
  Tensor b1 = Tensor::uniform({32}, -0.3, 0.3, DType::F32, ctx);
  Tensor w2 = Tensor::uniform({7, 32}, -0.17, 0.17, DType::F32, ctx);
  Tensor b2 = Tensor::uniform({7}, -0.17, 0.17, DType::F32, ctx);
  for (const Tensor& p : {w1, b1, w2, b2}) p.set_requires_grad();
  Tensor x = Tensor::normal({32, 7}, 0, 1, DType::F32, ctx);
  Tensor y = Tensor::normal({32, 7}, 0, 1, DType::F32, ctx);
  for (auto _ : state) {
    Tensor out = linear(gelu(linear(x, w1, b1)), w2, b2);
    Tensor loss = mse_loss(out, y);
    loss.backward();
    for (const Tensor& p : {w1, b1, w2, b2}) p.zero_grad();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MlpStep)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime();

}  // namespace
}  // namespace attend

BENCHMARK_MAIN();
