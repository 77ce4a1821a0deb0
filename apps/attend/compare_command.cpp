#include "compare_command.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <set>

#include "attend/train/compare.h"

namespace attend::cli {

namespace {

using train::FlagKind;
using train::FlagSpec;
using train::RunConfig;

// One run.py flag registered on one subcommand.
struct Binding {
  const FlagSpec* spec = nullptr;
  CLI::Option* option = nullptr;
  std::string text;
  std::vector<std::string> texts;
  bool flag = false;
};

using Bindings = std::deque<Binding>;

// Registers the run flags attend reads on `app`, except those in `skip`.
void add_run_flags(CLI::App& app, Bindings& out, const std::set<std::string>& skip) {
  for (const auto& f : train::run_flags()) {
    if (!f.used || skip.count(f.name)) continue;
    Binding& b = out.emplace_back();
    b.spec = &f;
    const std::string name = std::string("--") + f.name;
    const std::string help = train::flag_help(f);
    switch (f.kind) {
      case FlagKind::StoreTrue:
      case FlagKind::StoreFalse:
        b.option = app.add_flag(name, b.flag, help);
        break;
      case FlagKind::IntList:
        b.option = app.add_option(name, b.texts, help);
        b.option->expected(1, CLI::detail::expected_max_vector_size);
        break;
      default:
        b.option = app.add_option(name, b.text, help);
        b.option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
    b.option->group("Run flags (TSLib run.py names)");
  }
}

nlohmann::json parse_int(const std::string& flag, const std::string& s) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != 0 || errno)
    throw CLI::ValidationError(flag, "'" + s + "' is not an integer");
  return static_cast<int64_t>(v);
}

// Applies the given flags to cfg; bad values are usage errors (exit code 2).
void apply_run_flags(const Bindings& bs, RunConfig& cfg) {
  for (const auto& b : bs) {
    if (b.option->count() == 0) continue;
    const std::string flag = std::string("--") + b.spec->name;
    nlohmann::json v;
    switch (b.spec->kind) {
      case FlagKind::Int:
        v = parse_int(flag, b.text);
        break;
      case FlagKind::Float: {
        char* end = nullptr;
        const double d = std::strtod(b.text.c_str(), &end);
        if (b.text.empty() || *end != 0)
          throw CLI::ValidationError(flag, "'" + b.text + "' is not a number");
        v = d;
        break;
      }
      case FlagKind::StoreTrue:
        v = true;
        break;
      case FlagKind::StoreFalse:
        v = false;
        break;
      case FlagKind::IntList:
        v = nlohmann::json::array();
        for (const auto& t : b.texts) v.push_back(parse_int(flag, t));
        break;
      default:
        v = b.text;
    }
    try {
      train::set_flag(cfg, b.spec->name, v, flag);
    } catch (const Error& e) {
      throw CLI::ValidationError(e.what());
    }
  }
}

struct CompareArgs {
  std::string models = "PatchTST,iTransformer,Transformer,Informer,TFT,LSTM,TCN,DLinear";
  std::string out = "./runs/compare";
  int threads = 0;
  train::LatencyOptions latency;
  bool quiet = false;
  Bindings flags;
};

void run_compare(const CompareArgs& a) {
  std::vector<std::string> models;
  RunConfig cfg;
  try {
    models = train::parse_model_list(a.models);
    apply_run_flags(a.flags, cfg);
    cfg.model = models.front();
    train::validate(cfg);
  } catch (const Error& e) {
    throw CLI::ValidationError(e.what());
  }
  Context ctx({.threads = a.threads, .seed = static_cast<uint64_t>(cfg.seed)});
  train::CompareOptions opt;
  opt.latency = a.latency;
  if (!a.quiet) opt.log = [](const std::string& s) { fmt::print(stderr, "{}\n", s); };
  auto rows = train::compare_models(cfg, models, ctx, opt);
  std::fputs(train::compare_to_markdown(rows).c_str(), stdout);
  for (const auto& p : train::write_compare(rows, a.out)) fmt::print(stderr, "wrote {}\n", p);
}

struct BenchModelArgs {
  int threads = 0;
  std::vector<int64_t> batches = {1, 32};
  int warmup = 3, repeats = 20;
  bool json = false;
  Bindings flags;
};

void run_bench_model(const BenchModelArgs& a) {
  RunConfig cfg;
  train::LatencyOptions opt;
  opt.batches = a.batches;
  opt.warmup = a.warmup;
  opt.repeats = a.repeats;
  try {
    apply_run_flags(a.flags, cfg);
    cfg.model = train::canonical_model_name(cfg.model);
    train::validate(cfg);
  } catch (const Error& e) {
    throw CLI::ValidationError(e.what());
  }
  Context ctx({.threads = a.threads, .seed = static_cast<uint64_t>(cfg.seed)});
  auto r = train::bench_model(cfg, opt, ctx);
  std::fputs(train::format_model_bench(cfg, r, ctx.threads(), a.json).c_str(), stdout);
}

}  // namespace

void add_compare_command(CLI::App& app) {
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
      ->check(CLI::NonNegativeNumber);
  cmp->add_option("--repeats", ca->latency.repeats, "timed forecast calls per batch size (median)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmp->add_option("--warmup", ca->latency.warmup, "untimed forecast calls before timing")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmp->add_flag("--quiet", ca->quiet, "no progress lines on stderr");
  add_run_flags(*cmp, ca->flags, {"model", "is_training", "checkpoints"});
  cmp->callback([ca] { run_compare(*ca); });

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
      "Median forecast latency (eval, no grad, random inputs) of a freshly built model; model "
      "flags as train's (enc_in/dec_in/c_out default 7)");
  model->add_option("--batch", ba->batches, "batch sizes to time")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->expected(1, CLI::detail::expected_max_vector_size)
      ->delimiter(',');
  model->add_option("--repeats", ba->repeats, "timed calls per batch size (median reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  model->add_option("--warmup", ba->warmup, "untimed calls before timing")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  model->add_option("--threads", ba->threads, "worker threads (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  model->add_flag("--json", ba->json, "print one JSON line per batch size");
  add_run_flags(*model, ba->flags, {"is_training", "checkpoints"});
  model->callback([ba] { run_bench_model(*ba); });
}

}  // namespace attend::cli
