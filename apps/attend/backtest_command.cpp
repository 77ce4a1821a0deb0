#include "backtest_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>

#include "attend/explain/backtest_plot.h"
#include "attend/train/backtest.h"
#include "attend/train/checkpoint.h"
#include "attend/train/progress.h"
#include "flags.h"
#include "stop_signals.h"

namespace attend::cli {

namespace {

using train::Option;
using train::OptionGroup;
using train::RunConfig;

// The run flags `attend test` takes: the data a checkpoint is evaluated on.
const std::set<std::string> kDataFlags = {
    "root_path", "data_path", "data",     "target",    "freq",       "batch_size", "inverse",
    "missing",   "id_col",    "time_col", "val_start", "test_start", "skip_short"};

struct BacktestArgs {
  std::string checkpoint, out = "./runs/backtest", n_windows = "1", plot_id;
  int64_t step = 0, refit = 0;
  int threads = 0;
  bool quiet = false;
  Bindings flags;
};

int64_t parse_n_windows(const std::string& text) {
  if (text == "all") return 0;
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != 0 || errno || n < 0)
    throw UsageError("--n_windows '" + text + "' must be an integer >= 0 or all");
  return n;
}

// The configuration: the checkpoint's (refit 0: only data flags may change it) or the run flags'
// (on the checkpoint's when one is given).
train::ValidConfig config_of(const BacktestArgs& a) {
  RunConfig cfg;
  if (a.refit == 0) {
    if (a.checkpoint.empty())
      throw UsageError(
          "--refit 0 forecasts with a trained model: give its folder with "
          "--checkpoint (or retrain with --refit N)");
    for (const Binding& b : a.flags)
      if (b.option->count() > 0 && kDataFlags.count(b.spec->name) == 0)
        throw UsageError(fmt::format(
            "--{}: with --refit 0 the checkpoint's model and training flags are used; only data "
            "flags apply (--refit N retrains with the run flags)",
            b.spec->name));
  }
  if (!a.checkpoint.empty()) cfg = train::resolved_config(train::read_checkpoint(a.checkpoint));
  for (const auto& f : apply_flags(a.flags, cfg))
    fmt::print(stderr, "note: {} has no effect in attend\n", f);
  try {
    return train::ValidConfig(cfg);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

int run_backtest(const BacktestArgs& a) {
  train::BacktestOptions o;
  o.n_windows = parse_n_windows(a.n_windows);
  o.step = a.step;
  o.refit = a.refit;
  o.checkpoint = a.checkpoint;
  const train::ValidConfig cfg = config_of(a);
  // before the context's worker threads, which inherit its mask
  StopSignals stop_signals("stopping after this cut-off; the files keep those done");
  Context ctx({.threads = a.threads, .seed = static_cast<uint64_t>(cfg->train.seed)});
  train::ProgressPrinter progress(stderr, ::isatty(STDERR_FILENO) == 1);
  o.stop = &stop_signals.stop();
  if (!a.quiet) {
    o.callbacks = progress.callbacks();
    o.log = [](const std::string& s) { fmt::print(stderr, "{}\n", s); };
  }
  const train::BacktestResult r = train::backtest(cfg, o, ctx);
  progress.clear();
  std::vector<std::string> files;
  if (!r.windows.empty()) {
    files = train::write_backtest(r, a.out);
    for (const auto& f : explain::save_figure(explain::backtest_figure(r, a.plot_id),
                                              (std::filesystem::path(a.out) / "backtest").string()))
      files.push_back(f);
  }
  for (const auto& f : files) fmt::print(stderr, "wrote {}\n", f);
  if (r.interrupted) {
    const bool terminated = stop_signals.signal() == SIGTERM;
    fmt::print(stderr, "{}: stopped after {} of {} cut-offs{}\n",
               terminated ? "terminated" : "interrupted", r.windows.size(),
               r.cutoffs * std::max<size_t>(1, r.series_ids.size()),
               files.empty() ? "" : "; the files hold those done");
    return 128 + (terminated ? SIGTERM : SIGINT);
  }
  fmt::print("{}\n", train::metrics_line(r.overall));
  return 0;
}

}  // namespace

std::function<int()> add_backtest_command(CLI::App& app) {
  auto a = std::make_shared<BacktestArgs>();
  CLI::App* cmd = app.add_subcommand(
      "backtest",
      "Rolling-origin evaluation (neuralforecast's cross_validation): forecasts from cut-offs in "
      "the test split, with a checkpoint (--refit 0) or retrained before every N-th cut-off; "
      "writes cutoffs.csv, forecasts.csv, metrics.json and backtest.png/.svg; prints mse/mae");
  cmd->add_option("--checkpoint", a->checkpoint,
                  "checkpoint folder (--refit 0: its weights; else its flags, under the run "
                  "flags given)");
  cmd->add_option("--n_windows", a->n_windows,
                  "cut-offs per series: the last n test windows, --step apart; all (or 0): every "
                  "one that fits")
      ->capture_default_str();
  cmd->add_option("--step", a->step,
                  "test windows between cut-offs [default: pred_len; 1 with --n_windows all]")
      ->check(positive());
  cmd->add_option("--refit", a->refit,
                  "0: the checkpoint's weights; 1: retrain from scratch at every cut-off; N: at "
                  "every N-th")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--out", a->out, "folder for the outputs (created when missing)")
      ->capture_default_str();
  cmd->add_option("--plot_id", a->plot_id, "long format: the series drawn [default: the first]");
  cmd->add_option("--threads", a->threads, "worker threads (0: all cores)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_flag("--quiet", a->quiet, "no progress lines on stderr");
  add_flags(
      *cmd, a->flags,
      [](const Option& f) {
        const std::string n = f.name;
        return f.group != OptionGroup::Ignored && n != "is_training" && n != "checkpoints";
      },
      "Run flags (TSLib run.py names; with --refit 0 only the data flags)");
  return [a] { return run_backtest(*a); };
}

}  // namespace attend::cli
