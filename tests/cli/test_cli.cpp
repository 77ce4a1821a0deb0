// Drives the built `attend` binary (path in $ATTEND_BIN, set by CTest).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "attend/train/checkpoint.h"
#include "attend/version.h"
#include "support/command.h"
#include "support/paths.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using attend::testing::data_path;
using attend::testing::fixture_path;

namespace {

using Result = attend::testing::CommandResult;
using attend::testing::read_text;

std::string bin() {
  return attend::testing::attend_bin();
}

std::string work() {
  static const std::string dir = attend::testing::fresh_temp_dir("cli");
  return dir;
}

Result run(const std::string& args) {
  return attend::testing::run_attend(args, work());
}

std::string last_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t.substr(t.rfind('\n') == std::string::npos ? 0 : t.rfind('\n') + 1);
}

// A small custom CSV: the first `rows` rows of ETTh1.
std::string tiny_csv_dir() {
  static std::string dir = [] {
    std::string d = work() + "/data";
    fs::create_directories(d);
    std::ifstream in(data_path("ETTh1.csv"));
    std::ofstream out(d + "/tiny.csv");
    std::string line;
    for (int i = 0; i <= 500 && std::getline(in, line); ++i) out << line << "\n";
    return d;
  }();
  return dir;
}

const std::string kTiny =
    "--model DLinear --data custom --data_path tiny.csv --seq_len 24 --label_len 12 --pred_len 12 "
    "--batch_size 32 --threads 1 ";

}  // namespace

