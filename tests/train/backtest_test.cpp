// Backtests: the cut-off plan, refit 0 against `attend test`'s metrics (wide, long, masked),
// per-cut-off metrics against predict()'s slices, refit N, the files and the errors.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/explain/backtest_plot.h"
#include "attend/train/backtest.h"
#include "attend/train/checkpoint.h"
#include "attend/train/trainer.h"
#include "support/gradcheck.h"
#include "support/paths.h"
#include "support/temp_dir.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;

// The first `rows` rows of ETTh1 as a custom CSV in a fresh folder.
std::string wide_csv(const std::string& name, int rows) {
  const std::string dir = testing::fresh_temp_dir(name);
  std::ifstream in(testing::data_path("ETTh1.csv"));
  std::ofstream out(dir + "/tiny.csv");
  std::string line;
  for (int i = 0; i <= rows && std::getline(in, line); ++i) out << line << "\n";
  return dir + "/tiny.csv";
}

// Two weekly series of different lengths and levels; the target has holes every 9th week when
// `holes`.
std::string long_csv(const std::string& name, bool holes) {
  const std::string path = testing::fresh_temp_dir(name) + "/panel.csv";
  std::ofstream f(path);
  f << "store,week,price,sales\n";
  for (const std::string id : {"north", "south, east"}) {
    const int n = id == "north" ? 90 : 80;
    for (int i = 0; i < n; ++i) {
      const std::string sales =
          holes && i % 9 == 4 ? ""
                              : fmt::format("{}", (id == "north" ? 10 : 50) + std::sin(0.5 * i));
      // date-only weeks (Wednesdays from 2020-01-01): written back date-only
      f << "\"" << id << "\","
        << data::format_timestamp(1577836800 + int64_t{7 * 86400} * i).substr(0, 10) << ","
        << std::cos(0.3 * i) << "," << sales << "\n";
    }
  }
  return path;
}

RunConfig dlinear(const std::string& path);
RunConfig dlinear_with_target(const std::string& path, const std::string& target);

RunConfig dlinear(const std::string& path) {
  RunConfig c;
  c.model.model = "DLinear";
  c.data.data = "custom";
  c.data.root_path = fs::path(path).parent_path().string();
  c.data.data_path = fs::path(path).filename().string();
  c.model.seq_len = 24;
  c.model.label_len = 12;
  c.model.pred_len = 12;
  c.model.freq = "auto";
  c.train.batch_size = 16;
  c.train.train_epochs = 1;
  return c;
}

RunConfig dlinear_with_target(const std::string& path, const std::string& target) {
  RunConfig c = dlinear(path);
  c.data.target = target;
  return c;
}

RunConfig long_config(const std::string& path, bool mask) {
  RunConfig c = dlinear(path);
  c.data.id_col = "store";
  c.data.time_col = "week";
  c.data.target = "sales";
  c.data.features = "MS";
  c.data.missing = mask ? "mask" : "error";
  c.model.seq_len = 8;
  c.model.label_len = 4;
  c.model.pred_len = 3;
  return c;
}

// A checkpoint of cfg's model trained one epoch; returns its folder.
std::string checkpoint(const RunConfig& cfg, const std::string& name) {
  Context ctx(ContextOptions{1, 1});
  Trainer t(cfg, ctx);
  t.train();
  const std::string dir = testing::fresh_temp_dir(name) + "/ck";
  write_folder_atomic(dir, [&](const std::string& tmp) { t.write_checkpoint(tmp); });
  return dir;
}

// `attend test`: the checkpoint's config, its weights, Trainer::test.
Metrics test_metrics(const RunConfig& cfg, const std::string& ck) {
  Context ctx(ContextOptions{1, 1});
  Trainer t(cfg, ctx);
  t.load_weights(ck + "/weights.safetensors");
  return t.test(cfg.train.inverse);
}

