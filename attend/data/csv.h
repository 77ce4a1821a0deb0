#pragma once
// Strict reader for time-series CSV tables: one header row, a time column (any position; `date`
// by default, as TSLib), numeric value columns and, in long format, a series-id column. Every
// malformed input throws attend::Error naming file, line and column.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attend/data/calendar.h"

namespace attend::data {

// How to read a table.
struct CsvOptions {
  // The time column; "" takes `date`, or `ds` when there is no `date`.
  std::string time_col;
  // The series-id column of long format; "" takes `unique_id` when the header has it (otherwise the
  // table is wide: one series). A named column must exist.
  std::string id_col;
  // Empty cells and NA markers (NA, NaN, nan, N/A, n/a, null) read as NaN instead of being errors;
  // `missing_hint` is appended to the error otherwise (the flag that would accept them).
  bool allow_missing = false;
  std::string missing_hint;
  // How dates that do not start with the year are read (--date_format).
  DateOrder date_order = DateOrder::YearFirst;
};

// A parsed table: timestamps (int64 seconds since 1970-01-01 UTC) and row-major float64 values.
// Wide tables have strictly increasing timestamps; long tables have them strictly increasing
// within each series (series may interleave).
struct CsvTable {
  std::string source;                // file name used in messages
  std::vector<std::string> header;   // every header name in file order (incl. time and id)
  std::vector<std::string> columns;  // numeric column names in file order (without time and id)
  std::string time_column;           // the time column's name
  std::string id_column;             // the series-id column's name; "" for a wide table
  std::vector<std::string> ids;      // (rows) series id of each row; empty for a wide table
  std::vector<int64_t> timestamps;   // (rows)
  std::vector<double> values;        // (rows, columns.size()), row-major; NaN: missing
  std::vector<int64_t> lines;        // 1-based file line of each row (for messages)
  TimestampFormat date_format;       // how the time column writes its timestamps
  int64_t missing = 0;               // NaN cells (only with CsvOptions::allow_missing)

  int64_t rows() const { return static_cast<int64_t>(timestamps.size()); }
  int64_t cols() const { return static_cast<int64_t>(columns.size()); }
  // Index of a numeric column, or -1 if absent.
  int64_t column_index(std::string_view name) const;
  // Value at (row, col).
  double at(int64_t row, int64_t col) const { return values[row * cols() + col]; }
};

// Reads and parses a CSV file (one fread); `path` names the file in messages.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

// Parses CSV text held in memory; `source` names the input in messages.
CsvTable parse_csv(std::string_view text, const std::string& source,
                   const CsvOptions& options = {});

// The columns of a table held in memory (a pandas DataFrame, numpy arrays), for make_table.
struct TableColumns {
  std::string source;                // what the data is, in messages ("DataFrame")
  std::string time_column;           // the time column's name
  std::string id_column;             // the series-id column's name; "" for a wide table
  std::vector<std::string> columns;  // the numeric columns' names
  std::vector<int64_t> timestamps;   // (rows) seconds since 1970 UTC
  std::vector<std::string> ids;      // (rows) series id of each row; empty for a wide table
  std::vector<double> values;        // (rows, columns.size()) row-major; NaN: missing
};

// A table from columns in memory, with parse_csv's checks: names non-empty, UTF-8 and unique;
// series ids non-empty UTF-8; timestamps strictly increasing within each series; values finite,
// NaN only with options.allow_missing. Row r (0-based position) is line r in later messages
// ("DataFrame:12: column 'y': ..."). Timestamps are written back as "YYYY-MM-DD HH:MM:SS".
CsvTable make_table(TableColumns in, const CsvOptions& options = {});

// A CSV field as written: quoted (with "" escapes) when it holds a comma, quote or line break.
std::string csv_field(const std::string& text);

}  // namespace attend::data