TEST(Cli, Help) {
  for (std::string sub : {"", "train ", "test ", "forecast ", "models "}) {
    Result r = run(sub + "--help");
    EXPECT_EQ(r.rc, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
  Result m = run("models");
  EXPECT_NE(m.out.find("PatchTST"), std::string::npos);
}

TEST(Cli, Version) {
  Result r = run("--version");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, std::string("attend ") + ATTEND_VERSION_STRING + "\n");
}

TEST(Cli, BenchModelTrainPrintsTheRoofline) {
  Result r = run(
      "bench model --train --json --model Transformer --seq_len 24 --label_len 12 --pred_len 12 "
      "--d_model 32 --n_heads 2 --d_ff 64 --batch_size 4 --repeats 2 --warmup 1 --threads 1");
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mode"], "train_step");
  EXPECT_EQ(j["batch"], 4);
  EXPECT_GT(j["gemm_gflop"].get<double>(), 0);
  EXPECT_GT(j["gemm_calls"].get<double>(), 10);
  EXPECT_GT(j["attention_gflop"].get<double>(), 0);  // encoder, decoder and cross attention
  EXPECT_GT(j["peak_gflops_per_core"].get<double>(), 0);
  EXPECT_FALSE(j["isa"].get<std::string>().empty());
  Result table =
      run("bench model --train --model DLinear --seq_len 24 --label_len 12 "
          "--pred_len 12 --batch_size 4 --repeats 1 --warmup 0 --threads 1");
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_NE(table.out.find("GFLOP/s per core"), std::string::npos) << table.out;
}

TEST(Cli, UnknownFlagRefusedByName) {
  Result r = run("train --no_such_flag 3");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--no_such_flag"), std::string::npos) << r.err;
}

TEST(Cli, BadValuesRefusedByName) {
  for (std::string bad :
       {"--features X", "--loss foo", "--seq_len -5", "--lradj unknown", "--seq_len abc",
        "--label_len 200", "--cross_attention dense", "--cross_attention full --model PatchTST",
        "--quantiles 0,0.5 --model TemporalFusionTransformer",
        "--quantiles 0.9,0.5 --model TemporalFusionTransformer",
        "--quantiles abc --model TemporalFusionTransformer", "--quantiles 0.5,1 --model PatchTST",
        "--known_columns OT --static_columns OT --model TemporalFusionTransformer",
        "--static_columns HUFL,HUFL --model TFT", "--known_columns OT --model PatchTST",
        "--static_columns OT --model Transformer", "--model NoSuchNet"}) {
    Result r = run("train " + bad);
    EXPECT_EQ(r.rc, 2) << bad;
    const std::string flag = bad.substr(0, bad.find(' '));
    EXPECT_NE(r.err.find(flag), std::string::npos) << bad << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(Cli, BadNumbersOfOtherCommandsRefusedByName) {
  for (std::string bad : {"bench attention --len_q 0", "bench attention --dim -3",
                          "bench attention --factor x", "bench model --batch 1,0",
                          "compare --repeats 0", "explain --checkpoint c --out o --threads -1",
                          "explain --checkpoint c --out o --max_batches -1"}) {
    Result r = run(bad);
    EXPECT_EQ(r.rc, 2) << bad;
    const std::string flag = bad.substr(bad.rfind("--"), bad.rfind(' ') - bad.rfind("--"));
    EXPECT_NE(r.err.find(flag + ": "), std::string::npos) << bad << ": " << r.err;
    EXPECT_LT(r.err.size(), 120u) << r.err;  // one line, no spelled-out range
  }
}

TEST(Cli, EveryRunPyFlagAccepted) {
  std::ifstream in(fixture_path("tslib_run_flags.json"));
  nlohmann::json j = nlohmann::json::parse(in);
  const std::set<std::string> overridden = {
      "--model",     "--data",       "--root_path",    "--data_path",   "--seq_len",
      "--label_len", "--pred_len",   "--train_epochs", "--checkpoints", "--d_model",
      "--d_ff",      "--batch_size", "--is_training"};
  std::string args;
  int count = 0;
  for (const auto& f : j["flags"]) {
    const std::string name = f["flag"];
    ++count;
    if (overridden.count(name)) continue;
    const auto& d = f["default"];
    if (f["action"] != "store") {
      args += name + " ";
    } else if (d.is_null()) {
      continue;
    } else if (d.is_array()) {
      args += name;
      for (const auto& v : d) args += " " + v.dump();
      args += " ";
    } else if (d.is_string()) {
      args += name + " '" + d.get<std::string>() + "' ";
    } else {
      args += name + " " + d.dump() + " ";
    }
  }
  EXPECT_EQ(count, 95);
  Result r = run("--is_training 1 --model DLinear --data custom --root_path " + tiny_csv_dir() +
                 " --data_path tiny.csv --seq_len 24 --label_len 12 --pred_len 12 "
                 "--train_epochs 1 --d_model 8 --d_ff 8 --batch_size 64 --checkpoints " +
                 work() + "/all_flags " + args);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(last_line(r.out).rfind("mse:", 0), 0u) << r.out;
  int notes = 0;
  std::istringstream es(r.err);
  for (std::string line; std::getline(es, line);) notes += line.rfind("note:", 0) == 0;
  EXPECT_EQ(notes, 1) << r.err;
  EXPECT_NE(r.err.find("--use_gpu"), std::string::npos);
}

TEST(Cli, TrainTestForecast) {
  const std::string root = work() + "/ttf";
  Result r = run("train " + kTiny + "--root_path " + tiny_csv_dir() +
                 " --train_epochs 2 --checkpoints " + root);
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string line = last_line(r.out);
  ASSERT_EQ(line.rfind("mse:", 0), 0u) << r.out;
  std::string dir;
  for (const auto& e : fs::directory_iterator(root)) dir = e.path().string();
  EXPECT_NE(r.out.find(dir), std::string::npos);
  EXPECT_TRUE(fs::exists(dir + "/metrics.json"));
  EXPECT_NE(dir.find("long_term_forecast_test_DLinear_custom_ftM_sl24_ll12_pl12"),
            std::string::npos);

  Result t = run("test --checkpoint " + dir + " --root_path " + tiny_csv_dir() + " --threads 1");
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_EQ(last_line(t.out), line);

  const std::string out = work() + "/fc.csv";
  Result f = run("forecast --checkpoint " + dir + " --input " + tiny_csv_dir() +
                 "/tiny.csv --output " + out);
  ASSERT_EQ(f.rc, 0) << f.err;
  std::ifstream fc(out);
  std::string header, row;
  std::getline(fc, header);
  EXPECT_EQ(header, "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT");
  int rows = 0;
  std::string prev = "2016-07-21 19:00:00";  // row 500 of ETTh1 (the input's last)
  while (std::getline(fc, row)) {
    ++rows;
    const std::string date = row.substr(0, row.find(','));
    EXPECT_GT(date, prev);
    prev = date;
  }
  EXPECT_EQ(rows, 12);

  Result few = run("forecast --checkpoint " + dir + " --input " + data_path("README.md"));
  EXPECT_EQ(few.rc, 1);
  std::ofstream(work() + "/short.csv") << "date,OT\n2016-07-01 00:00:00,1\n";
  Result missing = run("forecast --checkpoint " + dir + " --input " + work() + "/short.csv");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("HUFL"), std::string::npos) << missing.err;
}

// --individual: DLinear with per-variable linear layers trains, saves, forecasts; --help documents
// it; other models refuse it by name.
TEST(Cli, DLinearIndividual) {
  Result help = run("train --help");
  ASSERT_EQ(help.rc, 0);
  const size_t at = help.out.find("--individual");
  ASSERT_NE(at, std::string::npos) << help.out;
  EXPECT_NE(help.out.find("DLinear", at), std::string::npos);

  const std::string root = work() + "/individual";
  Result r = run("train " + kTiny + "--individual --root_path " + tiny_csv_dir() +
                 " --train_epochs 1 --checkpoints " + root);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(last_line(r.out).rfind("mse:", 0), 0u) << r.out;
  std::string dir;
  for (const auto& e : fs::directory_iterator(root)) dir = e.path().string();
  EXPECT_EQ(nlohmann::json::parse(read_text(dir + "/config.json"))["individual"], true);
  const std::string weights = read_text(dir + "/weights.safetensors");
  EXPECT_NE(weights.find("\"Linear_Trend.6.weight\""), std::string::npos);  // 7 columns
  Result f = run("forecast --checkpoint " + dir + " --input " + tiny_csv_dir() + "/tiny.csv");
  ASSERT_EQ(f.rc, 0) << f.err;
  EXPECT_EQ(std::count(f.out.begin(), f.out.end(), '\n'), 13);  // header + pred_len rows

  Result bad = run("train --individual --model PatchTST");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--individual applies only to --model DLinear"), std::string::npos)
      << bad.err;
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

// The date column of a forecast CSV (header left out).
std::vector<std::string> forecast_dates(const std::string& csv) {
  std::vector<std::string> out;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) out.push_back(line.substr(0, line.find(',')));
  return out;
}

const std::string kSmall =
    "--model DLinear --data custom --seq_len 8 --label_len 4 --pred_len 4 --train_epochs 1 "
    "--batch_size 8 --threads 1 ";

// Quarter ends written date-only, trained with TSLib's default --freq h: a note names the data's
// spacing, and forecast continues quarter by quarter, date-only.
TEST(Cli, QuarterlyDatesForecastQuarterEndsDateOnly) {
  const std::string dir = work() + "/quarterly";
  fs::create_directories(dir);
  {
    std::ofstream out(dir + "/q.csv");
    out << "date,a,OT\n";
    const char* ends[] = {"03-31", "06-30", "09-30", "12-31"};
    for (int i = 0; i < 120; ++i)  // 1950-03-31 .. 1979-12-31
      out << 1950 + i / 4 << "-" << ends[i % 4] << "," << i % 7 << "," << (i * 37) % 11 << "\n";
  }
  Result r = run("train " + kSmall + "--root_path " + dir + " --data_path q.csv --checkpoints " +
                 dir + "/runs");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(lines_starting(r.err, "note:"),
            std::vector<std::string>{
                "note: --freq h (TSLib's default) is used for time features; the data's spacing is "
                "quarterly (QE); pass --freq auto or --freq QE"});
  std::string run_dir;
  for (const auto& e : fs::directory_iterator(dir + "/runs")) run_dir = e.path().string();
  Result f = run("forecast --checkpoint " + run_dir + " --input " + dir + "/q.csv");
  ASSERT_EQ(f.rc, 0) << f.err;
  EXPECT_EQ(forecast_dates(f.out),
            (std::vector<std::string>{"1980-03-31", "1980-06-30", "1980-09-30", "1980-12-31"}));
  // A left-out quarter is a missing row: refused under the checkpoint's --missing error, wherever
  // it is; filled under --missing interpolate, and the forecast dates are unchanged.
  const std::vector<std::string> rows = lines_starting(read_text(dir + "/q.csv"), "19");
  auto without = [&](size_t row, const std::string& name) {
    std::ofstream out(dir + "/" + name);
    out << "date,a,OT\n";
    for (size_t i = 0; i < rows.size(); ++i)
      if (i != row) out << rows[i] << "\n";
    return dir + "/" + name;
  };
  f = run("forecast --checkpoint " + run_dir + " --input " + without(50, "early_gap.csv"));
  EXPECT_EQ(f.rc, 1);
  EXPECT_NE(f.err.find("early_gap.csv:52: column 'date': 1 missing row(s) before '1962-12-31': "
                       "the rows are quarterly (QE) (--missing ffill, interpolate or mask"),
            std::string::npos)
      << f.err;
  for (const char* name : {"early_gap.csv", "late_gap.csv"}) {
    f = run("forecast --checkpoint " + run_dir + " --missing interpolate --input " +
            without(name == std::string("early_gap.csv") ? 50 : 117, name));
    ASSERT_EQ(f.rc, 0) << f.err;
    EXPECT_EQ(forecast_dates(f.out),
              (std::vector<std::string>{"1980-03-31", "1980-06-30", "1980-09-30", "1980-12-31"}));
  }
}

// Day-first dates need --date_format dmy; with it, training infers business days and forecast
// writes day-first dates that skip the weekend.
TEST(Cli, DayFirstDatesNeedTheFlagAndComeBackDayFirst) {
  const std::string dir = work() + "/dayfirst";
  fs::create_directories(dir);
  {
    std::ofstream out(dir + "/b.csv");
    out << "date,a,OT\n";
    int64_t day = 18262;  // 2020-01-01, a Wednesday
    for (int i = 0; i < 120; ++day) {
      const int64_t weekday = (day + 3) % 7;  // Monday 0
      if (weekday >= 5) continue;
      const std::time_t t = static_cast<std::time_t>(day * 86400);
      char text[32];
      std::strftime(text, sizeof text, "%d.%m.%Y", std::gmtime(&t));
      out << text << "," << i % 5 << "," << (i * 13) % 7 << "\n";
      ++i;
    }
  }
  const std::string args = "train " + kSmall + "--freq auto --root_path " + dir +
                           " --data_path b.csv --checkpoints " + dir + "/runs";
  Result bad = run(args);
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("b.csv:2: column 'date': '01.01.2020' is not a date"), std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("--date_format dmy"), std::string::npos) << bad.err;
  Result r = run(args + " --date_format dmy");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(lines_starting(r.err, "note:").empty()) << r.err;
  std::string run_dir;
  for (const auto& e : fs::directory_iterator(dir + "/runs")) run_dir = e.path().string();
  EXPECT_EQ(nlohmann::json::parse(read_text(run_dir + "/config.json"))["date_format"], "dmy");
  // 120 business days from Wednesday 2020-01-01 end on Tuesday 2020-06-16.
  Result f = run("forecast --checkpoint " + run_dir + " --input " + dir + "/b.csv");
  ASSERT_EQ(f.rc, 0) << f.err;
  EXPECT_EQ(forecast_dates(f.out),
            (std::vector<std::string>{"17.06.2020", "18.06.2020", "19.06.2020", "22.06.2020"}));
}

TEST(Cli, HandAssembledCheckpoint) {
  const std::string dir = work() + "/hand";
  fs::create_directories(dir);
  fs::copy_file(fixture_path("models/DLinear/weights.safetensors"), dir + "/weights.safetensors");
  nlohmann::json cfg = {{"model", "DLinear"},
                        {"data", "ETTh1"},
                        {"features", "M"},
                        {"seq_len", 96},
                        {"label_len", 48},
                        {"pred_len", 96},
                        {"enc_in", 7},
                        {"moving_avg", 25},
                        {"use_gpu", false},
                        {"des", "hand"},
                        {"p_hidden_dims", {128, 128}}};
  std::ofstream(dir + "/config.json") << cfg.dump(1);
  nlohmann::json scaler = {{"columns", {"HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"}},
                           {"mean", {7.9, 2.1, 5.0, 0.7, 3.0, 0.9, 17.1}},
                           {"scale", {5.8, 2.1, 5.6, 1.9, 1.2, 0.6, 9.2}}};
  std::ofstream(dir + "/scaler.json") << scaler.dump();
  Result t = run("test --checkpoint " + dir + " --root_path " + data_path() + " --threads 1");
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_EQ(last_line(t.out).rfind("mse:", 0), 0u);
  Result f = run("forecast --checkpoint " + dir + " --input " + data_path("ETTh1.csv"));
  ASSERT_EQ(f.rc, 0) << f.err;
  EXPECT_EQ(std::count(f.out.begin(), f.out.end(), '\n'), 97);

  cfg["bogus_key"] = 1;
  std::ofstream(dir + "/config.json") << cfg.dump(1);
  Result bad = run("forecast --checkpoint " + dir + " --input " + data_path("ETTh1.csv"));
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("bogus_key"), std::string::npos) << bad.err;
}

