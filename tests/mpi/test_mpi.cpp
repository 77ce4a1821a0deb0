// `mpirun -np N attend train ...` on loopback against one process with the same global batch:
// the same weights and metrics (to the summation order), --resume with another N after SIGTERM to
// mpirun, a killed rank ending the job; `mpirun -np N attend compare` against one process's table.
// $ATTEND_BIN is the CLI (CTest sets it), $ATTEND_MPIEXEC mpirun (default: the one CMake found);
// the tests run alone (RUN_SERIAL): the ranks take the cores.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "attend/io/safetensors.h"
#include "support/command.h"
#include "support/paths.h"
#include "support/same_training.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using attend::testing::kKeyBiasNoise;
using attend::testing::kPatchTstNoise;
using attend::testing::relative_difference;
using Clock = std::chrono::steady_clock;

namespace {

using Result = attend::testing::CommandResult;
using attend::testing::read_text;

std::string bin() {
  return attend::testing::attend_bin();
}

// mpirun for a container or CI machine: as root, more ranks than cores allowed, no binding to
// cores (other jobs share them), shared memory without the kernel's single-copy mechanism
// (CMA/ptrace, often refused in containers) and no network transports.
std::string mpirun(int ranks) {
  const char* m = std::getenv("ATTEND_MPIEXEC");
  return fmt::format(
      "{} --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader "
      "--mca btl_vader_single_copy_mechanism none -np {} ",
      m ? m : ATTEND_MPIEXEC, ranks);
}

// In a sanitizer build, LeakSanitizer reports what Open MPI keeps past MPI_Finalize; the
// suppressions (scripts/lsan.supp) name Open MPI's libraries, which only full stacks reach: Open
// MPI is built without frame pointers, where the fast unwinder stops. Set for the child processes
// (ignored outside sanitizer builds).
[[maybe_unused]] const bool kFullStacksForChildren = [] {
  const char* a = std::getenv("ASAN_OPTIONS");
  const std::string options = (a && *a ? std::string(a) + ":" : "") + "fast_unwind_on_malloc=0";
  return setenv("ASAN_OPTIONS", options.c_str(), 1) == 0;
}();

std::string work() {
  static const std::string dir = attend::testing::fresh_temp_dir("mpi");
  return dir;
}

// Runs `prefix attend args` through the shell; stdout and stderr captured.
Result run(const std::string& prefix, const std::string& args) {
  return attend::testing::run_attend(args, work(), prefix);
}

// The first rows of ETTh1 in a data folder: tiny.csv (500 rows) for the equality tests, and
// small.csv (8000 rows) for the stop tests: on SIGTERM, Open MPI's mpirun sends the ranks SIGCONT,
// SIGTERM one second later, then SIGKILL, so the training left after the first epoch must outlast
// that second on a fast machine (one that trains 12 epochs of tiny.csv in 0.3 s).
// Under AddressSanitizer (with full stacks, ten times slower or more) tiny.csv is long enough.
#ifdef __SANITIZE_ADDRESS__
constexpr int kTinyRows = 500, kSmallRows = 500;
#else
constexpr int kTinyRows = 500, kSmallRows = 8000;
#endif

std::string data_dir() {
  static const std::string dir = [] {
    const std::string d = work() + "/data";
    fs::create_directories(d);
    for (const auto& [name, rows] : {std::pair{"tiny.csv", kTinyRows}, {"small.csv", kSmallRows}}) {
      std::ifstream in(attend::testing::data_path("ETTh1.csv"));
      std::ofstream out(d + "/" + name);
      std::string line;
      for (int i = 0; i <= rows && std::getline(in, line); ++i) out << line << "\n";
    }
    return d;
  }();
  return dir;
}

// The flags of every run but --model (compare takes --models).
std::string run_flags(int epochs, const std::string& file = "tiny.csv") {
  return fmt::format(
      "--d_model 16 --n_heads 2 --e_layers 1 --d_layers 1 --d_ff 16 --dropout 0.1 "
      "--data custom --root_path {} --data_path {} --seq_len 24 --label_len 12 "
      "--pred_len 12 --batch_size 8 --train_epochs {} --patience 100 --learning_rate 0.0001 "
      "--threads 1",
      data_dir(), file, epochs);
}

std::string flags(const std::string& model, int epochs, const std::string& file = "tiny.csv") {
  return "--model " + model + " " + run_flags(epochs, file);
}

// The one run folder under a --checkpoints root.
std::string run_folder(const std::string& root) {
  std::string dir;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) dir = e.path().string();
  return dir;
}

