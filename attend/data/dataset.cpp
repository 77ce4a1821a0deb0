#include "attend/data/dataset.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

#include "attend/base/error.h"

namespace attend::data {
namespace {

enum class Protocol { EttHour, EttMinute, Custom };

Protocol protocol_of(const std::string& data) {
  if (data == "ETTh1" || data == "ETTh2") return Protocol::EttHour;
  if (data == "ETTm1" || data == "ETTm2") return Protocol::EttMinute;
  if (data == "custom") return Protocol::Custom;
  fail("[data] unknown --data '{}' (forecasting supports ETTh1, ETTh2, ETTm1, ETTm2, custom)",
       data);
}

// Preconditions for callers of the data layer itself (the run options are checked before).
void validate(const DataConfig& d, const SampleConfig& c) {
  ATTEND_CHECK(d.features == "M" || d.features == "S" || d.features == "MS",
               "[data] --features must be M, S or MS, got '{}'", d.features);
  ATTEND_CHECK(c.seq_len >= 1, "[data] --seq_len must be >= 1, got {}", c.seq_len);
  ATTEND_CHECK(c.pred_len >= 1, "[data] --pred_len must be >= 1, got {}", c.pred_len);
  ATTEND_CHECK(c.label_len >= 0 && c.label_len <= c.seq_len,
               "[data] --label_len must be in [0, seq_len = {}], got {}", c.seq_len, c.label_len);
  ATTEND_CHECK(c.embed == "timeF" || c.embed == "fixed" || c.embed == "learned",
               "[data] --embed must be timeF, fixed or learned, got '{}'", c.embed);
  parse_date_order(d.date_format);
}

}  // namespace

const ForecastSplit& ForecastData::split(std::string_view name) const {
  if (name == "train") return train;
  if (name == "val" || name == "vali") return val;
  if (name == "test") return test;
  fail("[data] unknown split '{}' (train, val, test)", name);
}

MissingPolicy parse_missing_policy(const std::string& text, const std::string& flag) {
  if (text == "error") return MissingPolicy::Error;
  if (text == "ffill") return MissingPolicy::Ffill;
  if (text == "interpolate") return MissingPolicy::Interpolate;
  if (text == "mask") return MissingPolicy::Mask;
  fail("{} '{}' must be error, ffill, interpolate or mask", flag, text);
}

namespace {

constexpr const char* kMissingHint = "--missing ffill, interpolate or mask fills or masks it";

}  // namespace

std::string format_freq(const std::string& freq, bool long_format) {
  if (!freq.empty()) return freq;
  return long_format ? "auto" : "h";
}

CsvOptions csv_options(const DataConfig& config) {
  CsvOptions o;
  o.time_col = config.time_col;
  o.id_col = config.id_col;
  // Missing cells are read as NaN whatever the policy: fill_missing refuses them under error,
  // and only in the series and columns a run reads.
  o.allow_missing = true;
  o.date_order = parse_date_order(config.date_format);
  return o;
}

ForecastData load_forecast_data(const DataConfig& config, const SampleConfig& sample,
                                const std::function<void(const std::string&)>& log,
                                const CsvTable* table) {
  validate(config, sample);
  protocol_of(config.data);
  if (table) return make_forecast_data(*table, config, sample, log);
  const std::string path = (std::filesystem::path(config.root_path) / config.data_path).string();
  return make_forecast_data(read_csv(path, csv_options(config)), config, sample, log);
}

SeriesRows group_series(const CsvTable& table) {
  SeriesRows out;
  if (table.ids.empty()) {
    out.ids.push_back("");
    out.rows.emplace_back(static_cast<size_t>(table.rows()));
    std::iota(out.rows[0].begin(), out.rows[0].end(), int64_t{0});
    return out;
  }
  std::unordered_map<std::string, size_t> index;
  for (int64_t r = 0; r < table.rows(); ++r) {
    auto [it, fresh] = index.try_emplace(table.ids[r], out.ids.size());
    if (fresh) {
      out.ids.push_back(table.ids[r]);
      out.rows.emplace_back();
    }
    out.rows[it->second].push_back(r);
  }
  return out;
}

std::vector<uint8_t> fill_missing(std::vector<double>& v, int64_t rows, int64_t cols,
                                  MissingPolicy policy, const std::vector<std::string>& columns,
                                  const std::vector<int64_t>& lines, const std::string& source) {
  if (policy == MissingPolicy::Error)  // the first missing cell in file order
    for (int64_t i = 0; i < rows * cols; ++i)
      if (std::isnan(v[i]))
        fail("{}:{}: column '{}': missing value (empty or NA) ({})", source, lines[i / cols],
             columns[i % cols], kMissingHint);
  std::vector<uint8_t> observed(static_cast<size_t>(rows * cols), 1);
  for (int64_t c = 0; c < cols; ++c) {
    int64_t first = -1;  // first observed row
    for (int64_t r = 0; r < rows; ++r) {
      if (!std::isnan(v[r * cols + c])) {
        if (first < 0) first = r;
        continue;
      }
      observed[r * cols + c] = 0;
    }
    if (first < 0)
      fail("{}: column '{}' has no value at all (every row is missing)", source, columns[c]);
    int64_t prev = -1;  // last observed row
    for (int64_t r = 0; r < rows; ++r) {
      double& x = v[r * cols + c];
      if (observed[r * cols + c]) {
        prev = r;
        continue;
      }
      if (prev < 0) {  // leading gap: the first observed value
        x = v[first * cols + c];
        continue;
      }
      int64_t next = r + 1;
      while (next < rows && !observed[next * cols + c]) ++next;
      if (policy == MissingPolicy::Interpolate && next < rows) {
        const double a = v[prev * cols + c], b = v[next * cols + c];
        x = a + (b - a) * static_cast<double>(r - prev) / static_cast<double>(next - prev);
      } else {
        x = v[prev * cols + c];  // ffill, mask's inputs, and interpolate past the last value
      }
    }
  }
  return observed;
}

SeriesValues series_values(const CsvTable& table, const std::vector<int64_t>& rows,
                           const std::vector<int64_t>& pick, bool fill_gaps, MissingPolicy policy,
                           const std::string& id) {
  const int64_t C = static_cast<int64_t>(pick.size());
  const int64_t n = static_cast<int64_t>(rows.size());
  SeriesValues s;
  std::vector<int64_t> ts;
  for (int64_t r : rows) ts.push_back(table.timestamps[r]);
  std::vector<int64_t> missing;
  if (fill_gaps && n >= 3)
    s.spacing = spacing_with_gaps(ts, nullptr, &missing);
  else
    s.spacing = spacing_of(ts);
  if (missing.empty()) missing.assign(ts.size(), 0);
  const std::string in_series = id.empty() ? "" : " in series '" + id + "'";
  int64_t total = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = rows[k];
    if (missing[k] > 0) {
      if (policy == MissingPolicy::Error)
        fail("{}:{}: column '{}': {} missing row(s) before '{}'{}: the rows are {} ({})",
             table.source, table.lines[r], table.time_column, missing[k],
             format_timestamp(ts[k], table.date_format), in_series, freq_description(*s.spacing),
             kMissingHint);
      total += missing[k];
      if (total > n)
        fail(
            "{}:{}: column '{}': {} missing row(s) before '{}'{} make more missing rows than the "
            "series has rows ({}) at its spacing, {}: mixed frequencies or wrong timestamps?",
            table.source, table.lines[r], table.time_column, missing[k],
            format_timestamp(ts[k], table.date_format), in_series, n, freq_description(*s.spacing));
      for (int64_t m = 0, t = ts[k - 1]; m < missing[k]; ++m) {
        s.timestamps.push_back(t = next_timestamp(t, *s.spacing));
        s.lines.push_back(table.lines[r]);
        s.values.insert(s.values.end(), static_cast<size_t>(C),
                        std::numeric_limits<double>::quiet_NaN());
      }
    }
    s.timestamps.push_back(ts[k]);
    s.lines.push_back(table.lines[r]);
    const double* row = table.values.data() + r * table.cols();
    for (int64_t c = 0; c < C; ++c) s.values.push_back(row[pick[c]]);
  }
  return s;
}

