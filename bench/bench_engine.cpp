// Engine micro-benchmarks (issue: foundation):
//   - per-op overhead of small ops recorded on the tape
//   - GEMM GFLOP/s through kernels::gemm against calling the backend directly, and attend's
//     small-product kernel against the backend on one thread
//   - a Linear(7→32) + GELU + Linear(32→7) forward + backward step on a batch of 32
//   - TCN's causal convolution kernels (channels-last, fused ReLU): forward + backward, and its
//     three GEMMs alone
//   - the fused ops over their kernels: attention, an LSTM layer, layer norm (forward, and forward
//     + backward)
//   - the cost of opening a parallel region: attend's team against an OpenMP region
// Run: build/bench_engine --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <vector>

#include "attend/kernels/conv1d.h"
#include "attend/kernels/gemm.h"
#include "attend/kernels/gemm_small.h"
#include "attend/kernels/parallel.h"
#include "attend/ops/attention.h"
#include "attend/ops/ops.h"

#include <omp.h>
#if defined(ATTEND_GEMM_DNNL)
#include <oneapi/dnnl/dnnl.h>
#else
#include <cblas.h>
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

// attend's small-product kernel against the backend on one thread, the same operands. args: M, N,
// K, trans_b (0: B is (K, N); 1: B is (N, K), a Linear's weight or an attention head's K),
// kernel (0: kernels::detail::gemm_small, 1: the backend called directly). The shapes: a
// Transformer's batch-1 forecast at d_model 64 (projections, Q·Kᵀ and P·V of a 16-wide head, the
// FFN), then squares from 32 to 256 that place small_gemm_preferred's limit.
void BM_GemmSmallVsBackend(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  bool trans_b = state.range(3) != 0;
  bool backend = state.range(4) != 0;
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.01f * static_cast<float>(i % 97);
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.02f * static_cast<float>(i % 89) - 0.8f;
  kernels::GemmShape s{false, trans_b, m, n, k, k, trans_b ? k : n, n};
  omp_set_num_threads(1);
  for (auto _ : state) {
    if (!backend) {
      kernels::detail::gemm_small(s, 1.0f, a.data(), b.data(), 0.0f, c.data());
    } else {
#if defined(ATTEND_GEMM_DNNL)
      dnnl_sgemm('N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a.data(), k, b.data(), s.ldb, 0.0f,
                 c.data(), n);
#else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                  a.data(), k, b.data(), s.ldb, 0.0f, c.data(), n);
#endif
    }
    benchmark::ClobberMemory();
  }
  set_gemm_counters(state, m, n, k);
}
void gemm_small_shapes(benchmark::internal::Benchmark* b) {
  const int64_t shapes[][4] = {{96, 64, 64, 1},    {96, 96, 16, 1},    {96, 16, 96, 0},
                               {96, 64, 128, 1},   {96, 128, 64, 1},   {144, 64, 64, 1},
                               {96, 7, 64, 1},     {32, 32, 32, 1},    {64, 64, 64, 0},
                               {64, 64, 64, 1},    {96, 96, 96, 0},    {96, 96, 96, 1},
                               {1024, 96, 96, 1},  {128, 128, 128, 0}, {128, 128, 128, 1},
                               {256, 256, 256, 0}, {256, 256, 256, 1}, {3072, 32, 32, 1}};
  for (const auto& sh : shapes)
    for (int backend : {0, 1}) b->Args({sh[0], sh[1], sh[2], sh[3], backend});
  b->ArgNames({"M", "N", "K", "trans_b", "backend"});
}
BENCHMARK(BM_GemmSmallVsBackend)->Apply(gemm_small_shapes)->UseRealTime();

