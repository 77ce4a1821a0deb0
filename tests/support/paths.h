#pragma once
// Where tests find their inputs: the reference fixtures (tests/fixtures, README there) and the
// bundled datasets (data/).
#include <cstdlib>
#include <string>

namespace attend::testing {

// Path of a file under the fixture folder: tests/fixtures, or the folder the environment variable
// ATTEND_FIXTURES names (same layout).
inline std::string fixture_path(const std::string& rel) {
  const char* env = std::getenv("ATTEND_FIXTURES");
  return std::string(env && *env ? env : ATTEND_FIXTURES_DIR) + "/" + rel;
}

// Path of a file under the repository's data/ (ETTh1.csv, ...); the folder itself for "".
inline std::string data_path(const std::string& rel = "") {
  const std::string dir = std::string(ATTEND_SOURCE_DIR) + "/data";
  return rel.empty() ? dir : dir + "/" + rel;
}

}  // namespace attend::testing
