// Rolling-origin evaluation (neuralforecast's cross_validation) over the test split.
#include "attend/train/backtest.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/io/atomic_file.h"

namespace fs = std::filesystem;

namespace attend::train {

namespace {

// Windows [first, last) of each series of `sp`, in the split's order.
std::vector<std::pair<int64_t, int64_t>> series_segments(const data::ForecastSplit& sp) {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t w0 = 0;
  for (int64_t w = 1; w <= sp.size(); ++w)
    if (w == sp.size() || sp.series_of(w) != sp.series_of(w0)) {
      out.emplace_back(w0, w);
      w0 = w;
    }
  return out;
}

// Keeps only the windows `keep` (ascending indices) of `sp`; its rows stay as they are.
void keep_windows(data::ForecastSplit& sp, const std::vector<int64_t>& keep) {
  std::vector<int64_t> starts, series;
  for (int64_t w : keep) {
    starts.push_back(sp.starts[w]);
    if (!sp.window_series.empty()) series.push_back(sp.window_series[w]);
  }
  sp.starts = std::move(starts);
  sp.window_series = std::move(series);
}

// Metrics of the windows' pred against truth over their observed values, pooled in order.
Metrics pooled_metrics(const std::vector<const BacktestWindow*>& ws) {
  std::vector<float> pred, truth;
  for (const BacktestWindow* w : ws)
    for (size_t i = 0; i < w->pred.size(); ++i)
      if (w->observed.empty() || w->observed[i]) {
        pred.push_back(w->pred[i]);
        truth.push_back(w->truth[i]);
      }
  return compute_metrics(pred.data(), truth.data(), static_cast<int64_t>(pred.size()));
}

// Window i of split `sp` of `d` as a backtest window: p in the metrics' units, orig in original
// units (the same predictions).
BacktestWindow make_window(const data::ForecastData& d, const data::ForecastSplit& sp, int64_t i,
                           const Predictions& p, const Predictions& orig) {
  const int64_t L = sp.seq_len, C = sp.channels, P = p.pred_len, K = p.channels;
  const int64_t f0 = p.first_channel;
  BacktestWindow w;
  w.origin = sp.time_of(i, L - 1);
  const auto a = p.preds.begin() + i * P * K, b = a + P * K;
  const auto oa = orig.preds.begin() + i * P * K, ob = oa + P * K;
  w.pred.assign(a, b);
  w.truth.assign(p.trues.begin() + i * P * K, p.trues.begin() + (i + 1) * P * K);
  w.forecast.assign(oa, ob);
  w.actual.assign(orig.trues.begin() + i * P * K, orig.trues.begin() + (i + 1) * P * K);
  if (!p.observed.empty())
    w.observed.assign(p.observed.begin() + i * P * K, p.observed.begin() + (i + 1) * P * K);
  const data::StandardScaler& sc = d.scaler_of(sp.series_of(i));
  const float* x = sp.seq_x(i);
  for (int64_t r = 0; r < L; ++r) {
    w.history_times.push_back(sp.time_of(i, r));
    for (int64_t k = 0; k < K; ++k) {
      const float v = x[r * C + f0 + k];
      w.history.push_back(sc.fitted() ? static_cast<float>(sc.inverse_value(v, f0 + k)) : v);
    }
  }
  for (int64_t t = 0; t < P; ++t) w.times.push_back(sp.time_of(i, L + t));
  w.metrics = pooled_metrics({&w});
  return w;
}

// Predictions of the (kept) test windows of `t`: in the metrics' units and in original units.
std::pair<Predictions, Predictions> predict_test(Trainer& t) {
  Predictions p = t.predict("test", t.config().train.inverse);
  Predictions orig = p;
  if (!t.config().train.inverse) to_original_units(orig, t.data(), t.data().test);
  return {std::move(p), std::move(orig)};
}

// The columns and series of `d` into r.
void describe(BacktestResult& r, const data::ForecastData& d) {
  const int64_t f0 = d.f_dim();
  for (int64_t c = f0; c < d.channels(); ++c) r.columns.push_back(d.columns[c]);
  r.target = d.target_index >= f0 ? d.target_index - f0 : -1;
  r.id_column = d.id_column;
  r.time_column = d.time_column;
  r.date_format = d.date_format;
  r.series_ids = d.series_ids;
}

BacktestResult backtest_checkpoint(const ValidConfig& cfg, const BacktestOptions& o, Context& ctx) {
  ATTEND_CHECK(!o.checkpoint.empty(),
               "--refit 0 forecasts with a trained model: give its folder with --checkpoint");
  const std::string weights = (fs::path(o.checkpoint) / "weights.safetensors").string();
  if (!fs::exists(weights))
    fail_not_found("--checkpoint: {} is missing (no trained checkpoint in '{}')", weights,
                   o.checkpoint);
  data::ForecastData d = data::load_forecast_data(cfg->data, cfg->model, o.log, o.table);
  const CutoffPlan plan = plan_cutoffs(d.test, o.n_windows, o.step, d.series_ids);
  keep_windows(d.test, plan.windows);
  auto data = std::make_shared<const data::ForecastData>(std::move(d));
  Trainer t(cfg, data, ctx);
  t.load_weights(weights);
  if (o.log)
    o.log(fmt::format(
        "forecasting {} cut-off(s){} with {}", plan.count,
        data->long_format() ? fmt::format(" of {} series", data->series_ids.size()) : "",
        o.checkpoint));
  BacktestResult r;
  describe(r, *data);
  r.config = t.config();
  r.cutoffs = plan.count;
  r.step = plan.step;
  const auto [p, orig] = predict_test(t);
  for (int64_t i = 0; i < data->test.size(); ++i) {
    r.windows.push_back(make_window(*data, data->test, i, p, orig));
    r.windows.back().cutoff = plan.cutoff[i];
    r.windows.back().series = data->test.series_of(i);
  }
  return r;
}

BacktestResult backtest_refit(const ValidConfig& cfg, const BacktestOptions& o, Context& ctx) {
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  const std::string path = (fs::path(cfg->data.root_path) / cfg->data.data_path).string();
  std::optional<data::CsvTable> read;
  if (!o.table) read = data::read_csv(path, data::csv_options(cfg->data));
  const data::CsvTable& table = o.table ? *o.table : *read;
  const data::ForecastData base = data::make_forecast_data(table, cfg->data, cfg->model, o.log);
  const CutoffPlan plan = plan_cutoffs(base.test, o.n_windows, o.step, base.series_ids);
  const data::SeriesRows rows = data::group_series(table);
  const int64_t L = cfg->model.seq_len, P = cfg->model.pred_len;
  auto id_of = [&](int64_t s) { return base.long_format() ? base.series_ids[s] : std::string(); };

  BacktestResult r;
  describe(r, base);
  r.config = *cfg;
  r.cutoffs = plan.count;
  r.step = plan.step;
  for (int64_t first = 0; first < plan.count; first += o.refit) {
    if (o.stop && o.stop->load()) {
      r.interrupted = true;
      break;
    }
    // The group's windows (split order) and the one of them forecast first (over the series).
    const int64_t last = std::min(plan.count, first + o.refit);
    std::vector<size_t> group;
    for (size_t i = 0; i < plan.windows.size(); ++i)
      if (plan.cutoff[i] >= first && plan.cutoff[i] < last) group.push_back(i);
    const size_t ref = *std::min_element(group.begin(), group.end(), [&](size_t a, size_t b) {
      return base.test.time_of(plan.windows[a], L) < base.test.time_of(plan.windows[b], L);
    });
    // Train and validation: each series' rows before its first forecast row of the group, the
    // last 1/8 of them (at least pred_len) for validation. Every series has its own dates, so
    // series that span different periods each train on their own history.
    const std::string when = fmt::format(
        "cut-off {}/{} {}", first + 1, plan.count,
        data::format_timestamp(base.test.time_of(plan.windows[ref], L - 1), base.date_format));
    std::map<int64_t, int64_t> test_time;  // series -> the time of its first forecast row
    for (size_t i : group) {
      const int64_t s = base.test.series_of(plan.windows[i]);
      const int64_t t = base.test.time_of(plan.windows[i], L);
      const auto [it, added] = test_time.emplace(s, t);
      if (!added) it->second = std::min(it->second, t);
    }
    RunConfig rc = *cfg;
    rc.data.val_start.clear();
    rc.data.test_start.clear();
    for (const auto& [s, t] : test_time) {
      const std::string id = id_of(s);
      const auto& series_rows =
          rows.rows[std::find(rows.ids.begin(), rows.ids.end(), id) - rows.ids.begin()];
      std::vector<int64_t> ts;
      for (int64_t row : series_rows) ts.push_back(table.timestamps[row]);
      const int64_t before = std::lower_bound(ts.begin(), ts.end(), t) - ts.begin();
      const int64_t val_rows = std::max<int64_t>(P, before / 8);
      ATTEND_CHECK(before - val_rows >= L + P,
                   "{}{}: too few rows before it to train on ({} rows, of which {} validate; "
                   "seq_len {} + pred_len {} more are needed)",
                   when, id.empty() ? "" : ": series '" + id + "'", before, val_rows, L, P);
      rc.data.series_splits[id] = {ts[before - val_rows], t};
    }
    if (test_time.size() == 1) {
      const auto& split = rc.data.series_splits.begin()->second;
      log(fmt::format("{}: training {} on the rows before {} (validation from {})", when,
                      rc.model.model, data::format_timestamp(split[1]),
                      data::format_timestamp(split[0])));
    } else {
      log(fmt::format("{}: training {} on each of {} series' rows before its own cut-off", when,
                      rc.model.model, test_time.size()));
    }

    data::ForecastData d;
    try {
      d = data::make_forecast_data(table, rc.data, rc.model);
    } catch (const Error& e) {
      fail("{}: {}", when, e.what());
    }
    // The group's windows in d's test split: same series, same forecast origin.
    std::vector<int64_t> keep;
    const auto segments = series_segments(d.test);
    for (size_t i : group) {
      const int64_t s = base.test.series_of(plan.windows[i]);
      const int64_t origin = base.test.time_of(plan.windows[i], L - 1);
      int64_t g = 0;
      if (base.long_format()) {
        const auto it = std::find(d.series_ids.begin(), d.series_ids.end(), id_of(s));
        ATTEND_CHECK(it != d.series_ids.end(), "{}: series '{}' has too few rows before it", when,
                     id_of(s));
        g = it - d.series_ids.begin();
      }
      int64_t found = -1;
      for (int64_t w = segments[g].first; w < segments[g].second && found < 0; ++w)
        if (d.test.time_of(w, L - 1) == origin) found = w;
      ATTEND_CHECK(found >= 0, "{}: no window with origin {} in the retrained split", when,
                   data::format_timestamp(origin, base.date_format));
      keep.push_back(found);
    }
    keep_windows(d.test, keep);
    auto data = std::make_shared<const data::ForecastData>(std::move(d));
    Trainer t(ValidConfig(rc), data, ctx);
    t.set_stop_flag(o.stop);
    t.set_callbacks(o.callbacks);
    if (t.train().interrupted) {
      r.interrupted = true;
      break;
    }
    const auto [p, orig] = predict_test(t);
    for (size_t k = 0; k < group.size(); ++k) {
      r.windows.push_back(make_window(*data, data->test, static_cast<int64_t>(k), p, orig));
      r.windows.back().cutoff = plan.cutoff[group[k]];
      r.windows.back().series = base.test.series_of(plan.windows[group[k]]);
    }
  }
  std::stable_sort(r.windows.begin(), r.windows.end(), [](const auto& a, const auto& b) {
    return a.series != b.series ? a.series < b.series : a.cutoff < b.cutoff;
  });
  return r;
}

}  // namespace

CutoffPlan plan_cutoffs(const data::ForecastSplit& test, int64_t n_windows, int64_t step,
                        const std::vector<std::string>& series_ids) {
  ATTEND_CHECK(n_windows >= 0, "--n_windows must be >= 0 (0: every cut-off that fits), got {}",
               n_windows);
  ATTEND_CHECK(step >= 0, "--step must be >= 1, got {}", step);
  CutoffPlan plan;
  plan.step = step > 0 ? step : n_windows == 0 ? 1 : test.pred_len;
  const auto segments = series_segments(test);
  std::vector<int64_t> counts;
  for (const auto& [w0, w1] : segments) {
    const int64_t windows = w1 - w0;
    const int64_t n = n_windows == 0 ? (windows - 1) / plan.step + 1 : n_windows;
    ATTEND_CHECK((n - 1) * plan.step < windows,
                 "--n_windows {} at --step {} needs {} test windows, but the test split{} has {}",
                 n, plan.step, (n - 1) * plan.step + 1,
                 series_ids.empty()
                     ? std::string()
                     : fmt::format(" of series '{}'", series_ids[test.series_of(w0)]),
                 windows);
    counts.push_back(n);
    plan.count = std::max(plan.count, n);
  }
  for (size_t s = 0; s < segments.size(); ++s)
    for (int64_t j = 0; j < counts[s]; ++j) {
      plan.windows.push_back(segments[s].second - 1 - (counts[s] - 1 - j) * plan.step);
      plan.cutoff.push_back(plan.count - counts[s] + j);
    }
  return plan;
}

BacktestResult backtest(const ValidConfig& cfg, const BacktestOptions& options, Context& ctx) {
  ATTEND_CHECK(options.refit >= 0, "--refit must be >= 0 (0: the checkpoint's weights), got {}",
               options.refit);
  BacktestResult r = options.refit == 0 ? backtest_checkpoint(cfg, options, ctx)
                                        : backtest_refit(cfg, options, ctx);
  r.refit = options.refit;
  std::vector<const BacktestWindow*> all;
  for (const auto& w : r.windows) all.push_back(&w);
  r.overall = pooled_metrics(all);
  return r;
}

namespace {

// The windows in cut-off order (then series).
std::vector<const BacktestWindow*> by_cutoff(const BacktestResult& r) {
  std::vector<const BacktestWindow*> ws;
  for (const auto& w : r.windows) ws.push_back(&w);
  std::stable_sort(ws.begin(), ws.end(), [](const auto* a, const auto* b) {
    return a->cutoff != b->cutoff ? a->cutoff < b->cutoff : a->series < b->series;
  });
  return ws;
}

}  // namespace

std::string backtest_cutoffs_csv(const BacktestResult& r) {
  std::string s = "cutoff";
  if (r.long_format()) s += fmt::format(",{}", data::csv_field(r.id_column));
  s += ",mse,mae,rmse,mape,mspe\n";
  for (const BacktestWindow* w : by_cutoff(r)) {
    s += data::format_timestamp(w->origin, r.date_format);
    if (r.long_format()) s += fmt::format(",{}", data::csv_field(r.series_ids[w->series]));
    const Metrics& m = w->metrics;
    s += fmt::format(",{},{},{},{},{}\n", m.mse, m.mae, m.rmse, m.mape, m.mspe);
  }
  return s;
}

std::string backtest_forecasts_csv(const BacktestResult& r) {
  std::string s;
  if (r.long_format()) s += fmt::format("{},", data::csv_field(r.id_column));
  s += fmt::format("cutoff,{}", data::csv_field(r.time_column));
  for (const auto& c : r.columns)
    s += fmt::format(",{},{}", data::csv_field(c), data::csv_field(c + "_actual"));
  s += "\n";
  const size_t K = r.columns.size();
  for (const BacktestWindow& w : r.windows) {
    const std::string head =
        r.long_format() ? fmt::format("{},{},", data::csv_field(r.series_ids[w.series]),
                                      data::format_timestamp(w.origin, r.date_format))
                        : fmt::format("{},", data::format_timestamp(w.origin, r.date_format));
    for (size_t t = 0; t < w.times.size(); ++t) {
      s += head + data::format_timestamp(w.times[t], r.date_format);
      for (size_t k = 0; k < K; ++k) {
        const size_t i = t * K + k;
        s += fmt::format(",{},", w.forecast[i]);
        if (w.observed.empty() || w.observed[i]) s += fmt::format("{}", w.actual[i]);
      }
      s += "\n";
    }
  }
  return s;
}

nlohmann::json backtest_metrics_json(const BacktestResult& r) {
  nlohmann::json j;
  j["overall"] = metrics_to_json(r.overall);
  j["n_windows"] = r.cutoffs;
  j["step"] = r.step;
  j["refit"] = r.refit;
  j["inverse"] = r.config.train.inverse;
  j["complete"] = !r.interrupted;
  j["cutoffs"] = nlohmann::json::array();
  for (const BacktestWindow* w : by_cutoff(r)) {
    nlohmann::json e = metrics_to_json(w->metrics);
    e["cutoff"] = data::format_timestamp(w->origin, r.date_format);
    if (r.long_format()) e["id"] = r.series_ids[w->series];
    j["cutoffs"].push_back(e);
  }
  return j;
}

std::vector<std::string> write_backtest(const BacktestResult& r, const std::string& dir) {
  fs::create_directories(dir);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"cutoffs.csv", backtest_cutoffs_csv(r)},
      {"forecasts.csv", backtest_forecasts_csv(r)},
      {"metrics.json", backtest_metrics_json(r).dump(1) + "\n"}};
  std::vector<std::string> paths;
  for (const auto& [name, text] : files) {
    paths.push_back((fs::path(dir) / name).string());
    io::write_file_atomic(paths.back(), text);
  }
  return paths;
}

}  // namespace attend::train
