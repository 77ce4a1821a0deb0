// Fuzzes a checkpoint's scaler.json (attend/train/checkpoint.h read_scalers over
// attend/data/scaler.h StandardScaler::from_json): wide ({"columns", "mean", "scale"}) and long
// format ({"columns", "id_col", "time_col", "series": {id: scaler}}). Each scaler read is applied
// both ways and written back. attend::Error is the normal answer to a bad file; anything else is
// a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attend/base/error.h"
#include "attend/train/checkpoint.h"

using namespace attend;

namespace {

void use(const data::StandardScaler& s) {
  volatile double sum = 0;
  for (int64_t c = 0; c < s.size(); ++c) sum = sum + s.inverse_value(s.transform_value(1.5, c), c);
  (void)s.to_json().dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    train::CheckpointInfo info;
    train::read_scalers(train::parse_json(text, "scaler.json"), "scaler.json", info);
    if (info.long_format()) {
      for (const auto& id : info.series_ids) use(info.scaler_of(id));
    } else {
      use(info.scaler);
    }
  } catch (const Error&) {
  }
  return 0;
}
