// Forecasting from a checkpoint.
#include "attend/train/forecast.h"

#include <algorithm>

#include "attend/autograd/node.h"
#include "attend/data/time_features.h"
#include "attend/ops/shape.h"

namespace attend::train {

namespace {

// The frequency future dates follow: the spacing of all of `ts` or, where that breaks, of its last
// `window` rows (their error names the line); with one row, `freq` unless it is auto.
data::Frequency future_frequency(const std::vector<int64_t>& ts, int64_t window,
                                 const std::string& freq, const std::string& source,
                                 const std::vector<int64_t>& lines) {
  if (auto f = data::spacing_of(ts)) return *f;
  const size_t first = ts.size() - std::min<size_t>(ts.size(), static_cast<size_t>(window));
  const std::vector<int64_t> tail(ts.begin() + static_cast<std::ptrdiff_t>(first), ts.end());
  if (tail.size() < 2 && !freq.empty() && freq != "auto") return data::parse_freq(freq);
  std::vector<int64_t> tail_lines;
  if (lines.size() == ts.size())
    tail_lines.assign(lines.begin() + static_cast<std::ptrdiff_t>(first), lines.end());
  return data::infer_freq(
      tail, source, tail_lines,
      fmt::format("the future dates follow the spacing of the last seq_len = {} rows", window));
}

}  // namespace

std::vector<int64_t> future_timestamps(const std::vector<int64_t>& ts, int64_t n,
                                       const std::string& freq) {
  ATTEND_CHECK(!ts.empty(), "[forecast] no timestamps to continue");
  const data::Frequency f =
      future_frequency(ts, static_cast<int64_t>(ts.size()), freq, "[forecast] input", {});
  return data::future_timestamps(ts.back(), n, f);
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
  // Future dates follow the data's own spacing; --freq chooses the time features.
  const data::Frequency spacing =
      future_frequency(input.timestamps, L, cfg.model.freq, input.source, input.lines);
  const bool infer = cfg.model.freq.empty() || cfg.model.freq == "auto";
  const data::Frequency fq = infer ? spacing : data::parse_freq(cfg.model.freq);
  const data::FreqKind feature_kind = data::time_feature_kind(fq.kind);
  const std::string letter(1, data::freq_letter(fq.kind));
  auto model = load_checkpoint_model(info, letter, ctx);

  // x_enc: (1, L, C) scaled
  std::vector<float> x(static_cast<size_t>(L * C));
  for (int64_t r = 0; r < L; ++r)
    for (int64_t c = 0; c < C; ++c)
      x[r * C + c] =
          static_cast<float>(info.scaler.transform_value(input.at(first + r, idx[c]), c));
  Tensor x_enc = Tensor::from_vector(x, {1, L, C}, ctx);

  const std::vector<int64_t> future = data::future_timestamps(hist.back(), P, spacing);
  Tensor xm, ym, x_dec;
  if (model->uses_time_marks()) {
    const bool with_minute =
        cfg.data.data.rfind("ETTm", 0) == 0 || fq.kind == data::FreqKind::Minute;
    auto marks = [&](const std::vector<int64_t>& t) {
      return cfg.model.embed == "timeF"
                 ? data::time_features(t.data(), static_cast<int64_t>(t.size()), feature_kind)
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
  t.date_format = input.date_format;
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
    s += data::format_timestamp(t.timestamps[r], t.date_format);
    for (size_t k = 0; k < K; ++k) s += fmt::format(",{}", t.values[r * K + k]);
    s += "\n";
  }
  return s;
}

}  // namespace attend::train
