#include "compare_command.h"

#include "flags.h"
#include "stop_signals.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <set>

#include "attend/train/compare.h"

namespace attend::cli {

namespace {

using train::Option;
using train::OptionGroup;
using train::RunConfig;

struct CompareArgs {
  std::string models = "PatchTST,iTransformer,Transformer,Informer,TFT,LSTM,TCN,DLinear";
  std::string out = "./runs/compare";
  int threads = 0;
  train::LatencyOptions latency;
  bool quiet = false;
  Bindings flags;
};

// comm: the MPI job under mpirun with several processes (each trains its share of the models;
// rank 0 alone prints and writes), else nullptr.
int run_compare(const CompareArgs& a, train::Communicator* comm) {
  std::vector<std::string> models;
  std::optional<train::ValidConfig> cfg;
  try {
    models = train::parse_model_list(a.models);
    RunConfig flags;
    apply_flags(a.flags, flags);
    flags.model.model = models.front();
    cfg.emplace(flags);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  // before the context's worker threads, which inherit its mask
  StopSignals stop_signals("stopping after this batch; the models finished so far are reported");
  Context ctx({.threads = a.threads, .seed = static_cast<uint64_t>((*cfg)->train.seed)});
  const bool lead = !comm || comm->rank() == 0;
  train::CompareOptions opt;
  opt.latency = a.latency;
  opt.stop = &stop_signals.stop();
  opt.comm = comm;
  // every rank reports the progress of its own models
  if (!a.quiet) opt.log = [](const std::string& s) { fmt::print(stderr, "{}\n", s); };
  if (comm && lead && !a.quiet)
    fmt::print(stderr, "compare across {} processes: model i of the list on rank i mod {}\n",
               comm->size(), comm->size());
  const auto rows = train::compare_models(**cfg, models, ctx, opt);
  // The stop of any rank (a signal to one rank alone leaves the others' rows in the table);
  // SIGTERM on any rank makes the job's stop a SIGTERM.
  int signal = stop_signals.stop().load() ? stop_signals.signal() : 0;
  if (comm) {
    double seen[2] = {signal == SIGINT ? 1.0 : 0.0, signal == SIGTERM ? 1.0 : 0.0};
    comm->allreduce_sum(seen, 2);
    signal = seen[1] > 0 ? SIGTERM : seen[0] > 0 ? SIGINT : 0;
  }
  const int status = signal ? 128 + signal : 0;  // 130 or 143, as a shell reports them
  if (!lead) return status;
  if (!rows.empty()) {
    std::fputs(train::compare_to_markdown(rows).c_str(), stdout);
    for (const auto& p : train::write_compare(rows, a.out)) fmt::print(stderr, "wrote {}\n", p);
  }
  if (signal)
    fmt::print(stderr, "{}: stopped after {} of {} models{}\n",
               signal == SIGTERM ? "terminated" : "interrupted", rows.size(), models.size(),
               rows.empty() ? "" : "; the table holds those done");
  return status;
}

struct BenchModelArgs {
  int threads = 0;
  std::vector<int64_t> batches = {1, 32};
  int warmup = 3, repeats = 20;
  bool json = false;
  bool train = false;  // time training steps (the roofline) instead of forecasts
  Bindings flags;
};

void run_bench_model(const BenchModelArgs& a) {
  std::optional<train::ValidConfig> cfg;
  train::LatencyOptions opt;
  opt.batches = a.batches;
  opt.warmup = a.warmup;
  opt.repeats = a.repeats;
  try {
    RunConfig flags;
    apply_flags(a.flags, flags);
    cfg.emplace(flags);
  } catch (const Error& e) {
    throw CLI::ValidationError(e.what());
  }
  Context ctx({.threads = a.threads, .seed = static_cast<uint64_t>((*cfg)->train.seed)});
  if (a.train) {
    train::TrainStepOptions t;
    t.warmup = a.warmup;
    t.repeats = a.repeats;
    const auto r = train::bench_train_step(**cfg, t, ctx);
    std::fputs(train::format_train_step(**cfg, r, a.json).c_str(), stdout);
    return;
  }
  auto r = train::bench_model(**cfg, opt, ctx);
  std::fputs(train::format_model_bench(**cfg, r, ctx.threads(), a.json).c_str(), stdout);
}

}  // namespace

std::function<int(train::Communicator*)> add_compare_command(CLI::App& app) {
  auto ca = std::make_shared<CompareArgs>();
  CLI::App* cmp = app.add_subcommand(
      "compare",
      "Train and test several models on the same data and split; print and write (CSV, Markdown) "
      "MSE, MAE, training time, forecast latency at batch 1 and 32, and parameter count");
  cmp->add_option("--models", ca->models,
                  "comma-separated models (TFT = TemporalFusionTransformer)")
      ->capture_default_str();
  cmp->add_option("--out", ca->out, "folder for compare.csv and compare.md")->capture_default_str();
  cmp->add_option("--threads", ca->threads, "worker threads (0: all cores)")
      ->capture_default_str()
      ->check(non_negative());
  cmp->add_option("--repeats", ca->latency.repeats, "timed forecast calls per batch size (median)")
      ->capture_default_str()
      ->check(positive());
  cmp->add_option("--warmup", ca->latency.warmup, "untimed forecast calls before timing")
      ->capture_default_str()
      ->check(non_negative());
  cmp->add_flag("--quiet", ca->quiet, "no progress lines on stderr");
  add_flags(
      *cmp, ca->flags,
      [](const Option& f) {
        const std::string n = f.name;
        return f.group != OptionGroup::Ignored && n != "model" && n != "is_training" &&
               n != "checkpoints";
      },
      "Run flags (TSLib run.py names)");

  CLI::App* bench = nullptr;
  try {
    bench = app.get_subcommand("bench");
  } catch (const CLI::OptionNotFound&) {
    bench = app.add_subcommand("bench", "Measure the speed of attend's kernels and models");
    bench->require_subcommand(1);
  }
  auto ba = std::make_shared<BenchModelArgs>();
  CLI::App* model = bench->add_subcommand(
      "model",
      "Median forecast latency (eval, no grad, random inputs) of a freshly built model readied as "
      "a loaded checkpoint is (weights packed at load), with the FLOPs of one forecast (GEMMs and "
      "fused attention, counted) and their rate; or with --train the roofline of a training step; "
      "model flags as train's (enc_in/dec_in/c_out default 7)");
  model->add_option("--batch", ba->batches, "batch sizes to time")
      ->capture_default_str()
      ->check(positive())
      ->expected(1, CLI::detail::expected_max_vector_size)
      ->delimiter(',');
  model->add_option("--repeats", ba->repeats, "timed calls per batch size (median reported)")
      ->capture_default_str()
      ->check(positive());
  model->add_option("--warmup", ba->warmup, "untimed calls before timing")
      ->capture_default_str()
      ->check(non_negative());
  model->add_option("--threads", ba->threads, "worker threads (0: all cores)")
      ->capture_default_str()
      ->check(non_negative());
  model->add_flag("--json", ba->json, "print one JSON line per batch size");
  model->add_flag("--train", ba->train,
                  "time training steps of --batch_size random windows instead (forward, loss, "
                  "backward, Adam): the step's FLOPs and time in GEMMs and fused attention "
                  "against the measured FMA peak");
  add_flags(
      *model, ba->flags,
      [](const Option& f) {
        const std::string n = f.name;
        return f.group != OptionGroup::Ignored && n != "is_training" && n != "checkpoints";
      },
      "Run flags (TSLib run.py names)");
  model->callback([ba] { run_bench_model(*ba); });
  return [ca](train::Communicator* comm) { return run_compare(*ca, comm); };
}

}  // namespace attend::cli
