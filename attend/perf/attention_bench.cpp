#include "attend/perf/attention_bench.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "attend/autograd/node.h"
#include "attend/kernels/gemm.h"
#include "attend/ops/attention.h"

namespace attend::perf {

double attention_flops(const AttentionBenchConfig& c) {
  double fwd = 4.0 * c.batch * c.heads * c.len_q * c.len_k * c.dim;
  if (c.causal) fwd *= 0.5;
  return c.backward ? 3.0 * fwd : fwd;
}

namespace {

struct Timing {
  double median_ms, min_ms, peak_extra_mib;
};

// Runs f warmup + repeats times; the peak memory is that of one run above what was live before.
Timing time_it(Context& ctx, int warmup, int repeats, const std::function<void()>& f) {
  for (int i = 0; i < warmup; ++i) f();
  size_t base = ctx.allocator().stats().bytes_in_use;
  ctx.allocator().reset_peak();
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  size_t peak = ctx.allocator().stats().peak_bytes_in_use;
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), (peak - std::min(peak, base)) / (1024.0 * 1024.0)};
}

}  // namespace

std::vector<AttentionBenchResult> bench_attention(const AttentionBenchConfig& c) {
  ATTEND_CHECK(c.batch > 0 && c.heads > 0 && c.len_q > 0 && c.len_k > 0 && c.dim > 0,
               "[bench attention] --batch, --heads, --len_q, --len_k and --dim must be positive");
  ATTEND_CHECK(!c.prob_sparse || c.len_q == c.len_k || !c.causal,
               "[bench attention] causal ProbSparse needs --len_q == --len_k");
  Context ctx({.threads = c.threads, .seed = 1});
  Tensor q = Tensor::normal({c.batch, c.heads, c.len_q, c.dim}, 0, 1, DType::F32, ctx);
  Tensor k = Tensor::normal({c.batch, c.heads, c.len_k, c.dim}, 0, 1, DType::F32, ctx);
  Tensor v = Tensor::normal({c.batch, c.heads, c.len_k, c.dim}, 0, 1, DType::F32, ctx);
  Tensor g = Tensor::normal({c.batch, c.heads, c.len_q, c.dim}, 0, 1, DType::F32, ctx);
  if (c.backward)
    for (const Tensor& t : {q, k, v}) t.set_requires_grad(true);

  auto run = [&](const std::function<Tensor()>& forward) {
    return [&, forward] {
      if (c.backward) {
        Tensor out = forward();
        out.backward(g);
        for (const Tensor& t : {q, k, v}) t.zero_grad();
      } else {
        NoGradGuard ng;
        forward();
      }
    };
  };

  std::vector<AttentionBenchResult> results;
  const double flops = attention_flops(c);
  auto add = [&](const std::string& path, const Timing& t, double f) {
    results.push_back({path, t.median_ms, t.min_ms, f / (t.median_ms * 1e6), t.peak_extra_mib});
  };
  AttentionOptions fused;
  fused.causal = c.causal;
  fused.path = AttentionPath::Fused;
  ATTEND_CHECK(c.kernel == "auto" || c.kernel == "tiles" || c.kernel == "rows",
               "[bench attention] --kernel must be auto, tiles or rows, got '{}'", c.kernel);
  fused.fused_kernel = c.kernel == "tiles"  ? AttentionOptions::FusedKernel::Tiles
                       : c.kernel == "rows" ? AttentionOptions::FusedKernel::Rows
                                            : AttentionOptions::FusedKernel::Auto;
  add("fused", time_it(ctx, c.warmup, c.repeats, run([&] {
                         return scaled_dot_product_attention(q, k, v, fused).output;
                       })),
      flops);
  if (c.reference) {
    AttentionOptions ref = fused;
    ref.path = AttentionPath::Reference;
    add("reference", time_it(ctx, c.warmup, c.repeats, run([&] {
                               return scaled_dot_product_attention(q, k, v, ref).output;
                             })),
        flops);
  }
  if (c.prob_sparse) {
    ProbSparseOptions ps;
    ps.factor = c.factor;
    ps.causal = c.causal;
    // GFLOP/s of ProbSparse is reported against the dense model FLOPs (an effective rate).
    add("probsparse", time_it(ctx, c.warmup, c.repeats, run([&] {
                                return prob_sparse_attention(q, k, v, ps).output;
                              })),
        flops);
  }
  return results;
}

std::string format_attention_bench(const AttentionBenchConfig& c,
                                   const std::vector<AttentionBenchResult>& results, bool json) {
  if (json) {
    nlohmann::json j;
    j["config"] = {{"batch", c.batch},       {"heads", c.heads},
                   {"len_q", c.len_q},       {"len_k", c.len_k},
                   {"dim", c.dim},           {"causal", c.causal},
                   {"backward", c.backward}, {"threads", Context({.threads = c.threads}).threads()},
                   {"repeats", c.repeats},   {"gemm", kernels::gemm_backend_name()}};
    for (const auto& r : results)
      j["results"].push_back({{"path", r.path},
                              {"median_ms", r.median_ms},
                              {"min_ms", r.min_ms},
                              {"gflops", r.gflops},
                              {"peak_extra_mib", r.peak_extra_mib}});
    return j.dump(2) + "\n";
  }
  std::string s = fmt::format(
      "attention {}: B={} H={} Lq={} Lk={} D={}{} | threads {} | median of {} after {} warm-up\n",
      c.backward ? "forward+backward" : "forward", c.batch, c.heads, c.len_q, c.len_k, c.dim,
      c.causal ? " causal" : "", Context({.threads = c.threads}).threads(), c.repeats, c.warmup);
  s += fmt::format("{:<12}{:>12}{:>12}{:>12}{:>18}\n", "path", "median ms", "min ms", "GFLOP/s",
                   "peak extra MiB");
  for (const auto& r : results)
    s += fmt::format("{:<12}{:>12.3f}{:>12.3f}{:>12.1f}{:>18.1f}\n", r.path, r.median_ms, r.min_ms,
                     r.gflops, r.peak_extra_mib);
  return s;
}

}  // namespace attend::perf
