#pragma once
// Strict reader for wide time-series CSV tables: one header row, a `date` column (any position)
// and numeric columns. Every malformed input throws attend::Error naming file, line and column.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attend/data/calendar.h"

namespace attend::data {

// A parsed table: timestamps (int64 seconds since 1970-01-01 UTC) and row-major float64 values.
struct CsvTable {
  std::string source;                // file name used in messages
  std::vector<std::string> header;   // every header name in file order (incl. "date")
  std::vector<std::string> columns;  // numeric column names in file order (without "date")
  std::vector<int64_t> timestamps;   // (rows)
  std::vector<double> values;        // (rows, columns.size()), row-major
  std::vector<int64_t> lines;        // 1-based file line of each row (for messages)
  TimestampFormat date_format;       // how the date column writes its timestamps

  int64_t rows() const { return static_cast<int64_t>(timestamps.size()); }
  int64_t cols() const { return static_cast<int64_t>(columns.size()); }
  // Index of a numeric column, or -1 if absent.
  int64_t column_index(std::string_view name) const;
  // Value at (row, col).
  double at(int64_t row, int64_t col) const { return values[row * cols() + col]; }
};

// Reads and parses a CSV file (one fread); `path` names the file in messages; dates are read
// in `order` (--date_format).
CsvTable read_csv(const std::string& path, DateOrder order = DateOrder::YearFirst);

// Parses CSV text held in memory; `source` names the input in messages.
CsvTable parse_csv(std::string_view text, const std::string& source,
                   DateOrder order = DateOrder::YearFirst);

}  // namespace attend::data