// An LSTM step's recurrent product, gates (B, 4H) += h (B, H) · W_hhᵀ with W_hh (4H, H): the
// backend (which packs W_hh inside every call) against pack_b once + gemm_packed_b per step. One
// thread. args: B, H, packed
void BM_RecurrentProduct(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = 4 * k;
  const bool packed = state.range(2) != 0;
  std::vector<float> a(m * k), w(n * k), c(m * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.01f * static_cast<float>(i % 97);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.02f * static_cast<float>(i % 89) - 0.8f;
  std::vector<float> wp(kernels::packed_b_floats(k, n));
  kernels::pack_b(true, k, n, w.data(), k, wp.data());
  const kernels::GemmShape s{false, true, m, n, k, k, k, n};
  omp_set_num_threads(1);
  for (auto _ : state) {
    if (packed)
      kernels::gemm_packed_b(false, m, n, k, 1.0f, a.data(), k, wp.data(), 1.0f, c.data(), n, 1);
    else
      kernels::gemm(s, 1.0f, a.data(), w.data(), 1.0f, c.data(), 1);
    benchmark::ClobberMemory();
  }
  set_gemm_counters(state, m, n, k);
}
BENCHMARK(BM_RecurrentProduct)
    ->ArgsProduct({{1, 2, 4, 8, 16, 32, 64}, {32, 64, 128, 512}, {0, 1}})
    ->ArgNames({"B", "H", "packed"})
    ->UseRealTime();

// A Linear's product at inference, y (M, N) = x (M, K) · Wᵀ with W (N, K) as nn::Linear stores
// it, over 16 distinct weights in turn (cold, as a model's forward meets them): the backend (which
// packs W inside every call) against W packed once (PackedWeights). One thread.
// args: M, N, K, packed
void BM_LinearPackedVsBackend(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const bool packed = state.range(3) != 0;
  constexpr int kWeights = 16;
  std::vector<std::vector<float>> w(kWeights), wp(kWeights);
  for (int i = 0; i < kWeights; ++i) {
    w[i].assign(n * k, 0.01f * static_cast<float>(i + 1));
    wp[i].resize(kernels::packed_b_floats(k, n));
    kernels::pack_b(true, k, n, w[i].data(), k, wp[i].data());
  }
  std::vector<float> x(m * k, 0.02f), y(m * n);
  const kernels::GemmShape s{false, true, m, n, k, k, k, n};
  omp_set_num_threads(1);
  for (auto _ : state) {
    for (int i = 0; i < kWeights; ++i) {
      if (packed)
        kernels::gemm_packed_b(false, m, n, k, 1.0f, x.data(), k, wp[i].data(), 0.0f, y.data(), n,
                               1);
      else
        kernels::gemm(s, 1.0f, x.data(), w[i].data(), 0.0f, y.data(), 1);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kWeights);  // items: products
}
BENCHMARK(BM_LinearPackedVsBackend)
    ->ArgsProduct({{1, 11, 32, 84, 256, 1024, 3072}, {512, 2048}, {512}, {0, 1}})
    ->Args({11, 512, 2048, 0})
    ->Args({11, 512, 2048, 1})
    ->Args({84, 512, 2048, 0})
    ->Args({84, 512, 2048, 1})
    ->ArgNames({"M", "N", "K", "packed"})
    ->UseRealTime();

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

// ---- TCN convolution ---------------------------------------------------------------------------
// TCN's conv2 at compare_torch.py's size: x (32, 96, 64) channels-last, 64 -> 64 channels, K 3,
// causal with dilation `range(0)`, fused ReLU. Kernel level (no tape): forward, then the backward
// reading the forward's im2col matrix. Items: convolutions (forward + backward).
void BM_Conv1dTcnKernels(benchmark::State& state) {
  const int64_t d = state.range(0);
  kernels::Conv1dShape s{32, 64, 96, 64, 3, 1, 2 * d, d, 1, 0, true, true};
  const int64_t ny = s.n * s.l_out() * s.c_out;
  std::vector<float> x(s.n * s.l_in * s.c_in, 0.5f), w(s.c_out * s.c_in * s.k, 0.01f),
      b(s.c_out, 0.1f), y(ny), dy(ny, 1.f), dx(x.size()), dw(w.size()), db(b.size()),
      fwd(s.scratch_size()), bwd(s.scratch_size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7) - 3.f;
  for (auto _ : state) {
    kernels::conv1d_forward(s, x.data(), w.data(), b.data(), y.data(), fwd.data(), 1);
    kernels::conv1d_backward(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(),
                             bwd.data(), 1, static_cast<const float*>(fwd.data()),
                             static_cast<const float*>(y.data()));
    benchmark::DoNotOptimize(dx.data());
  }
  state.SetItemsProcessed(state.iterations());
  // forward + dW + dX: 3 GEMMs of 2·N·L·C_out·C_in·K flops
  state.counters["GFLOP/s"] =
      benchmark::Counter(3.0 * 2 * s.n * s.l_out() * s.c_out * s.c_in * s.k * state.iterations(),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Conv1dTcnKernels)->Arg(1)->Arg(2)->ArgName("dilation")->UseRealTime();

// The three GEMMs of that convolution alone (rows = N·L_out 3072, C 64, K·C_in 192), as
// conv1d_forward / conv1d_backward call them channels-last — 0: Y = col · W'ᵀ, 1: dW' = dYᵀ · col,
// 2: dcol = dY · W' — and 3: the forward as the channels-first path lays it out, Yᵀ = W · B with
// B = colᵀ (K·C_in, N·L_out).
void BM_Conv1dTcnGemms(benchmark::State& state) {
  const int64_t rows = 32 * 96, c = 64, kk = 192;
  std::vector<float> col(rows * kk, 0.1f), w(c * kk, 0.01f), dy(rows * c, 1.f), y(rows * c),
      dcol(rows * kk), dw(c * kk);
  const kernels::GemmShape shapes[] = {{false, true, rows, c, kk, kk, kk, c},
                                       {true, false, c, kk, rows, c, kk, kk},
                                       {false, false, rows, kk, c, c, kk, kk},
                                       {false, false, c, rows, kk, kk, rows, rows}};
  const int which = static_cast<int>(state.range(0));
  const kernels::GemmShape& s = shapes[which];
  for (auto _ : state) {
    switch (which) {
      case 0:
        kernels::gemm(s, 1.f, col.data(), w.data(), 0.f, y.data(), 1);
        break;
      case 1:
        kernels::gemm(s, 1.f, dy.data(), col.data(), 0.f, dw.data(), 1);
        break;
      case 2:
        kernels::gemm(s, 1.f, dy.data(), w.data(), 0.f, dcol.data(), 1);
        break;
      default:
        kernels::gemm(s, 1.f, w.data(), col.data(), 0.f, y.data(), 1);
    }
    benchmark::ClobberMemory();
  }
  set_gemm_counters(state, static_cast<double>(rows), static_cast<double>(c),
                    static_cast<double>(kk));
}
BENCHMARK(BM_Conv1dTcnGemms)->DenseRange(0, 3)->ArgName("gemm")->UseRealTime();

// ---- fused ops ---------------------------------------------------------------------------------
// Forward only (inference: no tape), or forward + backward (the op's gradient seeded with ones).
void run_op(benchmark::State& state, bool backward, const std::vector<Tensor>& leaves,
            const std::function<Tensor()>& op) {
  for (auto _ : state) {
    if (!backward) {
      NoGradGuard no_grad;
      Tensor y = op();
      benchmark::DoNotOptimize(y.raw_data());
      continue;
    }
    Tensor y = op();
    y.backward(Tensor::ones(y.shape(), y.dtype(), y.context()));
    for (const Tensor& t : leaves) t.zero_grad();
  }
  state.SetItemsProcessed(state.iterations());
}

// Self-attention on one thread, q, k, v read in place from (B, L, H, D) projections as the models
// do. args: B, H, L, D, backward. L 12, D 16 takes the row-wise kernel, the others the tiles.
void BM_AttentionOp(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1), L = state.range(2), D = state.range(3);
  Context ctx({.threads = 1, .seed = 1});
  std::vector<Tensor> qkv;
  for (int i = 0; i < 3; ++i)
    qkv.push_back(Tensor::normal({B, L, H, D}, 0, 1, DType::F32, ctx)
                      .as_strided({B, H, L, D}, {L * H * D, D, H * D, 1}, 0)
                      .set_requires_grad());
  run_op(state, state.range(4), qkv,
         [&] { return scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]).output; });
}
BENCHMARK(BM_AttentionOp)
    ->Args({32, 8, 12, 16, 0})
    ->Args({32, 8, 12, 16, 1})
    ->Args({32, 8, 96, 64, 0})
    ->Args({32, 8, 96, 64, 1})
    ->Args({4, 8, 336, 64, 1})
    ->ArgNames({"B", "H", "L", "D", "backward"})
    ->UseRealTime();

