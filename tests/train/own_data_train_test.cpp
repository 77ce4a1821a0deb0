// Training, testing and forecasting a user's own data: the masked loss, long format against the
// wide TSLib run, per-series metrics and long-format forecasts.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/io/state_dict.h"
#include "attend/train/checkpoint.h"
#include "attend/train/forecast.h"
#include "attend/train/trainer.h"
#include "support/temp_dir.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;

std::string repo_data(const std::string& name) {
  return std::string(ATTEND_SOURCE_DIR) + "/data/" + name;
}

// A daily custom series whose target has holes every 7th day (in every split).
std::string holed_csv() {
  const std::string path = testing::fresh_temp_dir("holes") + "/holes.csv";
  std::ofstream f(path);
  f << "date,a,OT\n";
  for (int i = 0; i < 200; ++i) {
    const std::string ot = i % 7 == 3 ? "" : fmt::format("{}", std::sin(0.3 * i) + 0.01 * i);
    f << data::format_timestamp(1577836800 + int64_t{86400} * i) << "," << std::cos(0.2 * i) << ","
      << ot << "\n";
  }
  return path;
}

RunConfig holed_config(const std::string& path) {
  RunConfig c;
  c.model.model = "DLinear";
  c.data.data = "custom";
  c.data.root_path = fs::path(path).parent_path().string();
  c.data.data_path = fs::path(path).filename().string();
  c.data.missing = "mask";
  c.model.seq_len = 14;
  c.model.label_len = 7;
  c.model.pred_len = 7;
  c.model.freq = "d";
  c.train.batch_size = 1000;  // one batch: the loss is one masked mean
  c.train.train_epochs = 1;
  return c;
}

// With --missing mask the loss is the mean over the observed targets only: the same number as
// the plain MSE of the hole-free subset of (prediction, truth) pairs.
TEST(OwnData, MaskedLossIsTheHoleFreeSubsetsLoss) {
  const std::string path = holed_csv();
  Context ctx(ContextOptions{1, 3});
  Trainer t(holed_config(path), ctx);
  const double loss = t.evaluate_loss("test");
  const Predictions p = t.predict("test", false);
  ASSERT_EQ(p.observed.size(), p.preds.size());
  double sum = 0;
  int64_t n = 0, holes = 0;
  for (size_t i = 0; i < p.preds.size(); ++i) {
    if (!p.observed[i]) {
      ++holes;
      continue;
    }
    const double d = double(p.preds[i]) - double(p.trues[i]);
    sum += d * d;
    ++n;
  }
  ASSERT_GT(holes, 0);
  EXPECT_NEAR(loss, sum / static_cast<double>(n), 1e-6 * (sum / static_cast<double>(n)));
  // the test metrics leave the holes out too
  EXPECT_NEAR(t.test(false).mse, sum / static_cast<double>(n), 1e-6);
  // and training on it runs (the loss is finite: a hole never becomes a zero target)
  EXPECT_TRUE(std::isfinite(t.train().history.at(0).train_loss));
}

// ETTh1 as 7 series in long format (features S, one global model, cut-offs at ETT's borders)
// forecasts what the wide run forecasts with the same weights: PatchTST is channel-independent.
TEST(OwnData, LongFormatEqualsTheWideRunForPatchTST) {
  const data::CsvTable wide = data::read_csv(repo_data("ETTh1.csv"));
  const std::string path = testing::fresh_temp_dir("long") + "/ETTh1_long.csv";
  {
    std::ofstream f(path);
    f << "unique_id,date,OT\n";
    for (int64_t c = 0; c < wide.cols(); ++c)
      for (int64_t r = 0; r < wide.rows(); ++r)
        f << wide.columns[c] << "," << data::format_timestamp(wide.timestamps[r]) << ","
          << fmt::format("{}", wide.at(r, c)) << "\n";
  }
  RunConfig w;
  w.model.model = "PatchTST";
  w.data.data = "ETTh1";
  w.data.root_path = repo_data("");
  w.data.data_path = "ETTh1.csv";
  w.model.d_model = 16;
  w.model.n_heads = 2;
  w.model.e_layers = 1;
  w.model.d_ff = 32;
  w.model.dropout = 0;
  RunConfig l = w;
  l.data.data = "custom";
  l.data.root_path = fs::path(path).parent_path().string();
  l.data.data_path = fs::path(path).filename().string();
  l.data.features = "S";
  l.data.val_start = data::format_timestamp(wide.timestamps[12 * 30 * 24]);
  l.data.test_start = data::format_timestamp(wide.timestamps[16 * 30 * 24]);
  Context ctx(ContextOptions{2, 5});
  Trainer tw(w, ctx);
  Trainer tl(l, ctx);
  ASSERT_EQ(tl.data().series_ids.size(), 7u);
  io::load_state_dict(tl.model(), tw.model().state_dict());
  const Predictions pw = tw.predict("test", false), pl = tl.predict("test", false);
  const int64_t P = pw.pred_len, C = pw.channels, per_series = pl.windows / 7;
  ASSERT_EQ(C, 7);
  ASSERT_EQ(pl.channels, 1);
  ASSERT_GE(per_series, pw.windows);  // the long test split runs on to the file's end
  double worst = 0, largest = 0;
  for (int64_t i = 0; i < pw.windows; ++i)
    for (int64_t t = 0; t < P; ++t)
      for (int64_t k = 0; k < C; ++k) {
        const double a = pw.preds[(i * P + t) * C + k];
        const double b = pl.preds[(k * per_series + i) * P + t];
        worst = std::max(worst, std::abs(a - b));
        largest = std::max(largest, std::abs(a));
      }
  // float32 sums in other orders (other batch shapes): relative to the forecasts' scale
  EXPECT_LT(worst / largest, 1e-5) << worst << " of " << largest;
}