namespace {

// Row borders [b1, b2) of train, val and test in a series of n rows.
using Borders = std::array<std::array<int64_t, 2>, 3>;

Borders borders(Protocol protocol, const DataConfig& config, const std::vector<int64_t>& ts,
                int64_t seq, const std::string& id) {
  const auto n = static_cast<int64_t>(ts.size());
  std::array<int64_t, 3> b1{}, b2{};
  if (const auto own = config.series_splits.find(id); own != config.series_splits.end()) {
    // The series' own cut-off times (a backtest refit): as val_start and test_start below
    auto first_at = [&](int64_t t) {
      return static_cast<int64_t>(std::lower_bound(ts.begin(), ts.end(), t) - ts.begin());
    };
    const int64_t v = first_at(own->second[0]), t = first_at(own->second[1]);
    b1 = {0, v - seq, t - seq};
    b2 = {v, t, n};
  } else if (!config.val_start.empty() || !config.test_start.empty()) {
    // Cut-off dates: train before val_start, val before test_start, test after; val and test
    // windows look back seq_len rows as TSLib's borders do.
    auto first_at = [&](const std::string& text, const char* flag) {
      int64_t t = 0;
      ATTEND_CHECK(parse_timestamp(text, parse_date_order(config.date_format), &t),
                   "{} '{}' is not a date", flag, text);
      return static_cast<int64_t>(std::lower_bound(ts.begin(), ts.end(), t) - ts.begin());
    };
    ATTEND_CHECK(!config.val_start.empty() && !config.test_start.empty(),
                 "--val_start and --test_start go together (got only {})",
                 config.val_start.empty() ? "--test_start" : "--val_start");
    const int64_t v = first_at(config.val_start, "--val_start");
    const int64_t t = first_at(config.test_start, "--test_start");
    ATTEND_CHECK(v <= t, "--val_start {} must not come after --test_start {}", config.val_start,
                 config.test_start);
    b1 = {0, v - seq, t - seq};
    b2 = {v, t, n};
  } else if (protocol == Protocol::Custom) {
    const int64_t num_train = static_cast<int64_t>(static_cast<double>(n) * 0.7);
    const int64_t num_test = static_cast<int64_t>(static_cast<double>(n) * 0.2);
    const int64_t num_vali = n - num_train - num_test;
    b1 = {0, num_train - seq, n - num_test - seq};
    b2 = {num_train, num_train + num_vali, n};
  } else {
    const int64_t m = protocol == Protocol::EttMinute ? 4 : 1;
    const int64_t month = 30 * 24 * m;
    b1 = {0, 12 * month - seq, 12 * month + 4 * month - seq};
    b2 = {12 * month, 12 * month + 4 * month, 12 * month + 8 * month};
  }
  Borders out{};
  for (int s = 0; s < 3; ++s) out[s] = {b1[s], std::min(b2[s], n)};  // pandas slicing stops at n
  return out;
}

// Why a series of these borders has too few rows for one window of each split ("" when it has).
std::string too_short(const Borders& b, int64_t n, int64_t seq, int64_t pred) {
  static const char* names[3] = {"train", "val", "test"};
  for (int s = 0; s < 3; ++s) {
    const int64_t rows = std::max<int64_t>(0, b[s][1] - std::max<int64_t>(b[s][0], 0));
    if (b[s][0] < 0 || rows - seq - pred + 1 < 1)
      return fmt::format(
          "too few rows for the {} split: rows [{}, {}) of {} give {} rows, but seq_len {} + "
          "pred_len {} need at least {}",
          names[s], b[s][0], b[s][1], n, rows, seq, pred, seq + pred);
  }
  return "";
}

}  // namespace