std::map<std::string, std::vector<float>> weights(const std::string& root) {
  std::map<std::string, std::vector<float>> out;
  attend::Context ctx;
  for (const auto& [name, t] :
       attend::io::load_tensors(run_folder(root) + "/weights.safetensors", ctx))
    if (t.dtype() == attend::DType::F32) out[name] = t.contiguous_data().to_vector<float>();
  return out;
}

nlohmann::json metrics(const std::string& root) {
  return nlohmann::json::parse(read_text(run_folder(root) + "/metrics.json"));
}

// Batches per epoch of flags() on `rows` rows: 70 % train, windows train − 24 − 12 + 1, of 8.
int64_t batches_per_epoch(int rows) {
  const int64_t windows = rows * 7 / 10 - 24 - 12 + 1;
  return (windows + 7) / 8;
}

void expect_same_training(const std::string& root_a, const std::string& root_b, int epochs,
                          const std::vector<std::string>& noise, int rows = kTinyRows) {
  attend::testing::expect_same_weights(weights(root_a), weights(root_b), 1e-4,
                                       batches_per_epoch(rows) * epochs, noise);
  const nlohmann::json a = metrics(root_a), b = metrics(root_b);
  for (const char* m : {"mse", "mae", "rmse"})
    EXPECT_LT(relative_difference(a.at(m).get<double>(), b.at(m).get<double>()), 1e-5) << m;
}

void same_as_one_process(const std::string& model, const std::vector<std::string>& noise) {
  const std::string one = work() + "/" + model + "_1", two = work() + "/" + model + "_2";
  const Result a = run("", "train " + flags(model, 2) + " --checkpoints " + one);
  ASSERT_EQ(a.rc, 0) << a.err;
  const Result b = run(mpirun(2), "train " + flags(model, 2) + " --checkpoints " + two);
  ASSERT_EQ(b.rc, 0) << b.err;
  expect_same_training(one, two, 2, noise);
  // rank 0 alone prints: one result line, one progress line per epoch
  EXPECT_EQ(b.out.find("mse:"), b.out.rfind("mse:")) << b.out;
  EXPECT_EQ(b.err.find("epoch 2/2"), b.err.rfind("epoch 2/2")) << b.err;
  EXPECT_NE(b.err.find("data-parallel training: 2 processes"), std::string::npos) << b.err;
}

}  // namespace

// Transformer with dropout: masks drawn by global window index.
TEST(Mpi, TransformerWithDropoutEqualsOneProcess) {
  same_as_one_process("Transformer", kKeyBiasNoise);
}

// PatchTST's encoder BatchNorm: statistics synchronised over the ranks.
TEST(Mpi, PatchTstBatchNormEqualsOneProcess) {
  same_as_one_process("PatchTST", kPatchTstNoise);
}

// run.py's form (no subcommand) trains across processes as `train` does.
TEST(Mpi, RunPyForm) {
  const std::string root = work() + "/runpy";
  const Result r =
      run(mpirun(2), "--is_training 1 " + flags("DLinear", 1) + " --checkpoints " + root);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("mse:"), r.out.rfind("mse:")) << r.out;
  EXPECT_TRUE(fs::exists(run_folder(root) + "/metrics.json"));
}

// Other commands run alone: refused by name under mpirun with several processes.
TEST(Mpi, OtherCommandsRefused) {
  for (const char* args :
       {"models", "forecast --checkpoint none --input none.csv", "bench attention --repeats 1"}) {
    const Result r = run(mpirun(2), args);
    EXPECT_EQ(r.rc, 2) << args;
    EXPECT_NE(r.err.find("only training runs across processes"), std::string::npos) << r.err;
  }
}