BacktestResult run_backtest(const RunConfig& cfg, BacktestOptions o) {
  Context ctx(ContextOptions{1, 1});
  return backtest(cfg, o, ctx);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

data::ForecastSplit split_of(std::vector<int64_t> series_windows) {
  data::ForecastSplit sp;
  for (size_t s = 0; s < series_windows.size(); ++s)
    for (int64_t w = 0; w < series_windows[s]; ++w) {
      sp.starts.push_back(static_cast<int64_t>(sp.starts.size()));
      if (series_windows.size() > 1) sp.window_series.push_back(static_cast<int64_t>(s));
    }
  sp.pred_len = 4;
  return sp;
}

TEST(Backtest, CutoffPlan) {
  const data::ForecastSplit wide = split_of({10});
  CutoffPlan p = plan_cutoffs(wide, 3, 2);
  EXPECT_EQ(p.windows, (std::vector<int64_t>{5, 7, 9}));
  EXPECT_EQ(p.cutoff, (std::vector<int64_t>{0, 1, 2}));
  p = plan_cutoffs(wide, 1, 0);  // the default step: pred_len
  EXPECT_EQ(p.windows, (std::vector<int64_t>{9}));
  EXPECT_EQ(p.step, 4);
  p = plan_cutoffs(wide, 0, 0);  // all, step 1
  EXPECT_EQ(p.count, 10);
  EXPECT_EQ(p.windows.front(), 0);
  p = plan_cutoffs(wide, 0, 4);  // all that fit at step 4: 9, 5, 1
  EXPECT_EQ(p.windows, (std::vector<int64_t>{1, 5, 9}));
  EXPECT_NE(error_of([&] { plan_cutoffs(wide, 4, 4); }).find("--n_windows 4 at --step 4 needs 13"),
            std::string::npos);
  EXPECT_NE(error_of([&] { plan_cutoffs(wide, 1, -1); }).find("--step"), std::string::npos);
  // long format: counted from each series' end; all: each series as many as it holds
  const data::ForecastSplit two = split_of({5, 3});
  p = plan_cutoffs(two, 2, 1, {"a", "b"});
  EXPECT_EQ(p.windows, (std::vector<int64_t>{3, 4, 6, 7}));
  EXPECT_EQ(p.cutoff, (std::vector<int64_t>{0, 1, 0, 1}));
  p = plan_cutoffs(two, 0, 1, {"a", "b"});
  EXPECT_EQ(p.count, 5);
  EXPECT_EQ(p.cutoff, (std::vector<int64_t>{0, 1, 2, 3, 4, 2, 3, 4}));
  EXPECT_NE(error_of([&] {
              plan_cutoffs(two, 4, 1, {"a", "b"});
            }).find("of series 'b' has 3"),
            std::string::npos);
}

// With refit 0, cut-offs at every test window (step 1) give exactly `attend test`'s metrics;
// each cut-off's metrics are those of its window of predict().
TEST(Backtest, RefitZeroOverEveryTestWindowIsTest) {
  const RunConfig run = dlinear(wide_csv("bt_wide", 300));
  const std::string ck = checkpoint(run, "bt_wide_ck");
  for (bool inverse : {false, true}) {
    RunConfig cfg = resolved_config(read_checkpoint(ck));
    cfg.train.inverse = inverse;
    BacktestOptions o;
    o.n_windows = 0;
    o.checkpoint = ck;
    const BacktestResult r = run_backtest(cfg, o);
    const Metrics m = test_metrics(cfg, ck);
    EXPECT_EQ(r.overall.mse, m.mse);
    EXPECT_EQ(r.overall.mae, m.mae);
    EXPECT_EQ(metrics_line(r.overall), metrics_line(m));
    EXPECT_EQ(r.step, 1);
    // per cut-off: predict()'s window, by hand
    Context ctx(ContextOptions{1, 1});
    Trainer t(cfg, ctx);
    t.load_weights(ck + "/weights.safetensors");
    const Predictions p = t.predict("test", inverse);
    ASSERT_EQ(static_cast<int64_t>(r.windows.size()), p.windows);
    ASSERT_EQ(r.cutoffs, p.windows);
    const int64_t n = p.pred_len * p.channels;
    for (int64_t w : {int64_t{0}, p.windows / 2, p.windows - 1}) {
      const BacktestWindow& bw = r.windows[w];
      EXPECT_EQ(bw.cutoff, w);
      EXPECT_EQ(bw.origin, t.data().test.time_of(w, run.model.seq_len - 1));
      double se = 0, ae = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double d = double(p.preds[w * n + i]) - double(p.trues[w * n + i]);
        se += d * d, ae += std::abs(d);
        EXPECT_EQ(bw.pred[i], p.preds[w * n + i]);
      }
      EXPECT_NEAR(bw.metrics.mse, se / n, 1e-12 * (1 + se / n));
      EXPECT_NEAR(bw.metrics.mae, ae / n, 1e-12 * (1 + ae / n));
    }
    // the forecasts are in original units either way: the last actual of OT is the file's
    const BacktestWindow& last = r.windows.back();
    EXPECT_NEAR(last.actual.back(), 29.827, 1e-3);  // OT of ETTh1's row 300 (2016-07-13 11:00)
    EXPECT_EQ(data::format_timestamp(last.times.back()), "2016-07-13 11:00:00");
  }
}

