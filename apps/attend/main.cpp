// attend: the command-line tool. A thin layer over attend/train: flags (TSLib run.py's names) ->
// RunConfig -> train_and_test / test_weights / forecast.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string_view>

#include "attend/attend.h"
#include "attend/data/csv.h"
#include "attend/io/atomic_file.h"
#include "attend/models/model.h"
#include "attend/train/experiment.h"
#include "attend/train/forecast.h"
#include "attend/train/progress.h"
#include "backtest_command.h"
#include "bench_command.h"
#include "compare_command.h"
#include "explain_command.h"
#include "flags.h"
#include "serve_command.h"
#include "stop_signals.h"
#if ATTEND_MPI
#include "mpi_world.h"
#endif

namespace fs = std::filesystem;
using attend::cli::add_flags;
using attend::cli::apply_flags;
using attend::cli::Bindings;
using attend::cli::given;
using attend::cli::UsageError;
using attend::train::Option;
using attend::train::RunConfig;
using attend::train::ValidConfig;

namespace {

// The configuration's one validation; a bad value is a usage error (exit 2).
ValidConfig check(const RunConfig& cfg) {
  try {
    return ValidConfig(cfg);
  } catch (const attend::Error& e) {
    throw UsageError(e.what());
  }
}

void notice(const std::vector<std::string>& ignored) {
  if (ignored.empty()) return;
  std::string s;
  for (const auto& f : ignored) s += (s.empty() ? "" : ", ") + f;
  fmt::print(stderr, "note: run.py flags without effect in attend, ignored: {}\n", s);
}

attend::ContextOptions context_options(int threads, int64_t seed) {
  attend::ContextOptions o;
  o.threads = threads;
  o.seed = static_cast<uint64_t>(seed);
  return o;
}

// TSLib's "mse:.., mae:.." line, then the quantile metrics' line for a quantile model.
void print_metrics(const attend::train::Metrics& m) {
  fmt::print("{}\n", attend::train::metrics_line(m));
  if (m.has_quantiles) fmt::print("{}\n", attend::train::quantile_metrics_line(m));
}

// comm: the MPI job when attend runs under mpirun (every rank trains its share; rank 0 alone
// prints and writes), else nullptr.
int run_train(const ValidConfig& cfg, bool resume, int threads, attend::train::Communicator* comm) {
  // first: the worker threads the context starts inherit its signal mask
  attend::cli::StopSignals stop_signals;
  attend::Context ctx(context_options(threads, cfg->train.seed));
  const bool quiet = comm && comm->rank() != 0;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  attend::train::ProgressPrinter progress(stderr, tty);
  attend::train::ExperimentOptions opt;
  opt.resume = resume;
  opt.stop = &stop_signals.stop();
  opt.comm = comm;
  if (!quiet) {
    opt.callbacks = progress.callbacks();
    opt.log = [](const std::string& s) { fmt::print(stderr, "{}\n", s); };
  }
  if (comm && comm->size() > 1 && !quiet)
    fmt::print(stderr, "data-parallel training: {} processes, {} windows per batch in all\n",
               comm->size(), cfg->train.batch_size);
  auto r = attend::train::train_and_test(cfg, ctx, opt);
  if (r.interrupted) {
    const bool terminated = stop_signals.signal() == SIGTERM;
    if (!quiet) {
      progress.clear();
      fmt::print(stderr,
                 "{}: state saved in {}/resume; run the same command with --resume to continue\n",
                 terminated ? "terminated" : "interrupted", r.dir);
    }
    // 143 or 130, as a shell reports them (SIGINT on a rank that saw only the others' signal)
    return 128 + (terminated ? SIGTERM : SIGINT);
  }
  if (quiet) return 0;
  fmt::print("checkpoint: {}\n", r.dir);
  print_metrics(r.metrics);
  return 0;
}

int run_test_weights(const ValidConfig& cfg, const std::string& dir, int threads) {
  attend::Context ctx(context_options(threads, cfg->train.seed));
  print_metrics(attend::train::test_weights(cfg, dir, ctx));
  return 0;
}

void apply_demo_defaults(RunConfig& c, const Bindings& bs) {
  auto set = [&](const char* name, nlohmann::json v) {
    if (!given(bs, name)) attend::train::set_option(c, name, v, std::string("--") + name);
  };
  set("model", "PatchTST");
  set("model_id", "demo");
  set("data", "ETTh1");
  set("root_path", "./data/");
  set("data_path", "ETTh1.csv");
  set("seq_len", 96);
  set("label_len", 48);
  set("pred_len", 96);
  set("d_model", 16);
  set("n_heads", 4);
  set("e_layers", 1);
  set("d_ff", 32);
  set("batch_size", 32);
  set("train_epochs", 3);
  set("learning_rate", 1e-3);
  set("checkpoints", "./runs/");
}

int real_main(int argc, char** argv, attend::train::Communicator* comm) {
  CLI::App app{
      "attend: attention-based time-series forecasting (TSLib-compatible).\n"
      "With no subcommand, attend behaves as TSLib's run.py (--is_training 1 trains then tests,\n"
      "0 tests the checkpoint under --checkpoints/<setting>).",
      "attend"};
  app.require_subcommand(0, 1);
  app.set_help_all_flag("--help-all", "Show help for all subcommands");
  app.set_version_flag("--version", std::string("attend ") + attend::version());
  int threads = 0;
  Bindings root_flags;
  add_flags(app, root_flags);
  app.add_option("--threads", threads, "worker threads (0: all cores)");

  auto* train = app.add_subcommand("train", "train, then test; prints the run folder and mse/mae");
  Bindings train_flags;
  add_flags(*train, train_flags);
  bool resume = false;
  train->add_option("--threads", threads, "worker threads (0: all cores)");
  train->add_flag("--resume", resume, "continue the interrupted run of the same flags");

  auto* demo = app.add_subcommand("demo", "quick PatchTST train + test on ./data/ETTh1.csv");
  Bindings demo_flags;
  add_flags(*demo, demo_flags);
  demo->add_option("--threads", threads, "worker threads (0: all cores)");
  demo->add_flag("--resume", resume, "continue the interrupted run of the same flags");

  auto* test = app.add_subcommand("test", "evaluate a checkpoint folder on the test split");
  std::string checkpoint;
  test->add_option("--checkpoint", checkpoint, "checkpoint folder")->required();
  Bindings test_flags;
  add_flags(*test, test_flags, attend::cli::checkpoint_data_option, "Options", "the checkpoint's");
  test->add_option("--threads", threads, "worker threads (0: all cores)");

  auto* fc = app.add_subcommand("forecast", "forecast the next pred_len rows after a CSV");
  std::string input, output, forecast_ids, forecast_missing, forecast_future;
  fc->add_option("--checkpoint", checkpoint, "checkpoint folder")->required();
  fc->add_option("--input", input, "CSV with date and the model's columns (original units)")
      ->required();
  fc->add_option("--output", output, "output CSV (default: stdout)");
  fc->add_option("--ids", forecast_ids,
                 "long format: comma list of the series to forecast (default: every series)");
  fc->add_option("--future", forecast_future,
                 "CSV of the known-future columns' values for the pred_len forecast steps (the "
                 "input's time and id columns; needed when the model was trained with "
                 "--known_columns)");
  fc->add_option("--missing", forecast_missing,
                 "missing values in the input: error, ffill, interpolate or mask (default: the "
                 "checkpoint's)");
  fc->add_option("--threads", threads, "worker threads (0: all cores)");

  auto* models = app.add_subcommand("models", "list the models");
  attend::cli::add_bench_command(app);  // runs from its parse callback
  const auto run_explain = attend::cli::add_explain_command(app);
  const auto run_compare = attend::cli::add_compare_command(app);
  const auto run_backtest = attend::cli::add_backtest_command(app);
  const auto run_serve = attend::cli::add_serve_command(app);

  const bool several = comm && comm->size() > 1;
  const char* const alone =
      "under mpirun, only training runs across processes: attend train, attend demo, the "
      "run.py form with --is_training 1, or attend compare (each process trains its share of the "
      "models)";
  // bench runs from its parse callbacks, before the check after parsing: refused here
  if (several && argc > 1 && std::string_view(argv[1]) == "bench") throw UsageError(alone);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  }
  if (threads < 0) throw UsageError("--threads must be >= 0");

