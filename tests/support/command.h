#pragma once
// Tests that run the attend binary: where it is, its exit status and output, and text files.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace attend::testing {

// The built `attend`: $ATTEND_BIN (CTest sets it), else build/attend in the source tree.
inline std::string attend_bin() {
  const char* b = std::getenv("ATTEND_BIN");
  return b ? b : std::string(ATTEND_SOURCE_DIR) + "/build/attend";
}

// A file's whole content ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CommandResult {
  int rc = -1;  // the exit status; -1 when ended by a signal
  std::string out, err;
};

// Runs `prefix attend args` through the shell with OMP_WAIT_POLICY=passive; stdout and stderr go
// to numbered files under `dir` (kept for a failing test's reader) and come back in the result.
inline CommandResult run_attend(const std::string& args, const std::string& dir,
                                const std::string& prefix = "") {
  static int n = 0;
  const std::string o = dir + "/out" + std::to_string(n) + ".txt",
                    e = dir + "/err" + std::to_string(n) + ".txt";
  ++n;
  const std::string cmd =
      "OMP_WAIT_POLICY=passive " + prefix + attend_bin() + " " + args + " >" + o + " 2>" + e;
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(o);
  r.err = read_text(e);
  return r;
}

}  // namespace attend::testing