// A long-format checkpoint forecasts every series (or those asked for) in long format, with the
// input's own column names; per-series test metrics go to the run.
TEST(OwnData, LongFormatForecastAndPerSeriesMetrics) {
  const std::string dir = testing::fresh_temp_dir("longfc");
  const std::string path = dir + "/panel.csv";
  {
    std::ofstream f(path);
    f << "store,week,sales\n";
    for (const std::string id : {"north", "south, east"})
      for (int i = 0; i < 80; ++i)
        f << "\"" << id << "\"," << data::format_timestamp(1577836800 + int64_t{7 * 86400} * i)
          << "," << (id == "north" ? 10 : 50) + std::sin(0.5 * i) << "\n";
  }
  RunConfig c;
  c.model.model = "DLinear";
  c.data.data = "custom";
  c.data.root_path = dir;
  c.data.data_path = "panel.csv";
  c.data.id_col = "store";
  c.data.time_col = "week";
  c.data.target = "sales";
  c.model.seq_len = 8;
  c.model.label_len = 4;
  c.model.pred_len = 3;
  c.model.freq = "auto";
  c.train.train_epochs = 2;
  Context ctx(ContextOptions{1, 1});
  Trainer t(c, ctx);
  t.train();
  const std::vector<Metrics> per = t.test_per_series(true);
  ASSERT_EQ(per.size(), 2u);
  for (const Metrics& m : per) EXPECT_TRUE(std::isfinite(m.mse));
  const std::string ck = dir + "/ck";
  write_folder_atomic(ck, [&](const std::string& tmp) { t.write_checkpoint(tmp); });
  const CheckpointInfo info = read_checkpoint(ck);
  ASSERT_TRUE(info.long_format());
  EXPECT_EQ(info.series_ids, (std::vector<std::string>{"north", "south, east"}));
  data::CsvOptions o;
  o.id_col = "store";
  o.time_col = "week";
  const data::CsvTable input = data::read_csv(path, o);
  const ForecastTable all = forecast(info, input, ctx);
  ASSERT_EQ(all.timestamps.size(), 6u);
  EXPECT_EQ(all.ids[0], "north");
  EXPECT_EQ(all.ids[3], "south, east");
  EXPECT_EQ(all.timestamps[0], 1577836800 + int64_t{7 * 86400} * 80);  // the next week
  const std::string csv = forecast_to_csv(all);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "store,week,sales");
  EXPECT_NE(csv.find("\n\"south, east\",2021-07-"), std::string::npos) << csv;
  // the series forecast near their own level (scaled per series)
  EXPECT_LT(std::abs(all.values[0] - 10), 5);
  EXPECT_LT(std::abs(all.values[3] - 50), 5);
  const ForecastTable one = forecast(info, input, ctx, {"south, east"});
  ASSERT_EQ(one.values.size(), 3u);
  EXPECT_EQ(one.values[0], all.values[3]);
  // An input whose 'north' skips the week of row 75 and whose 'south, east' has an empty cell:
  // under the checkpoint's --missing error the skipped week is refused by line and series, the
  // empty cell only where its series is read; under ffill the week is a filled-in row.
  const std::string gaps = dir + "/gaps.csv";
  {
    std::ofstream f(gaps);
    f << "store,week,sales\n";
    for (const std::string id : {"north", "south, east"})
      for (int i = 0; i < 80; ++i) {
        if (id == "north" && i == 75) continue;
        const std::string v =
            id != "north" && i == 70
                ? ""
                : fmt::format("{}", (id == "north" ? 10 : 50) + std::sin(0.5 * i));
        f << "\"" << id << "\"," << data::format_timestamp(1577836800 + int64_t{7 * 86400} * i)
          << "," << v << "\n";
      }
  }
  data::CsvOptions any = o;
  any.allow_missing = true;
  const data::CsvTable holed = data::read_csv(gaps, any);
  auto message = [&](const std::vector<std::string>& ids) {
    try {
      forecast(info, holed, ctx, ids);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({"north"}).find("gaps.csv:77: column 'week': 1 missing row(s) before "
                                    "'2021-06-16 00:00:00' in series 'north': the rows are weekly "
                                    "(W-WED)"),
            std::string::npos)
      << message({"north"});
  EXPECT_NE(message({"south, east"}).find("column 'sales' of series 'south, east': missing value"),
            std::string::npos)
      << message({"south, east"});
  CheckpointInfo ffill = info;
  set_option(ffill.config, "missing", "ffill", "--missing");
  const ForecastTable filled = forecast(ffill, holed, ctx, {"north"});
  ASSERT_EQ(filled.values.size(), 3u);
  EXPECT_EQ(filled.timestamps[0], all.timestamps[0]);  // the week after the last, as before
  EXPECT_TRUE(std::isfinite(filled.values[0]));
  try {
    forecast(info, input, ctx, {"west"});
    ADD_FAILURE() << "an unknown id was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--ids: series 'west' is not in"), std::string::npos);
  }
}

}  // namespace
}  // namespace attend::train
