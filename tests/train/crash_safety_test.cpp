// Crash safety of run folders: the folder is replaced in one step, temporaries of a killed writer
// are cleaned, and the run folder holds a checkpoint and resume/ after every epoch. The kill -9
// trials against the binary are in tests/cli (Cli.CrashTrials).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "attend/train/checkpoint.h"
#include "attend/train/experiment.h"
#include "support/command.h"
#include "support/paths.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace attend::train {
namespace {

using attend::testing::read_text;

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The PID of a process that has exited (and been reaped): what a killed writer leaves behind.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

void write_text_folder(const std::string& dir, const std::string& text) {
  write_folder_atomic(dir, [&](const std::string& tmp) { std::ofstream(tmp + "/a.txt") << text; });
}

// A reader polling the folder while it is replaced again and again never finds it missing or
// without its file (renameat2 RENAME_EXCHANGE; the earlier two renames left a gap between them).
TEST(CrashSafety, ReplacingNeverLeavesTheFolderMissing) {
  const std::string dir = attend::testing::fresh_temp_dir("crash_swap") + "/run";
  write_text_folder(dir, "0");
  std::atomic<bool> done{false};
  std::atomic<int> missing{0}, reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      if (!fs::exists(dir + "/a.txt")) ++missing;
      ++reads;
    }
  });
  for (int i = 1; i <= 200; ++i) write_text_folder(dir, std::to_string(i));
  done = true;
  reader.join();
  EXPECT_EQ(missing.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_EQ(read_text(dir + "/a.txt"), "200");
  EXPECT_EQ(entries(fs::path(dir).parent_path().string()), std::vector<std::string>{"run"});
}

// Temporaries of a writer that died are removed by the next write or read; a ".old-" folder with
// the destination missing (killed between the fallback's two renames) is put back first.
TEST(CrashSafety, StaleTemporariesOfAKilledWriterAreCleaned) {
  const std::string root = attend::testing::fresh_temp_dir("crash_stale");
  const std::string dir = root + "/run";
  const std::string pid = std::to_string(dead_pid());
  const std::string mine = std::to_string(::getpid());
  write_text_folder(dir, "previous");
  fs::rename(dir, root + "/.run.old-" + pid + "-0000beef");
  fs::create_directory(root + "/.run.tmp-" + pid + "-0000cafe");
  std::ofstream(root + "/.run.tmp-" + pid + "-0000cafe/a.txt") << "half";
  fs::create_directory(root + "/.other.tmp-" + pid + "-00000001");  // another folder's: kept
  fs::create_directory(root + "/.run.tmp-" + mine + "-00000002");   // a live writer's: kept
  recover_folder(dir);
  EXPECT_EQ(read_text(dir + "/a.txt"), "previous");
  EXPECT_EQ(entries(root), (std::vector<std::string>{".other.tmp-" + pid + "-00000001",
                                                     ".run.tmp-" + mine + "-00000002", "run"}));
  fs::remove(root + "/.run.tmp-" + mine + "-00000002");
  // read_checkpoint recovers before reading: it then names the missing file, not the folder
  fs::create_directory(root + "/.run.tmp-" + pid + "-0000cafe");
  try {
    read_checkpoint(dir);
    ADD_FAILURE() << "not a checkpoint";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: missing"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(root + "/.run.tmp-" + pid + "-0000cafe"));
}

// A write that fails names the folder and says the previous one is kept, which it is.
TEST(CrashSafety, FailedReplaceKeepsThePreviousFolder) {
  const std::string dir = attend::testing::fresh_temp_dir("crash_fail") + "/run";
  write_text_folder(dir, "previous");
  try {
    write_folder_atomic(dir, [](const std::string& tmp) {
      std::ofstream(tmp + "/a.txt") << "half";
      fail("simulated failure");
    });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'" + dir + "' was not replaced (the previous one is kept)"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("simulated failure"), std::string::npos) << m;
  }
  EXPECT_EQ(read_text(dir + "/a.txt"), "previous");
  EXPECT_EQ(entries(fs::path(dir).parent_path().string()), std::vector<std::string>{"run"});
}

// After every epoch but the last the run folder holds a loadable checkpoint and resume/ at the
// next epoch's start; a copy taken there (a run killed right after) resumes to the uninterrupted
// run's metrics. The final folder holds metrics.json and no resume/.
TEST(CrashSafety, RunFolderAfterEveryEpochResumes) {
  const std::string root = attend::testing::fresh_temp_dir("crash_epochs");
  {
    std::ifstream in(attend::testing::data_path("ETTh1.csv"));
    std::ofstream out(root + "/tiny.csv");
    std::string line;
    for (int i = 0; i <= 400 && std::getline(in, line); ++i) out << line << "\n";
  }
  RunConfig c;
  c.model.model = "DLinear";
  c.data.data = "custom";
  c.data.root_path = root;
  c.data.data_path = "tiny.csv";
  c.model.seq_len = 24;
  c.model.label_len = 12;
  c.model.pred_len = 12;
  c.train.train_epochs = 3;
  c.train.patience = 100;
  c.run.checkpoints = root + "/runs";
  const std::string dir = run_folder(c);
  const std::string copy = root + "/copy/" + fs::path(dir).filename().string();

  std::vector<int> saved_epochs;
  ExperimentOptions o;
  o.callbacks.on_epoch_boundary = [&] {
    const nlohmann::json s = read_json_file(dir + "/resume/state.json");
    saved_epochs.push_back(s.at("epoch").get<int>());
    EXPECT_EQ(s.at("batch").get<int64_t>(), 0);
    Context ctx(ContextOptions{1, 0});
    EXPECT_NO_THROW(load_checkpoint_model(read_checkpoint(dir), "h", ctx));
    if (saved_epochs.size() == 1) {
      fs::create_directories(copy);
      fs::copy(dir, copy, fs::copy_options::recursive);
    }
  };
  Metrics want;
  {
    Context ctx(ContextOptions{1, 0});
    ExperimentResult r = train_and_test(c, ctx, o);
    want = r.metrics;
  }
  EXPECT_EQ(saved_epochs, (std::vector<int>{1, 2}));
  EXPECT_EQ(entries(dir), (std::vector<std::string>{"config.json", "metrics.json", "scaler.json",
                                                    "weights.safetensors"}));

  c.run.checkpoints = root + "/copy";
  o.callbacks = {};
  o.resume = true;
  Context ctx(ContextOptions{1, 0});
  ExperimentResult r = train_and_test(c, ctx, o);
  EXPECT_EQ(r.train.epochs_run, 3);
  EXPECT_EQ(r.metrics.mse, want.mse);
  EXPECT_EQ(r.metrics.mae, want.mae);
  EXPECT_FALSE(fs::exists(copy + "/resume"));
}

}  // namespace
}  // namespace attend::train