TEST(Cli, UnwritableCheckpointsRoot) {
  const std::string base = work() + "/ro";
  fs::create_directories(base);
  std::ofstream(base + "/file") << "x";
  Result r = run("train " + kTiny + "--root_path " + tiny_csv_dir() + " --train_epochs 1 " +
                 "--checkpoints " + base + "/file/sub");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--checkpoints"), std::string::npos) << r.err;
  int entries = 0;
  for (const auto& e : fs::directory_iterator(base)) (void)e, ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Cli, TftColumnNotInDataRefusedByName) {
  // TFT is accepted for TemporalFusionTransformer, as in `attend compare --models`
  Result r = run("train " + kTiny + "--root_path " + tiny_csv_dir() +
                 " --model TFT --static_columns NOPE --train_epochs 1 "
                 "--checkpoints " +
                 work() + "/tft_cols");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--static_columns: column 'NOPE'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HUFL"), std::string::npos) << r.err;  // lists the columns there are
  EXPECT_FALSE(fs::exists(work() + "/tft_cols"));             // nothing written for a refused run
}

namespace {

// SIGINT or SIGTERM during training: state saved, exit 128 + the signal, and --resume ends on the
// same line as an uninterrupted run. The signal is made pending before exec (blocked in the child,
// then sent), so attend's signal watcher takes it as soon as training starts: no race with a fast
// machine finishing the run first. Stopping at a later batch is covered by
// Trainer.StopAndResumeMatchesUninterrupted.
// How start_attend runs the child.
struct ChildSetup {
  // Blocked in the parent across fork and exec and sent to the child: pending when attend starts,
  // so they arrive before training's first batch whatever the machine's speed.
  std::vector<int> pending_signals;
  std::vector<std::string> env;  // NAME=value added to the environment
  // RLIMIT_FSIZE in bytes, with SIGXFSZ ignored: a write past it fails with EFBIG, as on a full
  // disk. Negative: no limit.
  long file_size_limit = -1;
  std::string out = "/dev/null", err = "/dev/null";
  int err_fd = -1;  // when set, stderr goes there instead of to `err` (a pipe: no size limit)
};

// Starts attend with `args` (split at spaces) as `setup` says; returns its PID.
pid_t start_attend(const std::string& args, const ChildSetup& setup) {
  // argv and the environment prepared before fork: the child only calls async-signal-safe
  // functions
  std::vector<std::string> words{bin()};
  std::istringstream split(args);
  for (std::string w; split >> w;) words.push_back(w);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_words = setup.env;
  env_words.push_back("OMP_WAIT_POLICY=passive");
  std::vector<char*> envp;
  for (auto& w : env_words) envp.push_back(w.data());
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(nullptr);

  sigset_t block, old;
  sigemptyset(&block);
  for (int sig : setup.pending_signals) sigaddset(&block, sig);
  EXPECT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int out = ::open(setup.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(setup.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(126);
    dup2(out, STDOUT_FILENO);
    dup2(setup.err_fd >= 0 ? setup.err_fd : err, STDERR_FILENO);
    if (setup.file_size_limit >= 0) {
      signal(SIGXFSZ, SIG_IGN);  // kept across exec
      const rlim_t n = static_cast<rlim_t>(setup.file_size_limit);
      const rlimit limit{n, n};
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (pid > 0)
    for (int sig : setup.pending_signals) kill(pid, sig);  // pending until attend takes them
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_GT(pid, 0);
  return pid;
}

// waitpid's status of `pid`.
int wait_for(pid_t pid) {
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  return status;
}

// Runs attend with `args`, the signals `sigs` already pending when it starts; stderr to `err`.
// Returns waitpid's status.
int run_with_pending_signals(const std::string& args, const std::vector<int>& sigs,
                             const std::string& err) {
  ChildSetup setup;
  setup.pending_signals = sigs;
  setup.err = err;
  return wait_for(start_attend(args, setup));
}

const std::string& stop_test_flags() {
  static const std::string flags =
      "train --model PatchTST --d_model 16 --n_heads 2 --e_layers 1 "
      "--d_ff 16 --data custom --data_path tiny.csv --seq_len 48 "
      "--label_len 24 --pred_len 24 --batch_size 8 --train_epochs 4 "
      "--patience 40 --learning_rate 0.001 --threads 1 --root_path " +
      tiny_csv_dir();
  return flags;
}

void stop_then_resume_matches(int sig, const std::string& name) {
  const std::string& common = stop_test_flags();
  Result full = run(common + " --checkpoints " + work() + "/" + name + "_full");
  ASSERT_EQ(full.rc, 0) << full.err;

  const std::string root = work() + "/" + name + "_stopped";
  const std::string err = work() + "/" + name + "_err.txt";
  const int status = run_with_pending_signals(common + " --checkpoints " + root, {sig}, err);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  ASSERT_EQ(WEXITSTATUS(status), 128 + sig) << read_text(err);
  EXPECT_NE(read_text(err).find("--resume"), std::string::npos);
  std::string dir;
  for (const auto& e : fs::directory_iterator(root)) dir = e.path().string();
  EXPECT_TRUE(fs::exists(dir + "/resume/state.json"));

  Result resumed = run(common + " --checkpoints " + root + " --resume");
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  EXPECT_EQ(last_line(resumed.out), last_line(full.out));
  EXPECT_FALSE(fs::exists(dir + "/resume"));
}

}  // namespace

TEST(Cli, SigintThenResumeMatches) {
  stop_then_resume_matches(SIGINT, "sigint");
}

TEST(Cli, SigtermThenResumeMatches) {
  stop_then_resume_matches(SIGTERM, "sigterm");
}

// The first stop signal asks for a save at the next batch; a second one quits at once, by the
// signal's default action (the watcher takes the lower-numbered SIGINT first, then SIGTERM; had the
// run saved and ended first, the SIGTERM still pending would meet the restored default action).
TEST(Cli, SecondStopSignalQuitsAtOnce) {
  const std::string root = work() + "/twice";
  const std::string err = work() + "/twice_err.txt";
  const int status = run_with_pending_signals(stop_test_flags() + " --checkpoints " + root,
                                              {SIGINT, SIGTERM}, err);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status) << ": " << read_text(err);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_NE(read_text(err).find("again quits at once"), std::string::npos);
}

// `attend backtest --refit 0` over every test window (step 1) prints `attend test`'s line and
// writes its files; bad flags are usage errors naming the flag.
TEST(Cli, BacktestRefitZeroIsTest) {
  const std::string root = work() + "/bt";
  Result r = run("train " + kTiny + "--root_path " + tiny_csv_dir() +
                 " --train_epochs 1 --checkpoints " + root);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string dir;
  for (const auto& e : fs::directory_iterator(root)) dir = e.path().string();
  Result t = run("test --checkpoint " + dir + " --root_path " + tiny_csv_dir() + " --threads 1");
  ASSERT_EQ(t.rc, 0) << t.err;
  const std::string out = work() + "/bt_out";
  Result b = run("backtest --checkpoint " + dir + " --root_path " + tiny_csv_dir() +
                 " --n_windows all --threads 1 --out " + out);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(last_line(b.out), last_line(t.out));
  for (const char* f :
       {"cutoffs.csv", "forecasts.csv", "metrics.json", "backtest.png", "backtest.svg"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;

  const std::string ck = " --checkpoint " + dir;
  // the last: --refit 0 needs a checkpoint
  for (std::string bad : {"--step 0" + ck, "--refit -1" + ck, "--n_windows x" + ck,
                          "--d_model 8" + ck, std::string()}) {
    Result e = run("backtest --out " + out + " " + bad);
    if (bad.empty()) bad = "--checkpoint";
    EXPECT_EQ(e.rc, 2) << bad << ": " << e.err;
    const std::string flag = bad.substr(0, bad.find(' '));
    EXPECT_NE(e.err.find(flag), std::string::npos) << bad << ": " << e.err;
  }
}

// A backtest that retrains stops cleanly on SIGINT (here pending from the start): exit 130.
TEST(Cli, BacktestStopsOnSigint) {
  const std::string out = work() + "/bt_stop";
  const std::string err = work() + "/bt_stop_err.txt";
  const int status =
      run_with_pending_signals("backtest " + kTiny + "--root_path " + tiny_csv_dir() +
                                   " --train_epochs 1 --refit 1 --n_windows 3 --out " + out,
                               {SIGINT}, err);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_text(err);
  EXPECT_NE(read_text(err).find("interrupted"), std::string::npos) << read_text(err);
  // The watcher thread may take the signal before the first cut-off or during it: whatever was
  // written is marked incomplete.
  if (fs::exists(out + "/metrics.json"))
    EXPECT_NE(read_text(out + "/metrics.json").find("\"complete\": false"), std::string::npos)
        << read_text(out + "/metrics.json");
}

namespace {

// The run folder under `root` (its one entry not starting with '.'), or "" when none is there.
std::string run_folder_in(const std::string& root) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::end(it); it.increment(ec))
    if (it->path().filename().string()[0] != '.') return it->path().string();
  return "";
}

// The entries under `root` starting with '.': temporaries of folder and file writes.
std::vector<std::string> hidden_entries(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(root))
    if (e.path().filename().string()[0] == '.') out.push_back(e.path().filename().string());
  return out;
}

// Every file under `dir` (relative path -> contents).
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_text(e.path());
  return out;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// Failures recorded so far in the running test.
int failed_parts() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
}

double seconds_since(const std::chrono::steady_clock::time_point& t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// Runs attend with the file size limit `bytes` on every file it writes (stderr goes to a pipe).
// rc: the exit code, or -1 when a signal ended it.
Result run_with_file_size_limit(const std::string& args, long bytes) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  ChildSetup setup;
  setup.file_size_limit = bytes;
  setup.err_fd = fds[1];
  const pid_t pid = start_attend(args, setup);
  ::close(fds[1]);
  Result r;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) r.err.append(buf, n);
  ::close(fds[0]);
  const int status = wait_for(pid);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A full disk: with the file size limit below the checkpoint's size every write fails with EFBIG.
// train exits 1 naming the file, why, and that the previous checkpoint is kept, which it is byte
// for byte; forecast --output and backtest --out leave no half-written or temporary file; an
// error message that cannot be written either still ends in exit 1.
TEST(Cli, FullDiskIsAClearErrorAndKeepsThePreviousCheckpoint) {
  const std::string root = work() + "/full";
  const std::string flags = "train " + kTiny + "--root_path " + tiny_csv_dir() +
                            " --train_epochs 2 --checkpoints " + root;
  Result first = run(flags);
  ASSERT_EQ(first.rc, 0) << first.err;
  const std::string dir = run_folder_in(root);
  const auto before = snapshot(dir);
  ASSERT_GT(before.at("weights.safetensors").size(), 1000u);

  Result r = run_with_file_size_limit(flags, 1000);
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("error: '" + dir + "' was not replaced (the previous one is kept)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("weights.safetensors' failed: File too large"), std::string::npos) << r.err;
  EXPECT_EQ(snapshot(dir), before);
  EXPECT_TRUE(hidden_entries(root).empty());
  EXPECT_EQ(last_line(run("test --checkpoint " + dir + " --root_path " + tiny_csv_dir()).out),
            last_line(first.out));

  const std::string out = work() + "/full_out";
  fs::create_directories(out);
  r = run_with_file_size_limit("forecast --checkpoint " + dir + " --input " + tiny_csv_dir() +
                                   "/tiny.csv --output " + out + "/fc.csv",
                               200);
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("fc.csv' failed: File too large"), std::string::npos) << r.err;
  r = run_with_file_size_limit(
      "backtest --checkpoint " + dir + " --root_path " + tiny_csv_dir() + " --out " + out + "/bt",
      200);
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  // files are complete or absent (backtest's cutoffs.csv fits under the limit): no temporaries
  for (const auto& [name, text] : snapshot(out))
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
  EXPECT_FALSE(fs::exists(out + "/fc.csv"));

  ChildSetup tiny;  // stderr in a file under the limit too: the message itself fails
  tiny.file_size_limit = 10;
  tiny.err = work() + "/full_err.txt";
  const int status =
      wait_for(start_attend("forecast --checkpoint " + dir + " --input " + tiny_csv_dir() +
                                "/tiny.csv --output " + out + "/fc.csv",
                            tiny));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
}

// Crash safety (docs/reliability.md, "Crash safety"): `attend train` killed with SIGKILL at a
// random moment after its first checkpoint leaves a run folder whose checkpoint loads, and
// `--resume` (when the run had not finished) ends on the uninterrupted run's metrics line.
// ATTEND_TEST_SLOW_WRITES=10 makes every file and folder write pause 10 ms before it is put in
// place, so most kills land inside a write. ATTEND_CRASH_TRIALS (20) sets the number of trials,
// ATTEND_CRASH_SEED replays the random delays of a failed run.
TEST(Cli, CrashTrials) {
  const int trials = env_int("ATTEND_CRASH_TRIALS", 20);
  const unsigned seed = static_cast<unsigned>(env_int("ATTEND_CRASH_SEED", std::random_device{}()));
  std::mt19937 random(seed);
  const std::string flags =
      "train " + kTiny + "--root_path " + tiny_csv_dir() + " --train_epochs 6 --patience 100";
  ChildSetup slow;
  slow.env = {"ATTEND_TEST_SLOW_WRITES=10"};

  // Starts a slowed run into `root` and waits for its first checkpoint; returns its PID, or -1
  // when the run folder did not appear within a minute.
  auto start_until_first_checkpoint = [&](const std::string& root, const std::string& out) {
    slow.out = out;
    const pid_t pid = start_attend(flags + " --checkpoints " + root, slow);
    const auto t0 = std::chrono::steady_clock::now();
    while (run_folder_in(root).empty()) {
      if (seconds_since(t0) > 60) {
        kill(pid, SIGKILL);
        wait_for(pid);
        return pid_t{-1};
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return pid;
  };

  // The reference: the same run uninterrupted, and how long it goes on after its first checkpoint.
  const std::string ref_root = work() + "/crash_ref";
  const pid_t ref = start_until_first_checkpoint(ref_root, work() + "/crash_ref_out.txt");
  ASSERT_GT(ref, 0);
  const auto t_ref = std::chrono::steady_clock::now();
  ASSERT_EQ(wait_for(ref), 0);
  const double tail_s = seconds_since(t_ref);
  const std::string want = last_line(read_text(work() + "/crash_ref_out.txt"));
  ASSERT_EQ(want.rfind("mse:", 0), 0u) << want;

  int in_file_write = 0, in_folder_write = 0, between_writes = 0, finished = 0, failures = 0;
  for (int trial = 0; trial < trials; ++trial) {
    SCOPED_TRACE(fmt::format("trial {} of ATTEND_CRASH_SEED={}", trial, seed));
    const int before = failed_parts();
    const std::string root = fmt::format("{}/crash_{}", work(), trial);
    const pid_t pid = start_until_first_checkpoint(root, "/dev/null");
    ASSERT_GT(pid, 0) << "no checkpoint within a minute";
    const double delay = std::uniform_real_distribution<double>(0, 1.1 * tail_s)(random);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    kill(pid, SIGKILL);
    const int status = wait_for(pid);
    const bool killed = WIFSIGNALED(status);
    EXPECT_TRUE(killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) << status;

    // Where the kill landed: a temporary folder beside the run folder (holding a temporary file:
    // inside a file write), or none.
    bool temp_file = false;
    const std::vector<std::string> temps = hidden_entries(root);
    for (const auto& t : temps)
      for (const auto& e : fs::recursive_directory_iterator(root + "/" + t))
        temp_file |= e.path().filename().string().find(".tmp.") != std::string::npos;
    if (!killed)
      ++finished;
    else if (temp_file)
      ++in_file_write;
    else if (!temps.empty())
      ++in_folder_write;
    else
      ++between_writes;

    const std::string dir = run_folder_in(root);
    ASSERT_FALSE(dir.empty());
    try {
      attend::Context ctx({.threads = 1});
      const auto info = attend::train::read_checkpoint(dir);
      attend::train::load_checkpoint_model(info, "h", ctx);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the checkpoint in " << dir << " does not load: " << e.what();
    }
    EXPECT_TRUE(hidden_entries(root).empty());  // read_checkpoint cleaned the killed temporaries
    if (fs::exists(dir + "/resume/state.json")) {
      Result resumed = run(flags + " --checkpoints " + root + " --resume");
      EXPECT_EQ(resumed.rc, 0) << resumed.err;
      EXPECT_EQ(last_line(resumed.out), want);
    }
    EXPECT_TRUE(fs::exists(dir + "/metrics.json"));
    EXPECT_FALSE(fs::exists(dir + "/resume"));
    failures += failed_parts() > before;
    if (failures == 0) fs::remove_all(root);
  }
  const std::string summary = fmt::format(
      "{} trials, {} failures: killed inside a file write {}, inside a folder write {}, between "
      "writes {}, finished first {} (seed {})",
      trials, failures, in_file_write, in_folder_write, between_writes, finished, seed);
  std::printf("%s\n", summary.c_str());
  RecordProperty("summary", summary);
}

// `attend compare` stops cleanly on SIGINT and SIGTERM (pending from the start): exit 130 or 143,
// a line saying how many models were done, and no table for none.
TEST(Cli, CompareStopsOnSigintAndSigterm) {
  for (const int sig : {SIGINT, SIGTERM}) {
    const std::string out = work() + "/cmp_stop_" + std::to_string(sig);
    const std::string err = out + "_err.txt";
    const int status = run_with_pending_signals(
        "compare --models DLinear,PatchTST " + kTiny.substr(kTiny.find("--data ")) +
            "--root_path " + tiny_csv_dir() + " --train_epochs 1 --repeats 1 --out " + out,
        {sig}, err);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << read_text(err);
    EXPECT_NE(read_text(err).find(sig == SIGINT ? "interrupted: stopped after 0 of 2 models"
                                                : "terminated: stopped after 0 of 2 models"),
              std::string::npos)
        << read_text(err);
    EXPECT_FALSE(fs::exists(out));
  }
}

// `attend explain` stops cleanly on SIGTERM and SIGINT (pending from the start): exit 143 or 130,
// a line saying so, and no report.html.
TEST(Cli, ExplainStopsOnSigtermAndSigint) {
  const std::string root = work() + "/explain_stop";
  Result r = run(stop_test_flags() + " --train_epochs 1 --checkpoints " + root);
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string dir = run_folder_in(root);
  for (const int sig : {SIGTERM, SIGINT}) {
    const std::string out = root + "_out_" + std::to_string(sig);
    const std::string err = out + "_err.txt";
    const int status = run_with_pending_signals("explain --checkpoint " + dir + " --root_path " +
                                                    tiny_csv_dir() + " --threads 1 --out " + out,
                                                {sig}, err);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << read_text(err);
    EXPECT_NE(read_text(err).find(sig == SIGINT ? "interrupted: stopped after writing"
                                                : "terminated: stopped after writing"),
              std::string::npos)
        << read_text(err);
    EXPECT_FALSE(fs::exists(out + "/report.html"));
  }
  Result done = run("explain --checkpoint " + dir + " --root_path " + tiny_csv_dir() +
                    " --threads 1 --max_batches 1 --out " + root + "_out");
  EXPECT_EQ(done.rc, 0) << done.err;
  EXPECT_TRUE(fs::exists(root + "_out/report.html"));
}
