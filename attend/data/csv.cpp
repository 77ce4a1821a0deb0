#include "attend/data/csv.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "attend/base/error.h"
#include "attend/base/utf8.h"

namespace attend::data {
namespace {

// Cell text for messages: at most 40 bytes, with an ellipsis when cut.
std::string shown(std::string_view s) {
  if (s.size() <= 40) return std::string(s);
  return std::string(s.substr(0, 40)) + "...";
}

// One record's fields as views into the text (quoted fields with "" escapes are unescaped into
// `scratch`, whose strings must stay alive while the views are used).
struct Record {
  std::vector<std::string_view> cells;
  std::vector<std::string> scratch;
  int64_t line = 0;  // file line where the record starts
};

class Tokenizer {
 public:
  Tokenizer(std::string_view text, const std::string& source) : s_(text), source_(source) {
    if (s_.size() >= 3 && static_cast<unsigned char>(s_[0]) == 0xEF &&
        static_cast<unsigned char>(s_[1]) == 0xBB && static_cast<unsigned char>(s_[2]) == 0xBF)
      pos_ = 3;  // UTF-8 byte order mark
  }

  // Reads the next non-blank record; false at the end of the text.
  bool next(Record& rec) {
    rec.cells.clear();
    rec.scratch.clear();
    // Skip blank lines (as pandas' skip_blank_lines).
    while (pos_ < s_.size() && (s_[pos_] == '\n' || s_[pos_] == '\r')) consume_newline();
    if (pos_ >= s_.size()) return false;
    rec.line = line_;
    size_t escaped = 0;  // quoted fields that needed unescaping
    for (;;) {
      std::string_view cell;
      if (pos_ < s_.size() && s_[pos_] == '"') {
        const int64_t start_line = line_;
        size_t start = ++pos_;
        bool has_escape = false;
        for (;;) {
          if (pos_ >= s_.size())
            fail("{}:{}: column {}: unterminated quoted field", source_, start_line,
                 rec.cells.size() + 1);
          char c = s_[pos_];
          if (c == '"') {
            if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '"') {
              has_escape = true;
              pos_ += 2;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          ++pos_;
        }
        cell = s_.substr(start, pos_ - start);
        ++pos_;  // closing quote
        if (has_escape) {
          std::string un;
          un.reserve(cell.size());
          for (size_t i = 0; i < cell.size(); ++i) {
            un.push_back(cell[i]);
            if (cell[i] == '"') ++i;  // "" -> "
          }
          rec.scratch.push_back(std::move(un));
          ++escaped;
        }
        if (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '\n' && s_[pos_] != '\r')
          fail("{}:{}: column {}: unexpected character after a closing quote", source_, line_,
               rec.cells.size() + 1);
        rec.cells.push_back(has_escape ? std::string_view() : cell);
        if (has_escape) marks_.push_back(rec.cells.size() - 1);
      } else {
        size_t start = pos_;
        while (pos_ < s_.size()) {
          char c = s_[pos_];
          if (c == ',' || c == '\n' || c == '\r') break;
          ++pos_;
        }
        rec.cells.push_back(s_.substr(start, pos_ - start));
      }
      if (pos_ >= s_.size()) break;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      consume_newline();
      break;
    }
    // Point the unescaped cells at their scratch strings (scratch no longer grows).
    for (size_t k = 0; k < escaped; ++k) rec.cells[marks_[k]] = rec.scratch[k];
    marks_.clear();
    return true;
  }

 private:
  // Consumes "\n", "\r\n" or a lone "\r" at pos_.
  void consume_newline() {
    if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  std::string_view s_;
  const std::string& source_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  std::vector<size_t> marks_;
};

// Strict number: optional surrounding spaces/tabs, optional sign, decimal or exponent notation;
// the whole cell must be consumed and the value finite.
bool parse_number(std::string_view s, double* out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty()) return false;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
    if (s.empty() || s.front() == '+' || s.front() == '-') return false;
  }
  // from_chars accepts "inf"/"nan"; only digits or '.' may start a number here.
  if (!(s.front() >= '0' && s.front() <= '9') && s.front() != '.') return false;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return false;
  *out = negative ? -v : v;
  return true;
}

}  // namespace

int64_t CsvTable::column_index(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int64_t>(i);
  return -1;
}

namespace {

// pandas' default NA markers that a user's file may hold for a missing value.
bool is_na_marker(std::string_view s) {
  return s == "NA" || s == "NaN" || s == "nan" || s == "N/A" || s == "n/a" || s == "null" ||
         s == "NULL";
}

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options) {
  CsvTable table;
  table.source = source;
  Tokenizer tok(text, source);
  Record rec;
  if (!tok.next(rec)) fail("{}: empty file (no header row)", source);
  const int64_t header_line = rec.line;
  std::unordered_set<std::string_view> seen;
  table.header.reserve(rec.cells.size());
  for (const auto& c : rec.cells) table.header.emplace_back(c);
  auto find = [&](const std::string& name) -> int64_t {
    for (size_t j = 0; j < table.header.size(); ++j)
      if (table.header[j] == name) return static_cast<int64_t>(j);
    return -1;
  };
  for (size_t j = 0; j < table.header.size(); ++j) {
    const std::string& name = table.header[j];
    if (name.empty()) fail("{}:{}: column {}: empty column name", source, header_line, j + 1);
    if (!is_utf8(name))
      fail("{}:{}: column {}: the name is not UTF-8 text (save the file as UTF-8)", source,
           header_line, j + 1);
    if (!seen.insert(name).second)
      fail("{}:{}: column {}: duplicate column name '{}'", source, header_line, j + 1, shown(name));
  }
  // The time column: --time_col, else `date` (TSLib), else `ds` (neuralforecast).
  int64_t date_col = -1;
  if (!options.time_col.empty()) {
    date_col = find(options.time_col);
    if (date_col < 0)
      fail("{}:{}: --time_col '{}': no such column in the header", source, header_line,
           shown(options.time_col));
  } else {
    date_col = find("date");
    if (date_col < 0) date_col = find("ds");
    if (date_col < 0)
      fail(
          "{}:{}: no 'date' column in the header (TSLib requires a column named 'date'; 'ds' or "
          "--time_col NAME also serve)",
          source, header_line);
  }
  table.time_column = table.header[date_col];
  // The series-id column: --id_col, else `unique_id` when present.
  int64_t id_col = -1;
  if (!options.id_col.empty()) {
    id_col = find(options.id_col);
    if (id_col < 0)
      fail("{}:{}: --id_col '{}': no such column in the header", source, header_line,
           shown(options.id_col));
  } else {
    id_col = find("unique_id");
  }
  if (id_col == date_col)
    fail("{}:{}: column '{}' is named both as the time and the series-id column", source,
         header_line, shown(table.header[date_col]));
  if (id_col >= 0) table.id_column = table.header[id_col];
  for (size_t j = 0; j < table.header.size(); ++j)
    if (static_cast<int64_t>(j) != date_col && static_cast<int64_t>(j) != id_col)
      table.columns.push_back(table.header[j]);
  const std::string time_name = shown(table.time_column);
  const std::string hint = options.missing_hint.empty() ? "" : " (" + options.missing_hint + ")";
  const size_t nfields = table.header.size();
  const size_t ncols = table.columns.size();
  const size_t approx_rows = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  table.values.reserve(approx_rows * ncols);
  table.timestamps.reserve(approx_rows);
  table.lines.reserve(approx_rows);
  if (id_col >= 0) table.ids.reserve(approx_rows);
  // The previous row of each series: timestamp and its text (a wide table is one series "").
  struct Last {
    int64_t ts;
    std::string text;
  };
  std::unordered_map<std::string, Last> last;
  TimestampColumn dates(options.date_order, source, time_name);
  while (tok.next(rec)) {
    if (rec.cells.size() != nfields) {
      if (rec.cells.size() < nfields)
        fail("{}:{}: column '{}': missing (expected {} fields, found {})", source, rec.line,
             shown(table.header[rec.cells.size()]), nfields, rec.cells.size());
      fail("{}:{}: column {}: unexpected extra field (expected {} fields, found {})", source,
           rec.line, nfields + 1, nfields, rec.cells.size());
    }
    std::string id;
    if (id_col >= 0) {
      id.assign(rec.cells[id_col]);
      if (id.empty())
        fail("{}:{}: column '{}': empty series id", source, rec.line, shown(table.id_column));
      if (!is_utf8(id))
        fail("{}:{}: column '{}': the series id is not UTF-8 text (save the file as UTF-8)", source,
             rec.line, shown(table.id_column));
    }
    for (size_t j = 0; j < nfields; ++j) {
      const std::string_view cell = rec.cells[j];
      if (static_cast<int64_t>(j) == id_col) continue;
      if (static_cast<int64_t>(j) == date_col) {
        const int64_t ts = dates.read(cell, rec.line);
        auto [it, first] = last.try_emplace(id, Last{ts, std::string(cell)});
        if (!first) {
          if (ts <= it->second.ts)
            fail(
                "{}:{}: column '{}': '{}' {} the previous row's '{}' (timestamps must be strictly "
                "increasing{})",
                source, rec.line, time_name, shown(cell),
                ts == it->second.ts ? "duplicates" : "is earlier than", shown(it->second.text),
                id_col >= 0 ? " within series '" + shown(id) + "'" : std::string());
          it->second = Last{ts, std::string(cell)};
        }
        table.timestamps.push_back(ts);
        table.lines.push_back(rec.line);
      } else {
        double v = 0;
        if (cell.empty() || is_na_marker(cell)) {
          if (options.allow_missing) {
            table.values.push_back(std::numeric_limits<double>::quiet_NaN());
            ++table.missing;
            continue;
          }
          if (cell.empty())
            fail("{}:{}: column '{}': empty value{}", source, rec.line, shown(table.header[j]),
                 hint);
          fail("{}:{}: column '{}': '{}' is not a number{}", source, rec.line,
               shown(table.header[j]), shown(cell), hint);
        }
        if (!parse_number(cell, &v))
          fail("{}:{}: column '{}': '{}' is not a number", source, rec.line, shown(table.header[j]),
               shown(cell));
        table.values.push_back(v);
      }
    }
    if (id_col >= 0) table.ids.push_back(std::move(id));
  }
  if (table.timestamps.empty()) fail("{}: no data rows after the header", source);
  table.date_format = dates.format();
  ATTEND_DEBUG_ASSERT(table.values.size() == table.timestamps.size() * ncols);
  (void)ncols;
  return table;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    fail_errno(err, "{}: cannot open: {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) fail("{}: not a regular file", path);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    const int err = errno;
    fail_errno(err, "{}: cannot open: {}", path, std::strerror(err));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);  // not zero-filled
  const size_t got = size == 0 ? 0 : std::fread(buf.get(), 1, size, f.get());
  if (got != size) fail("{}: read {} of {} bytes", path, got, size);
  return parse_csv(std::string_view(buf.get(), size), path, options);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

CsvTable make_table(TableColumns in, const CsvOptions& options) {
  const std::string& src = in.source;
  const size_t rows = in.timestamps.size(), ncols = in.columns.size();
  ATTEND_CHECK(rows > 0, "{}: no rows", src);
  ATTEND_CHECK(in.values.size() == rows * ncols, "{}: {} values for {} rows of {} columns", src,
               in.values.size(), rows, ncols);
  ATTEND_CHECK(in.id_column.empty() ? in.ids.empty() : in.ids.size() == rows,
               "{}: {} series ids for {} rows", src, in.ids.size(), rows);
  ATTEND_CHECK(ncols > 0, "{}: no value columns besides '{}'", src, shown(in.time_column));
  CsvTable t;
  t.source = src;
  t.time_column = std::move(in.time_column);
  t.id_column = std::move(in.id_column);
  t.header.push_back(t.time_column);
  if (!t.id_column.empty()) t.header.push_back(t.id_column);
  t.header.insert(t.header.end(), in.columns.begin(), in.columns.end());
  std::unordered_set<std::string_view> seen;
  for (const std::string& name : t.header) {
    ATTEND_CHECK(!name.empty(), "{}: empty column name", src);
    ATTEND_CHECK(is_utf8(name), "{}: a column name is not UTF-8 text", src);
    ATTEND_CHECK(seen.insert(name).second, "{}: duplicate column name '{}'", src, shown(name));
  }
  t.columns = std::move(in.columns);
  t.timestamps = std::move(in.timestamps);
  t.ids = std::move(in.ids);
  t.values = std::move(in.values);
  t.lines.resize(rows);
  std::unordered_map<std::string_view, int64_t> last;  // series -> its previous row
  for (size_t r = 0; r < rows; ++r) {
    t.lines[r] = static_cast<int64_t>(r);
    const std::string_view id = t.ids.empty() ? std::string_view() : t.ids[r];
    if (!t.ids.empty()) {
      ATTEND_CHECK(!id.empty(), "{}:{}: column '{}': empty series id", src, r, shown(t.id_column));
      ATTEND_CHECK(is_utf8(id), "{}:{}: column '{}': the series id is not UTF-8 text", src, r,
                   shown(t.id_column));
    }
    // the series' previous row: the row before in a wide table, else looked up by id
    int64_t prev_row = static_cast<int64_t>(r) - 1;
    if (!t.ids.empty()) {
      auto [it, first] = last.try_emplace(id, static_cast<int64_t>(r));
      prev_row = first ? -1 : std::exchange(it->second, static_cast<int64_t>(r));
    }
    if (prev_row >= 0) {
      const int64_t prev = t.timestamps[prev_row], ts = t.timestamps[r];
      if (ts <= prev)
        fail("{}:{}: column '{}': {} {} row {}'s {} (timestamps must be strictly increasing{})",
             src, r, shown(t.time_column), format_timestamp(ts),
             ts == prev ? "duplicates" : "is earlier than", prev_row, format_timestamp(prev),
             t.ids.empty() ? std::string() : " within series '" + shown(id) + "'");
    }
    for (size_t c = 0; c < ncols; ++c) {
      const double v = t.values[r * ncols + c];
      if (std::isnan(v)) {
        if (!options.allow_missing)
          fail("{}:{}: column '{}': missing value{}", src, r, shown(t.columns[c]),
               options.missing_hint.empty() ? "" : " (" + options.missing_hint + ")");
        ++t.missing;
      } else {
        ATTEND_CHECK(std::isfinite(v), "{}:{}: column '{}': {} is not a finite number", src, r,
                     shown(t.columns[c]), v);
      }
    }
  }
  return t;
}

}  // namespace attend::data