TEST(Backtest, RefitZeroLongFormatMaskedIsTest) {
  const RunConfig run = long_config(long_csv("bt_long", true), true);
  const std::string ck = checkpoint(run, "bt_long_ck");
  const RunConfig cfg = resolved_config(read_checkpoint(ck));
  BacktestOptions o;
  o.n_windows = 0;
  o.checkpoint = ck;
  const BacktestResult r = run_backtest(cfg, o);
  const Metrics m = test_metrics(cfg, ck);
  EXPECT_EQ(r.overall.mse, m.mse);
  EXPECT_EQ(r.overall.mae, m.mae);
  ASSERT_EQ(r.series_ids, (std::vector<std::string>{"north", "south, east"}));
  EXPECT_EQ(r.columns, (std::vector<std::string>{"sales"}));
  // the series end on different weeks: cut-off k sits at the same distance from each one's end
  const BacktestWindow* north_last = nullptr;
  const BacktestWindow* south_last = nullptr;
  int64_t holes = 0;
  for (const auto& w : r.windows) {
    if (w.cutoff == r.cutoffs - 1) (w.series == 0 ? north_last : south_last) = &w;
    for (uint8_t ob : w.observed) holes += ob == 0;
  }
  ASSERT_TRUE(north_last && south_last);
  EXPECT_EQ(north_last->times.back(), 1577836800 + int64_t{7 * 86400} * 89);
  EXPECT_EQ(south_last->times.back(), 1577836800 + int64_t{7 * 86400} * 79);
  EXPECT_GT(holes, 0);

  // files: the input's id and time names, empty actuals where the value is missing
  const std::string out = testing::fresh_temp_dir("bt_long_out");
  write_backtest(r, out);
  std::ifstream fc(out + "/forecasts.csv");
  std::string header, row;
  std::getline(fc, header);
  EXPECT_EQ(header, "store,cutoff,week,sales,sales_actual");
  int rows = 0, empty = 0;
  std::string last;
  while (std::getline(fc, row)) ++rows, empty += row.back() == ',', last = row;
  EXPECT_EQ(rows, static_cast<int>(r.windows.size()) * 3);
  EXPECT_EQ(last.find("\"south, east\",2021-"), 0u) << last;  // id, cut-off date, week date
  EXPECT_EQ(last.find(",2021-", 24), 24u) << last;
  EXPECT_EQ(last.find(" 00:00"), std::string::npos) << last;
  EXPECT_GT(empty, 0);
  std::ifstream cut(out + "/cutoffs.csv");
  std::getline(cut, header);
  EXPECT_EQ(header, "cutoff,store,mse,mae,rmse,mape,mspe");
  std::getline(cut, row);
  EXPECT_EQ(row.find(",north,"), 10u) << row;  // the first cut-off (a date): north's alone
  const auto j = read_json_file(out + "/metrics.json");
  EXPECT_EQ(j.at("overall").at("mse").get<double>(), m.mse);
  EXPECT_EQ(j.at("cutoffs").size(), r.windows.size());
  // the plot: a series by id; an unknown one is refused by name
  EXPECT_EQ(explain::backtest_figure(r, "south, east").height,
            explain::backtest_figure(r, "north").height);
  EXPECT_NE(error_of([&] { explain::backtest_figure(r, "west"); }).find("--plot_id"),
            std::string::npos);
}

// refit 1 over 2 cut-offs trains twice, each time on the rows before the cut-off only; refit 2
// over 3 trains twice; the files are written.
TEST(Backtest, RefitRetrainsBeforeEachCutoff) {
  const RunConfig cfg = dlinear(wide_csv("bt_refit", 300));
  std::vector<std::string> lines;
  BacktestOptions o;
  o.n_windows = 2;
  o.refit = 1;
  o.log = [&](const std::string& s) { lines.push_back(s); };
  const BacktestResult r = run_backtest(cfg, o);
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_EQ(r.windows.size(), 2u);
  EXPECT_EQ(r.step, 12);
  // the second cut-off's model trained up to its own origin: first forecast row 289 (of 300)
  EXPECT_NE(lines[1].find("cut-off 2/2 2016-07-12 23:00:00: training DLinear on the rows before "
                          "2016-07-13 00:00:00"),
            std::string::npos)
      << lines[1];
  for (const auto& w : r.windows) EXPECT_TRUE(std::isfinite(w.metrics.mse));
  EXPECT_TRUE(std::isfinite(r.overall.mse));
  const std::string out = testing::fresh_temp_dir("bt_refit_out");
  for (const auto& f : write_backtest(r, out)) EXPECT_TRUE(fs::exists(f)) << f;
  EXPECT_EQ(explain::save_figure(explain::backtest_figure(r), out + "/backtest").size(), 2u);
  EXPECT_TRUE(fs::exists(out + "/backtest.png"));

  lines.clear();
  o.n_windows = 3;
  o.refit = 2;
  const BacktestResult r2 = run_backtest(cfg, o);
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_EQ(r2.windows.size(), 3u);
  // cut-offs 0 and 1 share the first model; cut-off 2's model is refit 1's last one (same rows
  // before the same cut-off, same seed)
  EXPECT_EQ(r2.windows[2].origin, r.windows[1].origin);
  EXPECT_EQ(r2.windows[2].forecast, r.windows[1].forecast);
}