// One LSTM layer's recurrence (lstm_layer: per step a GEMM and the fused cell kernel), xproj
// (B, 96, 4H), split by steps or by hidden units (forward only). args: B, H, threads, by_units,
// backward.
void BM_LstmLayerOp(benchmark::State& state) {
  const int64_t B = state.range(0), L = 96, H = state.range(1);
  Context ctx({.threads = static_cast<int>(state.range(2)), .seed = 1});
  const LSTMThreading threading =
      state.range(3) != 0 ? LSTMThreading::by_units : LSTMThreading::by_steps;
  Tensor xproj = Tensor::normal({B, L, 4 * H}, 0, 1, DType::F32, ctx).set_requires_grad();
  Tensor w_hh = Tensor::uniform({4 * H, H}, -0.1, 0.1, DType::F32, ctx).set_requires_grad();
  Tensor b_hh = Tensor::uniform({4 * H}, -0.1, 0.1, DType::F32, ctx).set_requires_grad();
  run_op(state, state.range(4), {xproj, w_hh, b_hh},
         [&] { return lstm_layer(xproj, w_hh, b_hh, Tensor(), Tensor(), threading).output; });
}
BENCHMARK(BM_LstmLayerOp)
    ->ArgsProduct({{32}, {16, 64}, {1}, {0}, {0, 1}})
    ->ArgsProduct({{2, 4, 8, 32}, {512}, {1}, {0}, {0}})
    ->ArgsProduct({{2, 4, 8, 32}, {512}, {2}, {1}, {0}})
    ->Args({16, 128, 1, 0, 0})
    ->Args({16, 128, 2, 1, 0})
    ->ArgNames({"B", "H", "threads", "by_units", "backward"})
    ->UseRealTime();

