#include "bench_command.h"

#include <cstdio>
#include <memory>

#include "attend/perf/attention_bench.h"
#include "flags.h"

namespace attend::cli {

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Measure the speed of attend's kernels");
  bench->require_subcommand(1);
  auto cfg = std::make_shared<perf::AttentionBenchConfig>();
  auto json = std::make_shared<bool>(false);
  CLI::App* attn = bench->add_subcommand(
      "attention",
      "Time fused attention against the reference path (and ProbSparse): median ms, GFLOP/s and "
      "peak extra memory");
  attn->add_option("--batch", cfg->batch, "batch size B")->capture_default_str()->check(positive());
  attn->add_option("--heads", cfg->heads, "heads H")->capture_default_str()->check(positive());
  attn->add_option("--len_q", cfg->len_q, "query length Lq")
      ->capture_default_str()
      ->check(positive());
  attn->add_option("--len_k", cfg->len_k, "key length Lk")
      ->capture_default_str()
      ->check(positive());
  attn->add_option("--dim", cfg->dim, "head dimension D")->capture_default_str()->check(positive());
  attn->add_flag("--causal", cfg->causal, "causal mask");
  attn->add_flag("--backward", cfg->backward, "time forward + backward");
  attn->add_option("--threads", cfg->threads, "threads (0 = all)")
      ->capture_default_str()
      ->check(non_negative());
  attn->add_option("--repeats", cfg->repeats, "timed repeats (median reported)")
      ->capture_default_str()
      ->check(positive());
  attn->add_option("--warmup", cfg->warmup, "untimed warm-up runs")
      ->capture_default_str()
      ->check(non_negative());
  attn->add_flag("--prob_sparse", cfg->prob_sparse, "also time Informer's ProbSparse attention");
  attn->add_option("--factor", cfg->factor, "ProbSparse sampling factor")
      ->capture_default_str()
      ->check(positive());
  attn->add_flag("!--no_reference", cfg->reference,
                 "skip the reference path (it needs B·H·Lq·Lk floats)");
  attn->add_option("--kernel", cfg->kernel, "fused kernel: auto, tiles or rows")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "tiles", "rows"}));
  attn->add_flag("--json", *json, "print JSON");
  attn->callback([cfg, json] {
    auto results = perf::bench_attention(*cfg);
    std::fputs(perf::format_attention_bench(*cfg, results, *json).c_str(), stdout);
  });
}

}  // namespace attend::cli
