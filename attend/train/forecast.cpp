// Forecasting from a checkpoint.
#include "attend/train/forecast.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "attend/autograd/node.h"
#include "attend/data/dataset.h"
#include "attend/data/time_features.h"
#include "attend/ops/shape.h"

namespace attend::train {

namespace {

int64_t nominal_step(const std::string& freq) {
  const data::Frequency f = data::parse_freq(freq.empty() ? "h" : freq);
  switch (f.kind) {
    case data::FreqKind::Second:
      return f.multiple;
    case data::FreqKind::Minute:
      return 60 * f.multiple;
    case data::FreqKind::Hour:
      return 3600 * f.multiple;
    case data::FreqKind::Day:
    case data::FreqKind::BusinessDay:
      return 86400 * f.multiple;
    case data::FreqKind::Week:
      return 7 * 86400 * f.multiple;
    default:
      return 30 * 86400 * f.multiple;
  }
}

int days_in_month(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : d[m - 1];
}

int64_t add_months(int64_t ts, int64_t k) {
  const data::CivilTime c = data::civil_time(ts);
  int64_t months = static_cast<int64_t>(c.year) * 12 + (c.month - 1) + k;
  const int y = static_cast<int>(months / 12), m = static_cast<int>(months % 12) + 1;
  // Month-end stays month-end (pandas' MonthEnd); other days are clamped.
  const bool month_end = c.day == days_in_month(c.year, c.month);
  const int day = month_end ? days_in_month(y, m) : std::min(c.day, days_in_month(y, m));
  int64_t out = 0;
  const std::string text =
      fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", y, m, day, c.hour, c.minute, c.second);
  ATTEND_CHECK(data::parse_timestamp(text, &out), "[forecast] cannot step to month '{}'", text);
  return out;
}

}  // namespace

std::vector<int64_t> future_timestamps(const std::vector<int64_t>& ts, int64_t n,
                                       const std::string& freq) {
  ATTEND_CHECK(!ts.empty(), "[forecast] no timestamps to continue");
  std::vector<int64_t> out;
  const int64_t last = ts.back();
  if (ts.size() >= 2 && data::infer_freq(ts, "input") == "m") {
    for (int64_t i = 1; i <= n; ++i) out.push_back(add_months(last, i));
    return out;
  }
  int64_t step = 0;
  if (ts.size() >= 2) {
    std::map<int64_t, int64_t> counts;
    for (size_t i = 1; i < ts.size(); ++i)
      if (ts[i] > ts[i - 1]) ++counts[ts[i] - ts[i - 1]];
    int64_t best = 0;
    for (const auto& [d, k] : counts)
      if (k > best) best = k, step = d;
  }
  if (step <= 0) step = nominal_step(freq);
  for (int64_t i = 1; i <= n; ++i) out.push_back(last + i * step);
  return out;
}

namespace {

// One series' history: the rows of `input` it holds, in time order.
struct History {
  std::string id;
  std::vector<int64_t> rows;
};

}  // namespace

ForecastTable forecast(const CheckpointInfo& info, const data::CsvTable& input, Context& ctx,
                       const std::vector<std::string>& ids) {
  const RunConfig cfg = resolved_config(info);
  const auto& columns = info.columns;
  const int64_t C = static_cast<int64_t>(columns.size());
  const int64_t L = cfg.model.seq_len, P = cfg.model.pred_len, Lb = cfg.model.label_len;
  ATTEND_CHECK(cfg.model.enc_in == C, "{}: enc_in {} but scaler.json has {} columns", info.dir,
               cfg.model.enc_in, C);
  ATTEND_CHECK(
      info.long_format() == !input.ids.empty(),
      "{}: the checkpoint was trained on {} data, but the input is {}", input.source,
      info.long_format() ? "long-format (series-id column '" + info.id_column + "')" : "wide",
      input.ids.empty() ? "wide (no series-id column)"
                        : "long format (series-id column '" + input.id_column + "')");
  ATTEND_CHECK(ids.empty() || info.long_format(), "--ids: the checkpoint's data has no series ids");
  std::vector<int64_t> idx;
  for (const auto& name : columns) {
    const int64_t i = input.column_index(name);
    ATTEND_CHECK(i >= 0, "{}: missing column '{}' (the model reads {})", input.source, name,
                 fmt::format("{}", fmt::join(columns, ", ")));
    idx.push_back(i);
  }
  // The series to forecast: all of the input's (in file order), or those named by --ids.
  const data::SeriesRows groups = data::group_series(input);
  std::vector<History> series;
  if (ids.empty()) {
    for (size_t g = 0; g < groups.ids.size(); ++g)
      series.push_back({groups.ids[g], groups.rows[g]});
  } else {
    for (const auto& id : ids) {
      const auto it = std::find(groups.ids.begin(), groups.ids.end(), id);
      ATTEND_CHECK(it != groups.ids.end(), "--ids: series '{}' is not in {}", id, input.source);
      series.push_back({id, groups.rows[it - groups.ids.begin()]});
    }
  }
  for (const History& h : series) (void)info.scaler_of(h.id);  // unknown ids fail before any work

  std::shared_ptr<models::ForecastModel> model;
  ForecastTable t;
  t.id_column = info.long_format() ? input.id_column : "";
  t.time_column = info.long_format() ? input.time_column : "date";
  for (const History& h : series) {
    const std::string where =
        h.id.empty() ? input.source : input.source + ": series '" + h.id + "'";
    const int64_t n = static_cast<int64_t>(h.rows.size());
    ATTEND_CHECK(n >= L, "{}: {} rows, but the model needs the last seq_len = {} rows", where, n,
                 L);
    std::vector<int64_t> hist;
    for (int64_t r = n - L; r < n; ++r) hist.push_back(input.timestamps[h.rows[r]]);
    std::string freq = cfg.model.freq;
    if (freq.empty() || freq == "auto") freq = data::infer_freq(hist, where);
    const data::Frequency fq = data::parse_freq(freq);
    if (!model)
      model = load_checkpoint_model(info, std::string(1, data::freq_letter(fq.kind)), ctx);

    // The series' values with missing ones handled per --missing, then x_enc: (1, L, C) of the
    // last L rows scaled with the series' scaler.
    std::vector<double> values;
    std::vector<int64_t> lines;
    for (int64_t r : h.rows) {
      for (int64_t c = 0; c < C; ++c) values.push_back(input.at(r, idx[c]));
      lines.push_back(input.lines[r]);
    }
    (void)data::fill_missing(values, n, C, data::parse_missing_policy(cfg.data.missing), columns,
                             lines, input.source);
    const data::StandardScaler& scaler = info.scaler_of(h.id);
    std::vector<float> x(static_cast<size_t>(L * C));
    for (int64_t r = 0; r < L; ++r)
      for (int64_t c = 0; c < C; ++c) {
        const double v = values[(n - L + r) * C + c];
        x[r * C + c] = static_cast<float>(scaler.transform_value(v, c));
        ATTEND_CHECK(
            std::abs(v) <= std::numeric_limits<float>::max() && std::isfinite(x[r * C + c]),
            "{}:{}: column '{}': {} is beyond float32's range{}", input.source, lines[n - L + r],
            columns[c], v, std::abs(v) <= std::numeric_limits<float>::max() ? " once scaled" : "");
      }
    Tensor x_enc = Tensor::from_vector(x, {1, L, C}, ctx);

    const std::vector<int64_t> future = future_timestamps(hist, P, freq);
    Tensor xm, ym, x_dec;
    if (model->uses_time_marks()) {
      const bool with_minute =
          cfg.data.data.rfind("ETTm", 0) == 0 || fq.kind == data::FreqKind::Minute;
      auto marks = [&](const std::vector<int64_t>& ts) {
        return cfg.model.embed == "timeF"
                   ? data::time_features(ts.data(), static_cast<int64_t>(ts.size()), fq.kind)
                   : data::time_marks_fixed(ts.data(), static_cast<int64_t>(ts.size()),
                                            with_minute);
      };
      std::vector<float> mx = marks(hist);
      const int64_t F = static_cast<int64_t>(mx.size()) / L;
      std::vector<int64_t> dec_t(hist.end() - Lb, hist.end());
      dec_t.insert(dec_t.end(), future.begin(), future.end());
      xm = Tensor::from_vector(mx, {1, L, F}, ctx);
      ym = Tensor::from_vector(marks(dec_t), {1, Lb + P, F}, ctx);
    }
    NoGradGuard guard;
    if (model->uses_decoder_input())
      x_dec = concat({slice(x_enc, 1, L - Lb, L), Tensor::zeros({1, P, C}, DType::F32, ctx)}, 1);
    Tensor out = model->forecast(x_enc, xm, x_dec, ym);  // (1, >= P, c_out)
    const bool ms = cfg.data.features == "MS";
    const int64_t Co = out.size(2);
    out = slice(slice(out, 1, out.size(1) - P, out.size(1)), 2, ms ? Co - 1 : 0, Co);
    const int64_t K = out.size(2);
    const int64_t f0 = ms ? C - 1 : 0;
    ATTEND_CHECK(f0 + K <= C, "[forecast] model outputs {} channels for {} columns", K, C);
    if (t.columns.empty())
      for (int64_t k = 0; k < K; ++k) t.columns.push_back(columns[f0 + k]);
    const std::vector<float> v = out.contiguous_data().to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) {
      const int64_t c = f0 + static_cast<int64_t>(i) % K;
      const float y = static_cast<float>(scaler.inverse_value(v[i], c));
      ATTEND_CHECK(std::isfinite(y), "{}: the forecast of '{}' at step {} is {} (not written)",
                   where, columns[c], static_cast<int64_t>(i) / K + 1, y);
      t.values.push_back(y);
    }
    t.timestamps.insert(t.timestamps.end(), future.begin(), future.end());
    if (info.long_format()) t.ids.insert(t.ids.end(), future.size(), h.id);
  }
  return t;
}

namespace {

// A CSV field: quoted (with "" escapes) when it holds a comma, quote or line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string forecast_to_csv(const ForecastTable& t) {
  std::string s = t.id_column.empty() ? csv_field(t.time_column)
                                      : csv_field(t.id_column) + "," + csv_field(t.time_column);
  for (const auto& c : t.columns) s += "," + csv_field(c);
  s += "\n";
  const size_t K = t.columns.size();
  for (size_t r = 0; r < t.timestamps.size(); ++r) {
    if (!t.id_column.empty()) s += csv_field(t.ids[r]) + ",";
    s += data::format_timestamp(t.timestamps[r]);
    for (size_t k = 0; k < K; ++k) s += fmt::format(",{}", t.values[r * K + k]);
    s += "\n";
  }
  return s;
}

}  // namespace attend::train