// Long format whose series span different periods (one ends years before the other starts; with
// dates shared by every series, one of them had no rows to train on): each refit trains every
// series on its own rows before its own cut-off, the cut-offs and actual values of a series
// equal those of a backtest of that series alone.
TEST(Backtest, RefitLongSeriesOfDifferentPeriods) {
  const std::string path = testing::fresh_temp_dir("bt_periods") + "/panel.csv";
  {
    std::ofstream f(path);
    f << "unique_id,ds,y\n";
    for (const std::string id : {"early", "late"}) {
      const int64_t start = id == "early" ? 0 : 1000;  // weeks after 2000-01-05
      for (int64_t i = 0; i < 150; ++i)
        f << id << ","
          << data::format_timestamp(947030400 + int64_t{7 * 86400} * (start + i)).substr(0, 10)
          << "," << (id == "early" ? 10 : 50) + std::sin(0.4 * static_cast<double>(i)) << "\n";
    }
  }
  RunConfig cfg = dlinear(path);
  cfg.data.target = "y";
  BacktestOptions o;
  o.n_windows = 2;
  o.refit = 1;
  std::vector<std::string> lines;
  o.log = [&](const std::string& s) { lines.push_back(s); };
  const BacktestResult both = run_backtest(cfg, o);
  ASSERT_EQ(both.windows.size(), 4u);
  EXPECT_NE(lines[0].find("each of 2 series' rows before its own cut-off"), std::string::npos)
      << lines[0];
  EXPECT_TRUE(std::isfinite(both.overall.mse));
  // the late series alone
  const std::string alone = testing::fresh_temp_dir("bt_periods_late") + "/late.csv";
  {
    std::ifstream in(path);
    std::ofstream out(alone);
    std::string line;
    std::getline(in, line);
    out << line << "\n";
    while (std::getline(in, line))
      if (line.rfind("late,", 0) == 0) out << line << "\n";
  }
  const BacktestResult late = run_backtest(dlinear_with_target(alone, "y"), o);
  ASSERT_EQ(late.windows.size(), 2u);
  std::vector<const BacktestWindow*> from_panel;
  for (const auto& w : both.windows)
    if (both.series_ids[w.series] == "late") from_panel.push_back(&w);
  ASSERT_EQ(from_panel.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(from_panel[k]->origin, late.windows[k].origin);
    EXPECT_EQ(from_panel[k]->actual, late.windows[k].actual);
  }
}

TEST(Backtest, StopsBetweenCutoffs) {
  const RunConfig cfg = dlinear(wide_csv("bt_stop", 300));
  std::atomic<bool> stop{true};
  BacktestOptions o;
  o.n_windows = 3;
  o.refit = 1;
  o.stop = &stop;
  const BacktestResult r = run_backtest(cfg, o);
  EXPECT_TRUE(r.interrupted);
  EXPECT_TRUE(r.windows.empty());
  EXPECT_FALSE(backtest_metrics_json(r).at("complete").get<bool>());
}

TEST(Backtest, BadOptionsNamed) {
  const RunConfig cfg = dlinear(wide_csv("bt_bad", 300));
  BacktestOptions o;
  EXPECT_NE(error_of([&] { run_backtest(cfg, o); }).find("--checkpoint"), std::string::npos);
  o.checkpoint = testing::fresh_temp_dir("bt_bad_ck");
  EXPECT_NE(error_of([&] { run_backtest(cfg, o); }).find("weights.safetensors is missing"),
            std::string::npos);
  o.refit = -1;
  EXPECT_NE(error_of([&] { run_backtest(cfg, o); }).find("--refit must be >= 0"),
            std::string::npos);
  o.refit = 1;
  o.n_windows = 1000;
  EXPECT_NE(error_of([&] { run_backtest(cfg, o); }).find("--n_windows 1000"), std::string::npos);
}

}  // namespace
}  // namespace attend::train