namespace {

// A compare table without its time columns: the lines of `text` (compare.csv, or the Markdown
// table on stdout) split at `sep`, cells trimmed, the columns whose header ends in "_s" or "_ms"
// (train_s, epoch_train_s, latency_b1_ms, latency_b32_ms) left out.
std::vector<std::vector<std::string>> untimed(const std::string& text, char sep) {
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> timed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells, kept;
    std::istringstream in(line);
    for (std::string c; std::getline(in, c, sep);) {
      const size_t b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : c.substr(b, e - b + 1));
    }
    if (timed.empty())
      for (const auto& c : cells) timed.push_back(c.ends_with("_s") || c.ends_with("_ms"));
    for (size_t i = 0; i < cells.size(); ++i)
      if (i >= timed.size() || !timed[i]) kept.push_back(cells[i]);
    rows.push_back(kept);
  }
  return rows;
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// `attend compare --models <models>` alone and under `mpirun -np <ranks>`: the same table on
// stdout and in compare.csv but for the times, printed and written once, by rank 0.
void compare_same_as_one_process(const std::string& models, int ranks) {
  const std::string args =
      "compare --models " + models + " " + run_flags(1) + " --repeats 2 --warmup 0 --out ";
  const std::string one = fmt::format("{}/compare{}_alone", work(), ranks),
                    many = fmt::format("{}/compare{}", work(), ranks);
  const Result a = run("", args + one);
  ASSERT_EQ(a.rc, 0) << a.err;
  const Result b = run(mpirun(ranks), args + many);
  ASSERT_EQ(b.rc, 0) << b.err;
  const size_t n = static_cast<size_t>(std::count(models.begin(), models.end(), ',')) + 1;
  const auto table = untimed(a.out, '|');
  ASSERT_EQ(table.size(), n + 2) << a.out;  // header, rule, one row per model
  EXPECT_EQ(untimed(b.out, '|'), table) << b.out;
  const auto csv = untimed(read_text(one + "/compare.csv"), ',');
  EXPECT_EQ(csv.size(), n + 1);
  EXPECT_EQ(untimed(read_text(many + "/compare.csv"), ','), csv);
  EXPECT_EQ(count(b.err, "wrote "), 2u) << b.err;  // compare.csv and compare.md, by rank 0
  EXPECT_EQ(count(b.err, fmt::format("compare across {} processes", ranks)), 1u) << b.err;
}

}  // namespace

// Three models on two processes (rank 0 trains the first and the third, rank 1 the second).
TEST(Mpi, CompareSharesTheModels) {
  compare_same_as_one_process("DLinear,PatchTST,Transformer", 2);
}

// More processes than models: the idle rank waits for the rows.
TEST(Mpi, CompareWithAnIdleProcess) {
  compare_same_as_one_process("DLinear,PatchTST", 3);
}

