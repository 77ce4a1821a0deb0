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
#include "attend/nn/attention.h"
#include "attend/ops/shape.h"

namespace attend::train {

namespace {

// The frequency future dates follow: the spacing of all of `ts` or, where that breaks, of its last
// `window` rows (their error names the line); with one row, `freq` unless it is auto.
data::Frequency future_frequency(const std::vector<int64_t>& ts, int64_t window,
                                 const std::string& freq, const std::string& source,
                                 const std::vector<int64_t>& lines,
                                 const std::string& column = "date") {
  if (auto f = data::spacing_of(ts)) return *f;
  const size_t first = ts.size() - std::min<size_t>(ts.size(), static_cast<size_t>(window));
  const std::vector<int64_t> tail(ts.begin() + static_cast<std::ptrdiff_t>(first), ts.end());
  if (tail.size() < 2 && !freq.empty() && freq != "auto") return data::parse_freq(freq);
  std::vector<int64_t> tail_lines;
  if (lines.size() == ts.size())
    tail_lines.assign(lines.begin() + static_cast<std::ptrdiff_t>(first), lines.end());
  return data::infer_freq(
      tail, source, tail_lines, column,
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

namespace {

// One series' history: the rows of `input` it holds, in time order.
struct History {
  std::string id;
  std::vector<int64_t> rows;
};

}  // namespace

namespace {

// The known-future columns' values of one series for its P forecast steps, scaled: (P, C) zero
// except in the known columns, from `future`'s rows at exactly those timestamps.
std::vector<float> known_future(const data::CsvTable* future, const std::vector<int64_t>& known,
                                const std::vector<std::string>& columns, const std::string& id,
                                const std::vector<int64_t>& steps,
                                const data::StandardScaler& scaler) {
  std::string names;
  for (int64_t k : known) names += (names.empty() ? "'" : ", '") + columns[k] + "'";
  const int64_t P = static_cast<int64_t>(steps.size()), C = static_cast<int64_t>(columns.size());
  ATTEND_CHECK(future != nullptr,
               "the model reads known-future columns ({}): give their values for the {} forecast "
               "steps with --future FILE",
               names, P);
  const std::string in_series = id.empty() ? "" : " of series '" + id + "'";
  std::vector<int64_t> idx;
  for (int64_t k : known) {
    const int64_t i = future->column_index(columns[k]);
    ATTEND_CHECK(i >= 0, "{}:1: --future: column '{}' is missing (the model reads {})",
                 future->source, columns[k], names);
    idx.push_back(i);
  }
  std::map<int64_t, int64_t> row_at;  // timestamp -> row of this series
  for (int64_t r = 0; r < future->rows(); ++r)
    if (future->ids.empty() || future->ids[r] == id) row_at.emplace(future->timestamps[r], r);
  std::vector<float> out(static_cast<size_t>(P * C), 0.0f);
  for (int64_t j = 0; j < P; ++j) {
    const auto it = row_at.find(steps[j]);
    ATTEND_CHECK(it != row_at.end(),
                 "{}: --future has no row{} for forecast step {} of {} ({}); it needs a row for "
                 "each of the {} steps after the input's last",
                 future->source, in_series, j + 1, P,
                 data::format_timestamp(steps[j], future->date_format), P);
    for (size_t k = 0; k < known.size(); ++k) {
      const double v = future->at(it->second, idx[k]);
      ATTEND_CHECK(std::isfinite(v), "{}:{}: --future: column '{}'{}: missing value at {}",
                   future->source, future->lines[it->second], columns[known[k]], in_series,
                   data::format_timestamp(steps[j], future->date_format));
      const float x = static_cast<float>(scaler.transform_value(v, known[k]));
      ATTEND_CHECK(std::isfinite(x), "{}:{}: --future: column '{}': {} is beyond float32's range",
                   future->source, future->lines[it->second], columns[known[k]], v);
      out[j * C + known[k]] = x;
    }
  }
  return out;
}

}  // namespace

Predictor::Predictor(CheckpointInfo info, Context& ctx, bool repeated)
    : info_(std::move(info)), cfg_(resolved_config(info_)), ctx_(ctx), repeated_(repeated) {
  // A fixed frequency: the model built and its weights read now (a service's first forecast
  // then runs as fast as the next); --freq auto waits for the data's frequency.
  const std::string freq = data::format_freq(cfg_.model.freq, info_.long_format());
  if (freq != "auto") model(data::freq_letter(data::parse_freq(freq).kind));
}

int64_t mark_columns(const models::ModelConfig& c) {
  if (c.embed == "timeF") return models::time_feature_count(c.freq);
  return models::time_feature_letter(c.freq) == "t" ? 5 : 4;
}

void prepare_for_inference(models::ForecastModel& model, PackedWeights& weights, Context& ctx,
                           bool warm) {
  std::vector<Tensor> tensors = model.parameters();
  for (const auto& [name, t] : model.named_buffers()) tensors.push_back(t);
  weights.freeze(tensors);
  if (!warm) return;
  const models::ModelConfig& c = model.config();
  const bool was_training = model.is_training();
  model.eval();
  Generator& gen = ctx.generator();
  const uint64_t counter = gen.counter();
  {
    NoGradGuard no_grad;
    const PackedWeights::Scope scope(weights);
    // zeros: valid values and calendar indices for every model
    const Tensor x_enc = Tensor::zeros({1, c.seq_len, c.enc_in}, DType::F32, ctx);
    Tensor x_dec, xm, ym;
    if (model.uses_decoder_input())
      x_dec = Tensor::zeros({1, c.label_len + c.pred_len, c.dec_in}, DType::F32, ctx);
    if (model.uses_time_marks()) {
      xm = Tensor::zeros({1, c.seq_len, mark_columns(c)}, DType::F32, ctx);
      ym = Tensor::zeros({1, c.label_len + c.pred_len, mark_columns(c)}, DType::F32, ctx);
    }
    model.forecast(x_enc, xm, x_dec, ym);
  }
  gen.set_counter(counter);
  model.train(was_training);
}

models::ForecastModel& Predictor::model(char freq_letter) {
  if (!model_ || model_freq_ != freq_letter) {
    model_ = load_checkpoint_model(info_, std::string(1, freq_letter), ctx_);
    model_freq_ = freq_letter;
    packed_ = PackedWeights();
    prepare_for_inference(*model_, packed_, ctx_, repeated_);
  }
  return *model_;
}

ForecastTable forecast(const CheckpointInfo& info, const data::CsvTable& input, Context& ctx,
                       const std::vector<std::string>& ids, const data::CsvTable* future) {
  return Predictor(info, ctx, /*repeated=*/false).forecast(input, ids, future);
}

std::vector<PreparedWindow> Predictor::prepare(const data::CsvTable& input,
                                               const std::vector<std::string>& ids,
                                               const data::CsvTable* future) {
  const CheckpointInfo& info = info_;
  const RunConfig& cfg = cfg_;
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

  std::vector<PreparedWindow> out;
  for (const History& h : series) {
    PreparedWindow& w = out.emplace_back();
    w.id = h.id;
    w.where = h.id.empty() ? input.source : input.source + ": series '" + h.id + "'";
    // The series' values with missing rows inserted and missing values handled per --missing.
    const data::MissingPolicy policy = data::parse_missing_policy(cfg.data.missing);
    data::SeriesValues sv =
        data::series_values(input, h.rows, idx, cfg.data.data == "custom", policy, h.id);
    const int64_t n = sv.rows();
    ATTEND_CHECK(n >= L, "{}: {} rows, but the model needs the last seq_len = {} rows", w.where, n,
                 L);
    std::vector<std::string> names = columns;
    if (!h.id.empty())
      for (auto& c : names) c += "' of series '" + h.id;
    (void)data::fill_missing(sv.values, n, C, policy, names, sv.lines, input.source);
    const std::vector<int64_t>& lines = sv.lines;
    const std::vector<double>& values = sv.values;
    const std::vector<int64_t> hist(sv.timestamps.end() - L, sv.timestamps.end());
    // Future dates follow the series' own spacing; --freq chooses the time features.
    const data::Frequency spacing =
        sv.spacing
            ? *sv.spacing
            : future_frequency(sv.timestamps, L, cfg.model.freq, w.where, lines, input.time_column);
    const std::string freq_text = data::format_freq(cfg.model.freq, info.long_format());
    const data::Frequency fq = freq_text == "auto" ? spacing : data::parse_freq(freq_text);
    const data::FreqKind feature_kind = data::time_feature_kind(fq.kind);
    w.freq_letter = data::freq_letter(fq.kind);
    const models::ForecastModel& model = this->model(w.freq_letter);

    // x: (L, C) the last L rows scaled with the series' scaler.
    w.scaler = &info.scaler_of(h.id);
    w.x.resize(static_cast<size_t>(L * C));
    for (int64_t r = 0; r < L; ++r)
      for (int64_t c = 0; c < C; ++c) {
        const double v = values[(n - L + r) * C + c];
        w.x[r * C + c] = static_cast<float>(w.scaler->transform_value(v, c));
        ATTEND_CHECK(
            std::abs(v) <= std::numeric_limits<float>::max() && std::isfinite(w.x[r * C + c]),
            "{}:{}: column '{}': {} is beyond float32's range{}", input.source, lines[n - L + r],
            columns[c], v, std::abs(v) <= std::numeric_limits<float>::max() ? " once scaled" : "");
      }
    w.steps = data::future_timestamps(hist.back(), P, spacing);
    if (model.uses_time_marks()) {
      const bool with_minute =
          cfg.data.data.rfind("ETTm", 0) == 0 || fq.kind == data::FreqKind::Minute;
      auto marks = [&](const std::vector<int64_t>& ts) {
        return cfg.model.embed == "timeF"
                   ? data::time_features(ts.data(), static_cast<int64_t>(ts.size()), feature_kind)
                   : data::time_marks_fixed(ts.data(), static_cast<int64_t>(ts.size()),
                                            with_minute);
      };
      std::vector<int64_t> dec_t(hist.end() - Lb, hist.end());
      dec_t.insert(dec_t.end(), w.steps.begin(), w.steps.end());
      w.marks = marks(hist);
      w.dec_marks = marks(dec_t);
    }
    // The decoder's forecast steps: known only in the known-future columns.
    if (model.uses_decoder_input() && !cfg.model.known_columns.empty())
      w.ahead = known_future(future, cfg.model.known_columns, columns, h.id, w.steps, *w.scaler);
  }
  return out;
}

Tensor Predictor::forward(const std::vector<const PreparedWindow*>& batch,
                          nn::AttentionCapture* capture) {
  const RunConfig& cfg = cfg_;
  const int64_t C = static_cast<int64_t>(info_.columns.size());
  const int64_t L = cfg.model.seq_len, P = cfg.model.pred_len, Lb = cfg.model.label_len;
  const auto B = static_cast<int64_t>(batch.size());
  const PreparedWindow& first = *batch.front();
  models::ForecastModel& model = this->model(first.freq_letter);
  auto stack = [&](std::vector<float> PreparedWindow::*part, Shape one) {
    std::vector<float> v;
    for (const PreparedWindow* w : batch) v.insert(v.end(), (w->*part).begin(), (w->*part).end());
    one.insert(0, B);
    return Tensor::from_vector(v, one, ctx_);
  };
  // x_enc (B, L, C); marks (B, L, F) and (B, Lb + P, F); x_dec (B, Lb + P, C)
  const Tensor x_enc = stack(&PreparedWindow::x, {L, C});
  Tensor xm, ym, x_dec;
  if (!first.marks.empty()) {
    const int64_t F = static_cast<int64_t>(first.marks.size()) / L;
    xm = stack(&PreparedWindow::marks, {L, F});
    ym = stack(&PreparedWindow::dec_marks, {Lb + P, F});
  }
  NoGradGuard guard;
  const PackedWeights::Scope packed(packed_);  // the loaded weights never change
  if (model.uses_decoder_input()) {
    const Tensor ahead = cfg.model.known_columns.empty()
                             ? Tensor::zeros({B, P, C}, DType::F32, ctx_)
                             : stack(&PreparedWindow::ahead, {P, C});
    x_dec = models::decoder_input(concat({slice(x_enc, 1, L - Lb, L), ahead}, 1), Lb,
                                  cfg.model.known_columns);
  }
  // Random draws in the forward (Informer's ProbSparse key samples, (Lq, U) shared by the
  // batch) start at the generator's counter 0 every time: a window's forecast does not depend
  // on the windows beside it or on earlier calls. The counter is left as it was.
  Generator& gen = ctx_.generator();
  const uint64_t counter = gen.counter();
  gen.set_counter(0);
  nn::set_attention_capture(model, capture);
  struct Restore {
    Generator& gen;
    uint64_t counter;
    models::ForecastModel& model;
    ~Restore() {
      gen.set_counter(counter);
      nn::set_attention_capture(model, nullptr);
    }
  } restore{gen, counter, model};
  // (B, >= P, c_out, Q) sorted along Q
  return models::sorted_quantiles(model.forecast_quantiles(x_enc, xm, x_dec, ym));
}

std::vector<WindowForecast> Predictor::run(const std::vector<PreparedWindow>& windows) {
  const RunConfig& cfg = cfg_;
  const auto& columns = info_.columns;
  const int64_t C = static_cast<int64_t>(columns.size());
  const int64_t P = cfg.model.pred_len;
  const bool ms = cfg.data.features == "MS";
  std::vector<WindowForecast> out(windows.size());
  // Windows of one time-feature frequency run together, kMaxBatch at a time.
  constexpr size_t kMaxBatch = 256;
  std::vector<size_t> order(windows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return windows[a].freq_letter < windows[b].freq_letter;
  });
  for (size_t first = 0; first < order.size();) {
    std::vector<const PreparedWindow*> batch;
    size_t last = first;
    while (last < order.size() && last - first < kMaxBatch &&
           windows[order[last]].freq_letter == windows[order[first]].freq_letter)
      batch.push_back(&windows[order[last++]]);
    const auto B = static_cast<int64_t>(batch.size());
    // the last P steps of the predicted channels: (B, P, K, Q)
    Tensor q = forward(batch, nullptr);
    const int64_t Co = q.size(2), Q = q.size(3);
    q = slice(slice(q, 1, q.size(1) - P, q.size(1)), 2, ms ? Co - 1 : 0, Co);
    const int64_t K = q.size(2);
    const int64_t f0 = ms ? C - 1 : 0;
    ATTEND_CHECK(f0 + K <= C, "[forecast] model outputs {} channels for {} columns", K, C);
    const std::vector<float> point =  // (B, P, K) the point forecast
        select(q, 3, model(batch.front()->freq_letter).median_index())
            .contiguous_data()
            .to_vector<float>();
    const std::vector<float> all = Q > 1 ? q.contiguous_data().to_vector<float>()  // (B, P, K, Q)
                                         : std::vector<float>();
    for (int64_t b = 0; b < B; ++b) {
      const PreparedWindow& w = *batch[b];
      WindowForecast& f = out[order[first + b]];
      f.first_column = f0;
      f.columns = K;
      for (int64_t i = 0; i < P * K; ++i) {
        const int64_t c = f0 + i % K;
        const float y = static_cast<float>(w.scaler->inverse_value(point[b * P * K + i], c));
        ATTEND_CHECK(std::isfinite(y), "{}: the forecast of '{}' at step {} is {} (not written)",
                     w.where, columns[c], i / K + 1, y);
        f.values.push_back(y);
      }
      for (int64_t i = 0; Q > 1 && i < P * K * Q; ++i) {
        const int64_t c = f0 + i / Q % K;
        const float y = static_cast<float>(w.scaler->inverse_value(all[b * P * K * Q + i], c));
        ATTEND_CHECK(std::isfinite(y), "{}: the {} quantile of '{}' at step {} is {} (not written)",
                     w.where, cfg.model.quantiles[i % Q], columns[c], i / (Q * K) + 1, y);
        f.quantiles.push_back(y);
      }
    }
    first = last;
  }
  return out;
}

std::vector<nn::CapturedAttention> Predictor::attention(const PreparedWindow& window) {
  models::ForecastModel& model = this->model(window.freq_letter);
  ATTEND_CHECK(model.has_attention(), "{} has no attention layers (its forecast has no weights)",
               cfg_.model.model);
  nn::AttentionCapture capture;
  (void)forward({&window}, &capture);
  return model.attention_maps(capture);
}

ForecastTable Predictor::forecast(const data::CsvTable& input, const std::vector<std::string>& ids,
                                  const data::CsvTable* future) {
  const std::vector<PreparedWindow> windows = prepare(input, ids, future);
  const std::vector<WindowForecast> forecasts = run(windows);
  ForecastTable t;
  t.id_column = info_.long_format() ? input.id_column : "";
  t.time_column = info_.long_format() ? input.time_column : "date";
  t.date_format = input.date_format;
  for (size_t i = 0; i < windows.size(); ++i) {
    const WindowForecast& f = forecasts[i];
    if (t.columns.empty())
      for (int64_t k = 0; k < f.columns; ++k)
        t.columns.push_back(info_.columns[f.first_column + k]);
    if (!f.quantiles.empty()) t.levels = cfg_.model.quantiles;
    t.values.insert(t.values.end(), f.values.begin(), f.values.end());
    t.quantiles.insert(t.quantiles.end(), f.quantiles.begin(), f.quantiles.end());
    const std::vector<int64_t>& steps = windows[i].steps;
    t.timestamps.insert(t.timestamps.end(), steps.begin(), steps.end());
    if (info_.long_format()) t.ids.insert(t.ids.end(), steps.size(), windows[i].id);
  }
  return t;
}

std::string quantile_column(const std::string& column, double level) {
  return fmt::format("{}_q{}", column, level);
}

std::string forecast_to_csv(const ForecastTable& t) {
  std::string s = t.id_column.empty()
                      ? data::csv_field(t.time_column)
                      : data::csv_field(t.id_column) + "," + data::csv_field(t.time_column);
  const size_t K = t.columns.size(), Q = t.levels.size();
  for (const auto& c : t.columns) {
    s += "," + data::csv_field(c);
    for (double level : t.levels) s += "," + data::csv_field(quantile_column(c, level));
  }
  s += "\n";
  for (size_t r = 0; r < t.timestamps.size(); ++r) {
    if (!t.id_column.empty()) s += data::csv_field(t.ids[r]) + ",";
    s += data::format_timestamp(t.timestamps[r], t.date_format);
    for (size_t k = 0; k < K; ++k) {
      s += fmt::format(",{}", t.values[r * K + k]);
      for (size_t j = 0; j < Q; ++j) s += fmt::format(",{}", t.quantiles[(r * K + k) * Q + j]);
    }
    s += "\n";
  }
  return s;
}

}  // namespace attend::train