ForecastData make_forecast_data(const CsvTable& table, const DataConfig& config,
                                const SampleConfig& sample,
                                const std::function<void(const std::string&)>& log) {
  validate(config, sample);
  const Protocol protocol = protocol_of(config.data);
  const MissingPolicy policy = parse_missing_policy(config.missing);
  const std::string& src = table.source;
  const bool long_fmt = !table.ids.empty();
  ATTEND_CHECK(!long_fmt || protocol == Protocol::Custom,
               "{}: long format (series-id column '{}') needs --data custom, got --data {}", src,
               table.id_column, config.data);
  ForecastData out;
  out.config = config;
  out.sample = sample;
  out.source = src;
  out.id_column = table.id_column;
  out.time_column = table.time_column;
  out.date_format = table.date_format;

  // ---- columns: ETT keeps file order; custom moves the target last (Dataset_Custom) ----------
  const int64_t target_col = table.column_index(config.target);
  const bool need_target = protocol == Protocol::Custom || config.features != "M";
  if (need_target && target_col < 0)
    fail("{}:1: column '{}': target column not found (columns: {})", src, config.target,
         fmt::join(table.columns, ", "));
  std::vector<int64_t> pick;
  if (config.features == "S") {
    pick.push_back(target_col);
  } else if (protocol == Protocol::Custom) {
    for (int64_t c = 0; c < table.cols(); ++c)
      if (c != target_col) pick.push_back(c);
    pick.push_back(target_col);
  } else {
    for (int64_t c = 0; c < table.cols(); ++c) pick.push_back(c);
  }
  const int64_t C = static_cast<int64_t>(pick.size());
  ATTEND_CHECK(C > 0, "{}: no numeric columns besides '{}'", src, table.time_column);
  for (int64_t k = 0; k < C; ++k) {
    out.columns.push_back(table.columns[pick[k]]);
    if (pick[k] == target_col) out.target_index = k;
  }

  // ---- series: values with missing rows and cells filled per --missing ------------------------
  const SeriesRows groups = group_series(table);
  const int64_t seq = sample.seq_len, pred = sample.pred_len;
  std::vector<SeriesValues> series;
  std::vector<std::vector<uint8_t>> observed;
  std::vector<Borders> series_borders;
  bool any_missing = false;
  for (size_t g = 0; g < groups.ids.size(); ++g) {
    const std::string& id = groups.ids[g];
    SeriesValues sv =
        series_values(table, groups.rows[g], pick, protocol == Protocol::Custom, policy, id);
    const Borders b = borders(protocol, config, sv.timestamps, seq, id);
    if (const std::string why = too_short(b, sv.rows(), seq, pred); !why.empty()) {
      if (!long_fmt) fail("{}: {}", src, why);
      if (!config.skip_short)
        fail("{}: series '{}': {} (--skip_short leaves such series out)", src, id, why);
      if (log) log(fmt::format("note: {}: series '{}' left out: {}", src, id, why));
      continue;
    }
    std::vector<std::string> where(out.columns.size());
    for (int64_t c = 0; c < C; ++c)
      where[c] = id.empty() ? out.columns[c] : out.columns[c] + "' of series '" + id;
    // Long format: a static column holds one value per series (its observed cells agree).
    for (const std::string& name : long_fmt ? config.static_columns : std::vector<std::string>{}) {
      const auto c = std::find(out.columns.begin(), out.columns.end(), name) - out.columns.begin();
      if (c == C) continue;  // not among the selected columns: resolve() names it
      int64_t first = -1;
      for (int64_t r = 0; r < sv.rows(); ++r) {
        const double v = sv.values[r * C + c];
        if (std::isnan(v)) continue;
        if (first < 0) first = r;
        ATTEND_CHECK(v == sv.values[first * C + c],
                     "{}:{}: column '{}': --static_columns: {} differs from {} on line {} (a "
                     "static column holds one value per series)",
                     src, sv.lines[r], where[c], v, sv.values[first * C + c], sv.lines[first]);
      }
    }
    observed.push_back(fill_missing(sv.values, sv.rows(), C, policy, where, sv.lines, src));
    for (int64_t r = 0; r < sv.rows(); ++r)
      for (int64_t c = 0; c < C; ++c)
        ATTEND_CHECK(std::abs(sv.values[r * C + c]) <= std::numeric_limits<float>::max(),
                     "{}:{}: column '{}': {} is beyond float32's range (|x| <= 3.4e38)", src,
                     sv.lines[r], where[c], sv.values[r * C + c]);
    for (uint8_t o : observed.back()) any_missing |= o == 0;
    if (long_fmt) out.series_ids.push_back(id);
    series.push_back(std::move(sv));
    series_borders.push_back(b);
  }
  ATTEND_CHECK(!series.empty(),
               "{}: every series is too short for one window (seq_len {} + "
               "pred_len {})",
               src, seq, pred);

  // ---- frequency and marks (from the longest series) ------------------------------------------
  size_t longest = 0;
  for (size_t g = 1; g < series.size(); ++g)
    if (series[g].rows() > series[longest].rows()) longest = g;
  const std::string freq_text = format_freq(sample.freq, long_fmt);
  const bool infer = freq_text == "auto";
  const SeriesValues& ref = series[longest];
  out.spacing = spacing_of(ref.timestamps);
  // One model, one calendar: every series steps as the longest one does (anchors may differ).
  for (size_t g = 0; g < series.size() && out.spacing; ++g) {
    const std::optional<Frequency> f = spacing_of(series[g].timestamps);
    if (f && (f->kind != out.spacing->kind || f->multiple != out.spacing->multiple))
      fail(
          "{}:{}: column '{}': series '{}' is {}, but series '{}' is {}: the series of one run "
          "share one frequency",
          src, series[g].lines[0], table.time_column, out.series_ids[g], freq_description(*f),
          out.series_ids[longest], freq_description(*out.spacing));
  }
  const Frequency freq =
      infer ? infer_freq(ref.timestamps, src, ref.lines, table.time_column) : parse_freq(freq_text);
  out.freq_kind = time_feature_kind(freq.kind);
  out.freq = std::string(1, freq_letter(freq.kind));
  out.timeenc = sample.embed == "timeF" ? 1 : 0;
  // TSLib adds minute // 15 for Dataset_ETT_minute; we also add it for freq 't' (TSLib's
  // TemporalEmbedding reads a fifth column then, which Dataset_Custom would not provide).
  const bool with_minute = protocol == Protocol::EttMinute || freq.kind == FreqKind::Minute;
  if (out.timeenc == 1)
    out.mark_names = time_feature_names(out.freq_kind);
  else {
    out.mark_names = {"month", "day", "weekday", "hour"};
    if (with_minute) out.mark_names.push_back("minute");
  }
  const int64_t F = out.mark_dim();

  // ---- scalers on the train rows of the selected columns --------------------------------------
  std::vector<StandardScaler> scalers(series.size());
  if (config.scale)
    for (size_t g = 0; g < series.size(); ++g) {
      const auto [t0, t1] = series_borders[g][0];
      scalers[g].fit(series[g].values.data() + t0 * C, t1 - t0, C, out.columns);
    }
  if (long_fmt)
    out.series_scalers = scalers;
  else
    out.scaler = scalers[0];

  // ---- splits: each series' rows back to back, windows inside each -----------------------------
  static const char* names[3] = {"train", "val", "test"};
  ForecastSplit* splits[3] = {&out.train, &out.val, &out.test};
  for (int s = 0; s < 3; ++s) {
    ForecastSplit& sp = *splits[s];
    sp.name = names[s];
    sp.channels = C;
    sp.mark_dim = F;
    sp.seq_len = seq;
    sp.label_len = sample.label_len;
    sp.pred_len = pred;
    if (!long_fmt) sp.begin = series_borders[0][s][0], sp.end = series_borders[0][s][1];
    for (size_t g = 0; g < series.size(); ++g) {
      const auto [b1, b2] = series_borders[g][s];
      const int64_t n = b2 - b1, first = sp.rows;
      sp.data.resize(static_cast<size_t>((first + n) * C));
      const double* from = series[g].values.data() + b1 * C;
      if (config.scale)
        scalers[g].transform(from, n, C, sp.data.data() + first * C);
      else
        for (int64_t i = 0; i < n * C; ++i) sp.data[first * C + i] = static_cast<float>(from[i]);
      for (int64_t i = 0; i < n * C; ++i)
        ATTEND_CHECK(std::isfinite(sp.data[first * C + i]),
                     "{}:{}: column '{}': {} is {} once scaled (beyond float32's range)", src,
                     series[g].lines[b1 + i / C], out.columns[i % C], from[i],
                     sp.data[first * C + i]);
      const std::vector<int64_t> ts(series[g].timestamps.begin() + b1,
                                    series[g].timestamps.begin() + b2);
      sp.timestamps.insert(sp.timestamps.end(), ts.begin(), ts.end());
      const std::vector<float> m = out.timeenc == 1 ? time_features(ts.data(), n, out.freq_kind)
                                                    : time_marks_fixed(ts.data(), n, with_minute);
      sp.marks.insert(sp.marks.end(), m.begin(), m.end());
      if (any_missing && policy == MissingPolicy::Mask)
        sp.observed.insert(sp.observed.end(), observed[g].begin() + b1 * C,
                           observed[g].begin() + b2 * C);
      for (int64_t w = 0; w + seq + pred <= n; ++w) {
        sp.starts.push_back(first + w);
        if (long_fmt) sp.window_series.push_back(static_cast<int64_t>(g));
      }
      sp.rows += n;
    }
  }
  return out;
}

}  // namespace attend::data
