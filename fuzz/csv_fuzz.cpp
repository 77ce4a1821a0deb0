// Fuzzes the CSV reader (attend/data/csv.h): wide and long tables with a time and an id column.
// Input: byte 0 picks the CsvOptions, the rest is the file's text. A table that parses is then
// split into series, its names are written as JSON (scaler.json and metrics.json hold them), and
// each series' spacing and next dates are computed as `forecast` does.
// attend::Error is the reader's normal answer to a bad file; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "attend/base/error.h"
#include "attend/data/calendar.h"
#include "attend/data/csv.h"
#include "attend/data/dataset.h"

using namespace attend::data;

namespace {

// Byte b: bits 0-1 the time column, 2-3 the id column, 4 missing values allowed, 5-7 the
// date order (mod 3).
CsvOptions options_of(uint8_t b) {
  static const char* const time_cols[] = {"", "date", "ds", "time"};
  static const char* const id_cols[] = {"", "unique_id", "id", "series"};
  static const DateOrder orders[] = {DateOrder::YearFirst, DateOrder::DayFirst,
                                     DateOrder::MonthFirst};
  CsvOptions o;
  o.time_col = time_cols[b & 3];
  o.id_col = id_cols[(b >> 2) & 3];
  o.allow_missing = (b >> 4) & 1;
  o.missing_hint = "--missing";
  o.date_order = orders[(b >> 5) % 3];
  return o;
}

void use(const CsvTable& table) {
  const SeriesRows series = group_series(table);
  (void)nlohmann::json{{"columns", table.header}, {"series", series.ids}}.dump();
  for (const auto& rows : series.rows) {
    std::vector<int64_t> ts;
    ts.reserve(rows.size());
    for (int64_t r : rows) ts.push_back(table.timestamps[r]);
    const auto freq = spacing_of(ts);
    if (!freq) continue;
    for (int64_t t : future_timestamps(ts.back(), 2, *freq))
      (void)format_timestamp(t, table.date_format);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    use(parse_csv(text, "fuzz.csv", options_of(data[0])));
  } catch (const attend::Error&) {
  }
  return 0;
}
