#include "serve_json.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "base64.h"
#include "float_text.h"

namespace attend::cli::serve {

namespace {

using Value = JsonDocument::Value;

[[noreturn]] void bad(const std::string& message) {
  throw RequestError(400, message);
}

template <typename Items>
std::string list(const Items& items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

std::string columns_text(const std::vector<std::string>& columns) {
  return fmt::format("{} column{} ({})", columns.size(), columns.size() == 1 ? "" : "s",
                     list(columns));
}

// "an object", "a string", ... for messages about a value of the wrong kind.
std::string kind_of(const Value& v) {
  switch (v.type()) {
    case JsonType::Null:
      return "null";
    case JsonType::Object:
      return "an object";
    case JsonType::Array:
      return "an array";
    case JsonType::String:
      return "a string";
    case JsonType::Bool:
      return "a boolean";
    default:
      return "a number";
  }
}

// A value of the data: a JSON number, or null for a missing one (NaN, handled as the model's
// --missing says). `where` names it, built only for the message.
template <typename Where>
double number(const Value& v, const Where& where) {
  if (v.is_number()) return v.number();
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  bad(fmt::format("{}: {}, expected a number or null", where(), kind_of(v)));
}

// `rows` x `columns` float32, row-major, little-endian, as base64 text; NaN marks a missing
// value, an infinity is refused.
std::vector<double> base64_table(std::string_view text, const std::string& what,
                                 const std::vector<std::string>& columns, size_t rows,
                                 const std::string& rows_name) {
  const size_t C = columns.size();
  std::string bytes;
  const std::string error = decode_base64(text, bytes);
  if (!error.empty())
    bad(
        fmt::format("{}: a string, expected an array of rows or an object of columns, or base64 "
                    "of float32 (not base64: {})",
                    what, error));
  const size_t expected = rows * C * sizeof(float);
  if (bytes.size() != expected)
    bad(fmt::format("{}: base64 of {} bytes, expected {} {} x {} x 4 bytes (float32) = {}", what,
                    bytes.size(), rows, rows_name, columns_text(columns), expected));
  std::vector<double> out(rows * C);
  for (size_t k = 0; k < out.size(); ++k) {
    float x;
    std::memcpy(&x, bytes.data() + k * sizeof(float), sizeof(float));
    if (std::isinf(x))
      bad(fmt::format("{}: row {}, column '{}' is {}Infinity (NaN marks a missing value)", what,
                      k / C, columns[k % C], x < 0 ? "-" : ""));
    out[k] = x;
  }
  return out;
}

// `rows` rows of `columns` numbers, row-major, from an array of rows, an object column -> array,
// or base64 text of float32. `what` names the field; `rows_name` what the rows are
// ("timestamps", "pred_len steps").
std::vector<double> table(const Value& v, const std::string& what,
                          const std::vector<std::string>& columns, size_t rows,
                          const std::string& rows_name) {
  const size_t C = columns.size();
  if (v.is_string()) return base64_table(v.text(), what, columns, rows, rows_name);
  std::vector<double> out(rows * C);
  if (v.is_array()) {
    if (v.size() != rows)
      bad(fmt::format("{}: {} rows for {} {}", what, v.size(), rows, rows_name));
    size_t r = 0;
    for (const Value row : v) {
      if (!row.is_array())
        bad(fmt::format("{}[{}]: {}, expected an array of {} numbers ({})", what, r, kind_of(row),
                        C, list(columns)));
      if (row.size() != C)
        bad(fmt::format("{}: row {} has {} numbers, the model reads {}", what, r, row.size(),
                        columns_text(columns)));
      size_t c = 0;
      for (const Value x : row) {
        out[r * C + c] = number(x, [&] { return fmt::format("{}[{}][{}]", what, r, c); });
        ++c;
      }
      ++r;
    }
    return out;
  }
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (std::find(columns.begin(), columns.end(), it.key()) == columns.end())
        bad(fmt::format("{}: unknown column '{}' (the model reads {})", what, it.key(),
                        columns_text(columns)));
    for (size_t c = 0; c < C; ++c) {
      const Value column = v.find(columns[c]);
      const std::string where = what + "." + columns[c];
      if (!column.found())
        bad(fmt::format("{}: column '{}' missing (the model reads {})", what, columns[c],
                        columns_text(columns)));
      if (!column.is_array()) bad(fmt::format("{}: {}, expected an array", where, kind_of(column)));
      if (column.size() != rows)
        bad(fmt::format("{}: {} values for {} {}", where, column.size(), rows, rows_name));
      size_t r = 0;
      for (const Value x : column) {
        out[r * C + c] = number(x, [&] { return fmt::format("{}[{}]", where, r); });
        ++r;
      }
    }
    return out;
  }
  bad(fmt::format("{}: {}, expected an array of rows or an object of columns", what, kind_of(v)));
}

// series[i].timestamps: integer seconds or ISO text (one kind), strictly increasing.
std::vector<int64_t> timestamps(const Value& v, const std::string& what, TimeStyle& style,
                                const RequestLimits& limits) {
  if (!v.is_array())
    bad(fmt::format("{}: {}, expected an array of times (ISO text or seconds since 1970)", what,
                    kind_of(v)));
  if (v.size() > limits.max_rows)
    bad(fmt::format("{}: {} rows, more than the server's limit of {} (--max_rows)", what, v.size(),
                    limits.max_rows));
  std::vector<int64_t> out(v.size());
  size_t r = 0;
  for (const Value t : v) {
    auto where = [&] { return fmt::format("{}[{}]", what, r); };
    if (t.is_integer()) {
      if (r > 0 && style.text) bad(where() + ": a number among text times (use one kind)");
      out[r] = t.integer();
      style.text = false;
    } else if (t.is_string()) {
      if (r > 0 && !style.text) bad(where() + ": text among number times (use one kind)");
      const std::optional<int64_t> s = parse_time(t.text(), &style);
      if (!s)
        bad(
            fmt::format("{}: '{}' is not a time (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or seconds "
                        "since 1970)",
                        where(), t.text()));
      out[r] = *s;
    } else {
      bad(fmt::format("{}: {}, expected a time (ISO text or integer seconds since 1970)", where(),
                      t.is_number() ? "a number that is not an integer" : kind_of(t)));
    }
    if (r > 0 && out[r] <= out[r - 1])
      bad(fmt::format("{}: {} does not follow {} (times must increase)", where(),
                      format_time(out[r], style), format_time(out[r - 1], style)));
    ++r;
  }
  return out;
}

void only_fields(const Value& object, const std::string& what,
                 std::initializer_list<std::string_view> fields) {
  for (auto it = object.begin(); it != object.end(); ++it)
    if (std::find(fields.begin(), fields.end(), it.key()) == fields.end())
      bad(fmt::format("{}: unknown field '{}' (fields: {})", what, it.key(), list(fields)));
}

// The answer's text, written in place: numbers straight into the buffer (float32 values by
// write_shortest, others by std::to_chars).
class Writer {
 public:
  explicit Writer(size_t capacity) : buf_(capacity, '\0') {}
  void put(char c) {
    room(1);
    buf_[n_++] = c;
  }
  void put(std::string_view s) {
    room(s.size());
    std::memcpy(buf_.data() + n_, s.data(), s.size());
    n_ += s.size();
  }
  // The shortest text that reads back as v (integers and doubles).
  template <typename T>
  void number(T v) {
    room(48);
    n_ = static_cast<size_t>(std::to_chars(buf_.data() + n_, buf_.data() + buf_.size(), v).ptr -
                             buf_.data());
  }
  // n float32 as base64 text of their little-endian bytes, quoted.
  void base64(const float* v, size_t n) {
    room(base64_length(n * sizeof(float)) + 2);
    buf_[n_++] = '"';
    n_ = static_cast<size_t>(write_base64(buf_.data() + n_,
                                          reinterpret_cast<const unsigned char*>(v),
                                          n * sizeof(float)) -
                             buf_.data());
    buf_[n_++] = '"';
  }
  // The shortest text that reads back as v (as std::to_chars writes it), null when not finite.
  void value(float v) {
    if (!std::isfinite(v)) return put("null");
    room(32);
    n_ = static_cast<size_t>(write_shortest(buf_.data() + n_, v) - buf_.data());
  }
  void digits(int value, int width) {
    room(static_cast<size_t>(width));
    for (int i = width - 1; i >= 0; --i, value /= 10)
      buf_[n_ + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
    n_ += static_cast<size_t>(width);
  }
  void string(std::string_view s) {
    std::string quoted;
    append_json_string(quoted, s);
    put(quoted);
  }
  void time(int64_t t, const TimeStyle& style);
  std::string take() && {  // the text
    buf_.resize(n_);
    return std::move(buf_);
  }

 private:
  void room(size_t k) {
    if (n_ + k > buf_.size()) [[unlikely]]
      grow(k);
  }
  void grow(size_t k) { buf_.resize(std::max(2 * buf_.size(), n_ + k)); }
  std::string buf_;  // [0, n_) written
  size_t n_ = 0;
  int64_t day_ = std::numeric_limits<int64_t>::min();  // the day whose date date_ holds
  char date_[10] = {};
};

void Writer::time(int64_t t, const TimeStyle& style) {
  if (!style.text) return number(t);
  const int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  const int64_t in_day = t - days * 86400;
  if (days != day_) {  // "YYYY-MM-DD", once per day: hourly forecasts share it
    const std::chrono::year_month_day date{std::chrono::sys_days(std::chrono::days(days))};
    const int year = static_cast<int>(date.year());
    if (year < 0 || year > 9999) return number(t);  // beyond ISO text's four digits: the seconds
    const int parts[3] = {year, static_cast<int>(static_cast<unsigned>(date.month())),
                          static_cast<int>(static_cast<unsigned>(date.day()))};
    char* d = date_;
    for (int k = 0; k < 3; ++k) {
      const int width = k == 0 ? 4 : 2;
      for (int i = width - 1, v = parts[k]; i >= 0; --i, v /= 10)
        d[i] = static_cast<char>('0' + v % 10);
      d += width;
      if (k < 2) *d++ = '-';
    }
    day_ = days;
  }
  put(std::string_view(date_, sizeof(date_)));
  const int h = static_cast<int>(in_day / 3600), mi = static_cast<int>(in_day / 60 % 60),
            sec = static_cast<int>(in_day % 60);
  if (style.fields == 1 && in_day == 0) return;
  put(style.fields == 1 ? ' ' : style.separator);
  digits(h, 2);
  put(':');
  digits(mi, 2);
  if (style.fields != 2 || sec != 0) {
    put(':');
    digits(sec, 2);
  }
  if (style.utc_suffix) put('Z');
}

}  // namespace

// ---- times -------------------------------------------------------------------------------------

std::optional<int64_t> parse_time(std::string_view s, TimeStyle* style) {
  auto digits = [&](size_t at, size_t n, int& value) {
    if (at + n > s.size()) return false;
    value = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      value = value * 10 + (s[i] - '0');
    }
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
      !digits(8, 2, d))
    return std::nullopt;
  TimeStyle st;
  st.text = true;
  size_t end = 10;
  if (s.size() > 10 && (s[10] == ' ' || s[10] == 'T')) {
    st.separator = s[10];
    if (!digits(11, 2, h) || s.size() < 16 || s[13] != ':' || !digits(14, 2, mi))
      return std::nullopt;
    st.fields = 2;
    end = 16;
    if (s.size() > 16 && s[16] == ':') {
      if (!digits(17, 2, sec)) return std::nullopt;
      st.fields = 3;
      end = 19;
    }
  } else {
    st.fields = 1;
  }
  if (end < s.size() && s[end] == 'Z' && st.fields > 1) {
    st.utc_suffix = true;
    ++end;
  }
  if (end != s.size() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(mo),
                                         std::chrono::day(d)};
  if (!date.ok()) return std::nullopt;
  if (style) *style = st;
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  return days * 86400 + h * 3600 + mi * 60 + sec;
}

std::string format_time(int64_t t, const TimeStyle& style) {
  Writer out(32);
  out.time(t, style);
  return std::move(out).take();
}

// ---- requests ----------------------------------------------------------------------------------

JsonDocument parse_body(std::span<char> body) {
  if (body.empty()) bad("body: empty (the JSON request is the body)");
  try {
    return JsonDocument(body);
  } catch (const JsonError& e) {
    bad(std::string("body: not valid JSON at ") + e.what());
  }
}

std::string model_name(const JsonDocument& doc) {
  const Value body = doc.root();
  if (!body.is_object()) bad(fmt::format("body: {}, expected an object", kind_of(body)));
  const Value model = body.find("model");
  if (!model.found()) bad("model: missing (the name the server loaded it under)");
  if (!model.is_string()) bad(fmt::format("model: {}, expected the model's name", kind_of(model)));
  return std::string(model.text());
}

ForecastRequest read_request(const JsonDocument& doc, const ModelInfo& info,
                             const RequestLimits& limits) {
  ForecastRequest req;
  req.model = model_name(doc);
  const Value body = doc.root();
  only_fields(body, "body", {"model", "series", "quantiles", "encoding"});
  const Value encoding = body.find("encoding");
  if (encoding.found() && !encoding.is_null()) {
    if (!encoding.is_string())
      bad(fmt::format("encoding: {}, expected \"json\" or \"base64\"", kind_of(encoding)));
    if (encoding.text() == "base64")
      req.encoding = Encoding::Base64;
    else if (encoding.text() != "json")
      bad(fmt::format("encoding: '{}' is not an answer encoding (json or base64)",
                      encoding.text()));
  }
  const Value series = body.find("series");
  if (!series.found()) bad("series: missing (an array of series to forecast)");
  if (!series.is_array() || series.size() == 0)
    bad(fmt::format("series: {}, expected a non-empty array of series",
                    series.is_array() ? "empty" : kind_of(series)));
  if (series.size() > limits.max_series)
    bad(fmt::format("series: {} series, more than the server's limit of {} (--max_series)",
                    series.size(), limits.max_series));

  const bool long_format = !info.series_ids.empty();
  const size_t P = static_cast<size_t>(info.pred_len);
  size_t i = 0;
  for (const Value s : series) {
    const std::string what = fmt::format("series[{}]", i++);
    if (!s.is_object()) bad(fmt::format("{}: {}, expected an object", what, kind_of(s)));
    only_fields(s, what, {"id", "timestamps", "values", "future"});
    SeriesInput& in = req.series.emplace_back();
    std::string label;
    const Value id = s.find("id");
    req.has_id.push_back(id.found() && !id.is_null());
    if (req.has_id.back()) {
      if (!id.is_string()) bad(fmt::format("{}.id: {}, expected text", what, kind_of(id)));
      label = id.text();
      if (long_format && std::find(info.series_ids.begin(), info.series_ids.end(), label) ==
                             info.series_ids.end()) {
        const size_t shown = std::min<size_t>(info.series_ids.size(), 20);
        bad(fmt::format("{}.id: '{}' is not one of the model's {} series ({}{})", what, label,
                        info.series_ids.size(),
                        list(std::vector<std::string>(info.series_ids.begin(),
                                                      info.series_ids.begin() + shown)),
                        shown < info.series_ids.size() ? ", ..." : ""));
      }
    } else if (long_format) {
      bad(fmt::format("{}.id: missing; the model forecasts series by id (one of its {} series)",
                      what, info.series_ids.size()));
    }
    if (long_format) in.id = label;
    req.labels.push_back(std::move(label));

    const Value ts = s.find("timestamps");
    if (!ts.found()) bad(what + ".timestamps: missing");
    TimeStyle& style = req.styles.emplace_back();
    in.timestamps = timestamps(ts, what + ".timestamps", style, limits);
    const size_t T = in.timestamps.size();
    if (T < static_cast<size_t>(info.seq_len))
      bad(fmt::format("{}.timestamps: {} rows, the model reads the last seq_len = {}", what, T,
                      info.seq_len));
    const Value values = s.find("values");
    if (!values.found()) bad(what + ".values: missing");
    in.values = table(values, what + ".values", info.columns, T, "timestamps");

    const Value future = s.find("future");
    if (future.found() && !future.is_null()) {
      if (info.known_columns.empty())
        bad(what +
            ".future: the model has no known-future columns (trained without "
            "--known_columns)");
      in.future = table(future, what + ".future", info.known_columns, P, "pred_len steps");
    }
  }

  const Value q = body.find("quantiles");
  if (q.found() && !q.is_null()) {
    if (!q.is_array()) bad(fmt::format("quantiles: {}, expected an array of levels", kind_of(q)));
    if (q.size() > 0 && info.quantiles.empty())
      bad("quantiles: the model forecasts no quantiles (trained without --quantiles)");
    size_t k = 0;
    for (const Value level : q) {
      const std::string where = fmt::format("quantiles[{}]", k++);
      if (!level.is_number()) bad(fmt::format("{}: {}, expected a level", where, kind_of(level)));
      const double l = level.number();
      size_t found = info.quantiles.size();
      for (size_t j = 0; j < info.quantiles.size(); ++j)
        if (std::abs(info.quantiles[j] - l) <= 1e-9) found = j;
      if (found == info.quantiles.size())
        bad(fmt::format("{}: {} is not one of the model's levels ({})", where, l,
                        list(info.quantiles)));
      if (std::find(req.quantiles.begin(), req.quantiles.end(), found) != req.quantiles.end())
        bad(fmt::format("{}: {} asked twice", where, l));
      req.quantiles.push_back(found);
    }
  }
  return req;
}

// ---- answers -----------------------------------------------------------------------------------

std::string write_response(const ForecastRequest& req, const std::vector<Forecast>& forecasts,
                           const ModelInfo& info) {
  const size_t P = static_cast<size_t>(info.pred_len), O = info.outputs.size(),
               Q = info.quantiles.size();
  std::string columns = "[";
  for (size_t o = 0; o < O; ++o) {
    if (o) columns += ',';
    append_json_string(columns, info.outputs[o]);
  }
  columns += ']';
  Writer out(64 + forecasts.size() *
                      (P * O * 12 * (1 + req.quantiles.size()) + P * 24 + columns.size() + 64));
  // (P, O) numbers, f(t, o): JSON rows, or base64 of their float32
  std::vector<float> gathered(req.encoding == Encoding::Base64 ? P * O : 0);
  auto rows = [&](auto f) {
    if (req.encoding == Encoding::Base64) {
      for (size_t t = 0; t < P; ++t)
        for (size_t o = 0; o < O; ++o) gathered[t * O + o] = f(t, o);
      return out.base64(gathered.data(), gathered.size());
    }
    out.put('[');
    for (size_t t = 0; t < P; ++t) {
      out.put(t ? ",[" : "[");
      for (size_t o = 0; o < O; ++o) {
        if (o) out.put(',');
        out.value(f(t, o));
      }
      out.put(']');
    }
    out.put(']');
  };
  out.put("{\"model\":");
  out.string(req.model);
  out.put(",\"forecasts\":[");
  for (size_t i = 0; i < forecasts.size(); ++i) {
    const Forecast& f = forecasts[i];
    const TimeStyle& style = req.styles[i];
    out.put(i ? ",{\"id\":" : "{\"id\":");
    if (req.has_id[i])
      out.string(req.labels[i]);
    else
      out.put("null");
    out.put(",\"timestamps\":[");
    for (size_t t = 0; t < f.timestamps.size(); ++t) {
      if (t) out.put(',');
      if (style.text) out.put('"');
      out.time(f.timestamps[t], style);
      if (style.text) out.put('"');
    }
    out.put("],\"columns\":");
    out.put(columns);
    out.put(",\"values\":");
    rows([&](size_t t, size_t o) { return f.values[t * O + o]; });
    if (!req.quantiles.empty()) {
      out.put(",\"quantiles\":{");
      for (size_t k = 0; k < req.quantiles.size(); ++k) {
        const size_t q = req.quantiles[k];
        out.put(k ? ",\"" : "\"");
        out.number(info.quantiles[q]);
        out.put("\":");
        rows([&](size_t t, size_t o) { return f.quantiles[(t * O + o) * Q + q]; });
      }
      out.put('}');
    }
    out.put('}');
  }
  out.put("]}");
  return std::move(out).take();
}

std::string error_body(const std::string& message) {
  using json = nlohmann::json;
  return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string models_body(const std::vector<std::pair<std::string, ModelInfo>>& models) {
  using json = nlohmann::json;
  json list = json::array();
  for (const auto& [name, i] : models)
    list.push_back({{"name", name},
                    {"model", i.model},
                    {"seq_len", i.seq_len},
                    {"label_len", i.label_len},
                    {"pred_len", i.pred_len},
                    {"freq", i.freq},
                    {"columns", i.columns},
                    {"outputs", i.outputs},
                    {"known_columns", i.known_columns},
                    {"quantiles", i.quantiles},
                    {"series_count", i.series_ids.size()},
                    {"id_column", i.id_column},
                    {"time_column", i.time_column}});
  return json{{"models", list}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string request_message(const std::string& m) {
  const std::string head = "input";
  if (m.rfind(head, 0) != 0) return m;
  size_t end = head.size();
  std::string index = "0";
  if (end + 1 < m.size() && m[end] == ' ' && std::isdigit(static_cast<unsigned char>(m[end + 1]))) {
    size_t d = end + 1;
    while (d < m.size() && std::isdigit(static_cast<unsigned char>(m[d]))) ++d;
    index = m.substr(end + 1, d - end - 1);
    end = d;
  }
  if (end < m.size() && m[end] != ':' && m[end] != ' ') return m;
  return "series[" + index + "]" + m.substr(end);
}

}  // namespace attend::cli::serve
