#include "explain_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "attend/explain/explain.h"
#include "attend/train/checkpoint.h"
#include "flags.h"
#include "stop_signals.h"

namespace attend::cli {

namespace {

struct ExplainArgs {
  std::string checkpoint, out, date;
  std::optional<int64_t> index;
  int64_t max_batches = 0;
  int threads = 0;
  Bindings data_flags;  // run options over the checkpoint's (its data and batch size)
};

int run(const ExplainArgs& a) {
  auto info = train::read_checkpoint(a.checkpoint);
  train::RunConfig cfg = train::resolved_config(info);
  apply_flags(a.data_flags, cfg);
  ATTEND_CHECK(a.max_batches >= 0, "--max_batches must be >= 0 (0: the whole test split)");
  // before the context's worker threads, which inherit its mask
  StopSignals stop_signals("stopping after this file; no report.html");
  ContextOptions co;
  co.threads = a.threads;
  co.seed = static_cast<uint64_t>(cfg.train.seed);
  Context ctx(co);
  explain::ExplainOptions o;
  o.out = a.out;
  o.index = a.index;
  o.date = a.date;
  o.max_batches = a.max_batches;
  o.source = a.checkpoint;
  o.stop = &stop_signals.stop();
  o.log = [](const std::string& s) { fmt::print(stderr, "{}\n", s); };
  const auto r = explain::explain_checkpoint(a.checkpoint, cfg, o, ctx);
  if (r.interrupted) {
    const bool terminated = stop_signals.signal() == SIGTERM;
    fmt::print(stderr, "{}: stopped after writing {} files to {}; no report.html\n",
               terminated ? "terminated" : "interrupted", r.files.size(), a.out);
    return 128 + (terminated ? SIGTERM : SIGINT);
  }
  fmt::print("report: {}\n", r.report);
  return 0;
}

}  // namespace

std::function<int()> add_explain_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "explain",
      "Attention heat maps per layer and head, per-head attention distance and entropy, rollout "
      "onto the input, TFT variable selection and forecast plots (PNG, SVG, .npy, report.html)");
  auto a = std::make_shared<ExplainArgs>();
  cmd->add_option("--checkpoint", a->checkpoint, "checkpoint folder")->required();
  cmd->add_option("--out", a->out, "output folder (created when missing)")->required();
  auto* idx = cmd->add_option("--index", a->index, "test window to explain (default 0)");
  cmd->add_option("--date", a->date,
                  "explain the test window whose forecast origin (last input row) is this "
                  "timestamp")
      ->excludes(idx);
  cmd->add_option("--max_batches", a->max_batches,
                  "test batches averaged for head statistics (0: all)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--threads", a->threads, "worker threads (0: all cores)")->check(non_negative());
  add_flags(*cmd, a->data_flags, checkpoint_data_option, "Options", "the checkpoint's");
  return [a] { return run(*a); };
}

}  // namespace attend::cli
