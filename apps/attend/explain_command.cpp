#include "explain_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "attend/explain/explain.h"
#include "attend/train/checkpoint.h"
#include "flags.h"

namespace attend::cli {

namespace {

struct ExplainArgs {
  std::string checkpoint, out, date;
  std::optional<int64_t> index;
  int64_t max_batches = 0;
  int threads = 0;
  // data flags (run.py names); empty = the checkpoint's
  std::string root_path, data_path, data, target, freq, batch_size;
};

void run(const ExplainArgs& a) {
  auto info = train::read_checkpoint(a.checkpoint);
  train::RunConfig cfg = train::resolved_config(info);
  auto set = [&](const char* name, const std::string& v) {
    if (v.empty()) return;
    nlohmann::json j = v;
    if (std::string(name) == "batch_size") {
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      ATTEND_CHECK(*end == 0 && n > 0, "--batch_size '{}' must be a positive integer", v);
      j = static_cast<int64_t>(n);
    }
    train::set_option(cfg, name, j, std::string("--") + name);
  };
  set("root_path", a.root_path);
  set("data_path", a.data_path);
  set("data", a.data);
  set("target", a.target);
  set("freq", a.freq);
  set("batch_size", a.batch_size);
  ATTEND_CHECK(a.max_batches >= 0, "--max_batches must be >= 0 (0: the whole test split)");
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
  o.log = [](const std::string& s) { fmt::print(stderr, "{}\n", s); };
  const auto r = explain::explain_checkpoint(a.checkpoint, cfg, o, ctx);
  fmt::print("report: {}\n", r.report);
}

}  // namespace

void add_explain_command(CLI::App& app) {
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
  cmd->add_option("--root_path", a->root_path, "data folder [default: the checkpoint's]");
  cmd->add_option("--data_path", a->data_path, "CSV file [default: the checkpoint's]");
  cmd->add_option("--data", a->data, "dataset protocol [default: the checkpoint's]");
  cmd->add_option("--target", a->target, "target column [default: the checkpoint's]");
  cmd->add_option("--freq", a->freq, "frequency [default: the checkpoint's]");
  cmd->add_option("--batch_size", a->batch_size, "test batch size [default: the checkpoint's]");
  cmd->callback([a] { run(*a); });
}

}  // namespace attend::cli
