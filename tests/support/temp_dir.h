#pragma once
// Scratch folders for tests that write checkpoints, CSVs or plots.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace attend::testing {

// An empty folder <tmp>/attend_<name>_<pid> (emptied if it exists), removed with its contents
// when the test binary exits.
inline std::string fresh_temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  struct Registry {
    std::vector<fs::path> paths;
    ~Registry() {
      std::error_code ec;
      for (const fs::path& p : paths) fs::remove_all(p, ec);
    }
  };
  static Registry registry;
  fs::path p = fs::temp_directory_path() / ("attend_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  registry.paths.push_back(p);
  return p.string();
}

}  // namespace attend::testing