  // These run from their parse callbacks; nothing is left to do here.
  if (app.get_subcommand("bench")->parsed()) return 0;  // ran from its parse callback
  const bool compare = app.get_subcommand("compare")->parsed();
  if (several && !(train->parsed() || demo->parsed() || compare || app.get_subcommands().empty()))
    throw UsageError(alone);
  if (app.get_subcommand("explain")->parsed()) return run_explain();
  if (compare) return run_compare(several ? comm : nullptr);
  if (app.get_subcommand("backtest")->parsed()) return run_backtest();
  if (app.get_subcommand("serve")->parsed()) return run_serve();
  if (models->parsed()) {
    for (const auto& n : attend::models::model_names()) fmt::print("{}\n", n);
    return 0;
  }
  if (fc->parsed()) {
    auto info = attend::train::read_checkpoint(checkpoint);
    if (!forecast_missing.empty()) {
      try {
        attend::train::set_option(info.config, "missing", forecast_missing, "--missing");
        (void)ValidConfig(info.config);
      } catch (const attend::Error& e) {
        throw UsageError(e.what());
      }
    }
    attend::Context ctx(context_options(threads, info.config.train.seed));
    attend::data::CsvOptions read = attend::data::csv_options(info.config.data);
    if (read.id_col.empty()) read.id_col = info.id_column;
    if (read.time_col.empty() && info.long_format()) read.time_col = info.time_column;
    auto table = attend::data::read_csv(input, read);
    std::vector<std::string> ids;
    for (size_t pos = 0; !forecast_ids.empty() && pos <= forecast_ids.size();) {
      const size_t comma = std::min(forecast_ids.find(',', pos), forecast_ids.size());
      if (comma > pos) ids.push_back(forecast_ids.substr(pos, comma - pos));
      pos = comma + 1;
    }
    std::optional<attend::data::CsvTable> future;
    if (!forecast_future.empty()) future = attend::data::read_csv(forecast_future, read);
    auto result = attend::train::forecast(info, table, ctx, ids, future ? &*future : nullptr);
    const std::string csv = attend::train::forecast_to_csv(result);
    if (output.empty()) {
      fmt::print("{}", csv);
    } else {
      const fs::path parent = fs::path(output).parent_path();
      if (!parent.empty() && !fs::exists(parent)) fs::create_directories(parent);
      attend::io::write_file_atomic(output, csv);
      fmt::print(stderr, "forecast: {} rows written to {}\n", result.timestamps.size(), output);
    }
    return 0;
  }
  if (test->parsed()) {
    auto info = attend::train::read_checkpoint(checkpoint);
    RunConfig cfg = attend::train::resolved_config(info);
    notice(apply_flags(test_flags, cfg));
    return run_test_weights(check(cfg), checkpoint, threads);
  }
  Bindings& bs = train->parsed() ? train_flags : demo->parsed() ? demo_flags : root_flags;
  RunConfig cfg;
  if (demo->parsed()) apply_demo_defaults(cfg, bs);
  notice(apply_flags(bs, cfg));
  const ValidConfig valid = check(cfg);
  if (train->parsed() || demo->parsed() || valid->run.is_training == 1)
    return run_train(valid, resume, threads, comm);
  if (several) throw UsageError(alone);
  return run_test_weights(valid, attend::train::run_folder(*valid), threads);
}