// Layer norm over (32·96, D) rows with weight and bias, on one thread. args: D, backward.
void BM_LayerNormOp(benchmark::State& state) {
  const int64_t D = state.range(0);
  Context ctx({.threads = 1, .seed = 1});
  Tensor x = Tensor::normal({32 * 96, D}, 0, 1, DType::F32, ctx).set_requires_grad();
  Tensor w = Tensor::uniform({D}, 0.5, 1.5, DType::F32, ctx).set_requires_grad();
  Tensor b = Tensor::uniform({D}, -0.5, 0.5, DType::F32, ctx).set_requires_grad();
  run_op(state, state.range(1), {x, w, b}, [&] { return layer_norm(x, w, b); });
}
BENCHMARK(BM_LayerNormOp)
    ->ArgsProduct({{16, 512}, {0, 1}})
    ->ArgNames({"D", "backward"})
    ->UseRealTime();

// One empty parallel region of 2 threads after `gap` µs of the caller working alone (a serial op
// between two threaded ones), timed from the call to its return: kernels::parallel_region
// (team 1) or an OpenMP region (team 0; its cost depends on OMP_WAIT_POLICY). args: team, gap.
void BM_ParallelRegion(benchmark::State& state) {
  const bool team = state.range(0) == 1;
  const auto gap = std::chrono::microseconds(state.range(1));
  std::atomic<int> sink{0};
  for (auto _ : state) {
    const auto busy_until = std::chrono::steady_clock::now() + gap;
    while (std::chrono::steady_clock::now() < busy_until) {
    }
    const auto start = std::chrono::steady_clock::now();
    if (team) {
      kernels::parallel_region(2,
                               [&](int i, int) { sink.fetch_add(i, std::memory_order_relaxed); });
    } else {
#pragma omp parallel num_threads(2)
      sink.fetch_add(omp_get_thread_num(), std::memory_order_relaxed);
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}
BENCHMARK(BM_ParallelRegion)
    ->ArgsProduct({{1, 0}, {0, 20, 100, 1000}})
    ->ArgNames({"team", "gap_us"})
    ->Iterations(2000)  // the gaps dominate the run: a fixed count keeps it to seconds
    ->UseManualTime();

}  // namespace
}  // namespace attend

BENCHMARK_MAIN();
