// Fuzzes a checkpoint's config.json (attend/train/checkpoint.h: parse_json, checkpoint_config,
// the reading half of read_checkpoint). A config that validates is resolved against fixed columns,
// named, written back and read again. attend::Error is the normal answer to a bad file; anything
// else (and a valid config that does not survive its own round trip) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "attend/base/error.h"
#include "attend/train/checkpoint.h"

using namespace attend::train;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const RunConfig cfg = checkpoint_config(parse_json(text, "config.json"), "config.json");
    (void)setting_name(cfg);
    const nlohmann::json written = run_config_to_json(cfg);
    const std::string dumped = written.dump(1);
    if (run_config_to_json(checkpoint_config(parse_json(dumped, "again"), "again")) != written)
      std::abort();  // a valid config must read back as itself
    (void)resolve(cfg, {"a", "b", "OT"}, "h", "scaler.json");
  } catch (const attend::Error&) {
  }
  return 0;
}