// "error: <message>" on stderr; never throws (stderr may be on the full disk that caused it).
int report_error(const char* message, int code) {
  std::fprintf(stderr, "error: %s\n", message);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
#if ATTEND_MPI
  // Under mpirun (or srun), the MPI job; a plain `attend` never starts MPI.
  std::unique_ptr<attend::cli::MpiWorld> mpi;
  try {
    mpi = attend::cli::MpiWorld::start(&argc, &argv);
  } catch (const std::exception& e) {
    return report_error(e.what(), 1);
  }
  attend::train::Communicator* comm = mpi.get();
  const bool several = mpi && mpi->size() > 1;
#else
  // Started by mpirun or srun, but built without MPI: every process would train the whole run
  // alone and write the same folder.
  for (const char* size : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* n = std::getenv(size); n && std::atoi(n) > 1)
      return report_error(
          "this attend was built without MPI (ATTEND_MPI=OFF): under mpirun or srun each "
          "process would train alone",
          2);
  attend::train::Communicator* comm = nullptr;
  const bool several = false;
#endif
  try {
    return real_main(argc, argv, comm);
  } catch (const UsageError& e) {
    // the same on every rank (flags and config): rank 0 reports it, every rank exits with 2
    return comm && comm->rank() != 0 ? 2 : report_error(e.what(), 2);
  } catch (const std::exception& e) {  // attend::Error and the rest
    if (!several) return report_error(e.what(), 1);
#if ATTEND_MPI
    // Perhaps on this rank alone: say which, then end the job (the others may be waiting in a
    // collective for this one).
    std::fprintf(stderr, "error (rank %d of %d): %s\n", mpi->rank(), mpi->size(), e.what());
    std::fflush(stderr);
    mpi->abort(1);
#endif
  }
  return 1;
}
