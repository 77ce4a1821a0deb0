// Forecasting from a checkpoint.
#include "attend/train/forecast.h"

#include <algorithm>
#include <map>

#include "attend/autograd/node.h"
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
  const auto spacing = data::spacing_of(ts);
  if (spacing && data::time_feature_kind(spacing->kind) == data::FreqKind::Month) {
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

ForecastTable forecast(const CheckpointInfo& info, const data::CsvTable& input, Context& ctx) {
  const RunConfig cfg = resolved_config(info);
  const auto& columns = info.scaler.columns();
  const int64_t C = static_cast<int64_t>(columns.size());
  const int64_t L = cfg.model.seq_len, P = cfg.model.pred_len, Lb = cfg.model.label_len;
  ATTEND_CHECK(cfg.model.enc_in == C, "{}: enc_in {} but scaler.json has {} columns", info.dir,
               cfg.model.enc_in, C);
  std::vector<int64_t> idx;
  for (const auto& name : columns) {
    const int64_t i = input.column_index(name);
    ATTEND_CHECK(i >= 0, "{}: missing column '{}' (the model reads {})", input.source, name,
                 fmt::format("{}", fmt::join(columns, ", ")));
    idx.push_back(i);
  }
  const int64_t n = input.rows();
  ATTEND_CHECK(n >= L, "{}: {} rows, but the model needs the last seq_len = {} rows", input.source,
               n, L);
  const int64_t first = n - L;
  std::vector<int64_t> hist(input.timestamps.begin() + first, input.timestamps.end());
  for (size_t i = 1; i < hist.size(); ++i)
    ATTEND_CHECK(hist[i] > hist[i - 1], "{}:{}: timestamps must increase", input.source,
                 input.lines[first + i]);
  std::string freq = cfg.model.freq;
  if (freq.empty() || freq == "auto") freq = data::infer_freq(hist, input.source).text;
  const data::Frequency fq = data::parse_freq(freq);
  const std::string letter(1, data::freq_letter(fq.kind));
  auto model = load_checkpoint_model(info, letter, ctx);

  // x_enc: (1, L, C) scaled
  std::vector<float> x(static_cast<size_t>(L * C));
  for (int64_t r = 0; r < L; ++r)
    for (int64_t c = 0; c < C; ++c)
      x[r * C + c] =
          static_cast<float>(info.scaler.transform_value(input.at(first + r, idx[c]), c));
  Tensor x_enc = Tensor::from_vector(x, {1, L, C}, ctx);

  const std::vector<int64_t> future = future_timestamps(hist, P, freq);
  Tensor xm, ym, x_dec;
  if (model->uses_time_marks()) {
    const bool with_minute =
        cfg.data.data.rfind("ETTm", 0) == 0 || fq.kind == data::FreqKind::Minute;
    auto marks = [&](const std::vector<int64_t>& t) {
      return cfg.model.embed == "timeF"
                 ? data::time_features(t.data(), static_cast<int64_t>(t.size()), fq.kind)
                 : data::time_marks_fixed(t.data(), static_cast<int64_t>(t.size()), with_minute);
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
  ForecastTable t;
  t.timestamps = future;
  for (int64_t k = 0; k < K; ++k) t.columns.push_back(columns[f0 + k]);
  t.values = out.contiguous_data().to_vector<float>();
  for (size_t i = 0; i < t.values.size(); ++i) {
    const int64_t c = f0 + static_cast<int64_t>(i) % K;
    t.values[i] = static_cast<float>(info.scaler.inverse_value(t.values[i], c));
  }
  return t;
}

std::string forecast_to_csv(const ForecastTable& t) {
  std::string s = "date";
  for (const auto& c : t.columns) s += "," + c;
  s += "\n";
  const size_t K = t.columns.size();
  for (size_t r = 0; r < t.timestamps.size(); ++r) {
    s += data::format_timestamp(t.timestamps[r]);
    for (size_t k = 0; k < K; ++k) s += fmt::format(",{}", t.values[r * K + k]);
    s += "\n";
  }
  return s;
}

}  // namespace attend::train