namespace {

// Starts `mpirun -np ranks attend args` in its own process group; stderr to err. Returns mpirun's
// PID.
pid_t start(const std::string& args, const std::string& err, int ranks = 2) {
  const std::string cmd = "exec " + mpirun(ranks) + bin() + " " + args + " >/dev/null 2>" + err;
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits until `text` appears in the file (true) or `seconds` pass (false).
bool wait_for_text(const std::string& path, const std::string& text, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (read_text(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// waitpid with a deadline: the exit status, or -1 (the process is then killed) after `seconds`.
int wait_exit(pid_t pid, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (Clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// The PIDs of mpirun's ranks, by OMPI_COMM_WORLD_RANK in their environment.
std::map<int, pid_t> ranks_of(pid_t mpirun_pid) {
  std::map<int, pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::istringstream stat(read_text(e.path().string() + "/stat"));
    std::string pid, comm, state;
    pid_t ppid = 0;
    stat >> pid >> comm >> state >> ppid;
    if (ppid != mpirun_pid) continue;
    const std::string env = read_text(e.path().string() + "/environ");
    const std::string key = std::string("OMPI_COMM_WORLD_RANK=");
    const size_t at = env.find(key);
    if (at != std::string::npos)
      out[std::atoi(env.c_str() + at + key.size())] = static_cast<pid_t>(std::stoi(name));
  }
  return out;
}

}  // namespace

// SIGTERM to mpirun mid-training: mpirun passes it to every rank, they agree to stop before the
// same batch and rank 0 saves the state; --resume with one process and with three ends as the
// uninterrupted run does.
TEST(Mpi, SigtermThenResumeWithAnotherNumberOfProcesses) {
  const int epochs = 12;  // with small.csv, long enough for the signal to come mid-training
  const std::string full = work() + "/full";
  const Result a =
      run("", "train " + flags("Transformer", epochs, "small.csv") + " --checkpoints " + full);
  ASSERT_EQ(a.rc, 0) << a.err;

  for (int resume_ranks : {1, 3}) {
    const std::string root = fmt::format("{}/stopped{}", work(), resume_ranks);
    const std::string err = root + "_err.txt";
    const pid_t pid =
        start("train " + flags("Transformer", epochs, "small.csv") + " --checkpoints " + root, err);
    ASSERT_TRUE(wait_for_text(err, "epoch 1/", 120)) << read_text(err);
    kill(pid, SIGTERM);
    const int status = wait_exit(pid, 60);
    ASSERT_NE(status, -1) << "mpirun did not end after SIGTERM";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
    ASSERT_TRUE(wait_for_text(err, "terminated: state saved", 1)) << read_text(err);
    const std::string state = run_folder(root) + "/resume/state.json";
    ASSERT_TRUE(fs::exists(state));
    const auto saved = nlohmann::json::parse(read_text(state));
    EXPECT_LT(saved.at("epoch").get<int>(), epochs);  // stopped before the end

    const std::string prefix = resume_ranks == 1 ? "" : mpirun(resume_ranks);
    const Result r = run(prefix, "train " + flags("Transformer", epochs, "small.csv") +
                                     " --checkpoints " + root + " --resume");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
    expect_same_training(full, root, epochs, kKeyBiasNoise, kSmallRows);
  }
}

// A rank killed outright ends the job within seconds, non-zero, and mpirun says which rank.
TEST(Mpi, KilledRankEndsTheJob) {
  const std::string root = work() + "/killed", err = root + "_err.txt";
  const pid_t pid =
      start("train " + flags("Transformer", 30, "small.csv") + " --checkpoints " + root, err);
  ASSERT_TRUE(wait_for_text(err, "epoch 1/", 120)) << read_text(err);
  const std::map<int, pid_t> ranks = ranks_of(pid);
  ASSERT_EQ(ranks.size(), 2u);
  const auto t0 = Clock::now();
  kill(ranks.at(1), SIGKILL);
  const int status = wait_exit(pid, 30);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_NE(status, -1) << "the job hung after a rank died:\n" << read_text(err);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  EXPECT_LT(seconds, 10.0);
  EXPECT_NE(read_text(err).find("rank 1"), std::string::npos) << read_text(err);
}

// SIGTERM to mpirun while the ranks train their models: each rank stops its model at the next
// batch, rank 0 gathers the rows done (none here) and says so, and the job ends.
TEST(Mpi, CompareStopsOnSigterm) {
  const std::string out = work() + "/compare_stopped", err = out + "_err.txt";
  const pid_t pid = start(
      "compare --models Transformer,PatchTST " + run_flags(30, "small.csv") + " --out " + out, err);
  ASSERT_TRUE(wait_for_text(err, "epoch 1/", 120)) << read_text(err);
  kill(pid, SIGTERM);
  const int status = wait_exit(pid, 60);
  ASSERT_NE(status, -1) << "mpirun did not end after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  ASSERT_TRUE(wait_for_text(err, "terminated: stopped after", 1)) << read_text(err);
  EXPECT_EQ(count(read_text(err), "terminated: stopped after 0 of 2 models"), 1u) << read_text(err);
  EXPECT_FALSE(fs::exists(out));
}

// An error on the ranks that train (a data file they cannot open) ends the job, the idle rank
// waiting for their rows included (MPI_Abort), and says which rank.
TEST(Mpi, CompareErrorEndsTheJob) {
  const std::string out = work() + "/compare_error", err = out + "_err.txt";
  const pid_t pid = start(
      "compare --models DLinear,PatchTST " + run_flags(1, "missing.csv") + " --out " + out, err, 3);
  const int status = wait_exit(pid, 60);
  ASSERT_NE(status, -1) << "the job hung after an error:\n" << read_text(err);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  EXPECT_NE(read_text(err).find("of 3): "), std::string::npos) << read_text(err);
  EXPECT_NE(read_text(err).find("missing.csv"), std::string::npos) << read_text(err);
  EXPECT_FALSE(fs::exists(out));
}
