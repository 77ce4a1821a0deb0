// Covariates that reach the model: known-future columns in training, test and forecast (with
// --future), and static columns that hold one value per series.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/data/dataset.h"
#include "attend/train/checkpoint.h"
#include "attend/train/forecast.h"
#include "attend/train/trainer.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;
using attend::testing::error_of;

// Hourly rows from 2020-01-01: a planned column k_t (iid N(0, 1), seeded) and the target y_t =
// k_t: unpredictable from the past, known exactly from k's future values.
void write_planned(const std::string& path, int first, int n, bool with_y = true) {
  std::ofstream f(path);
  f << (with_y ? "date,k,y\n" : "date,k\n");
  std::mt19937 gen(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int t = 0; t < first + n; ++t) {
    const double k = normal(gen);
    if (t < first) continue;
    f << data::format_timestamp(1577836800 + int64_t{3600} * t) << "," << k;
    if (with_y) f << "," << k;
    f << "\n";
  }
}

RunConfig planned_config(const std::string& dir, bool known) {
  RunConfig c;
  c.model.model = "Transformer";
  c.data.data = "custom";
  c.data.root_path = dir;
  c.data.data_path = "planned.csv";
  c.data.features = "MS";
  c.data.target = "y";
  if (known) c.data.known_columns = {"k"};
  c.model.seq_len = 24;
  c.model.label_len = 12;
  c.model.pred_len = 6;
  c.model.d_model = 16;
  c.model.n_heads = 2;
  c.model.e_layers = 1;
  c.model.d_layers = 1;
  c.model.d_ff = 32;
  c.model.dropout = 0.0;
  c.train.train_epochs = 3;
  c.train.batch_size = 16;
  c.train.learning_rate = 0.005;
  c.train.seed = 11;
  return c;
}

TEST(Covariates, KnownFutureColumnsReachTheModel) {
  const std::string dir = testing::fresh_temp_dir("known");
  write_planned(dir + "/planned.csv", 0, 500);
  Context ctx(ContextOptions{1, 11});
  Trainer without(planned_config(dir, false), ctx);
  without.train();
  Trainer with(planned_config(dir, true), ctx);
  with.train();
  const double mse_without = without.test(false).mse, mse_with = with.test(false).mse;
  EXPECT_GT(mse_without, 0.5);  // y is noise without k's future: about its variance, 1
  EXPECT_LT(mse_with, 0.25 * mse_without) << mse_with << " vs " << mse_without;

  // Forecast: k's values for the 6 steps after the input come from --future.
  const std::string ck = dir + "/ck";
  write_folder_atomic(ck, [&](const std::string& tmp) { with.write_checkpoint(tmp); });
  const CheckpointInfo info = read_checkpoint(ck);
  const data::CsvTable input = data::read_csv(dir + "/planned.csv", {});
  EXPECT_EQ(error_of([&] { forecast(info, input, ctx); }),
            "the model reads known-future columns ('k'): give their values for the 6 forecast "
            "steps with --future FILE");
  write_planned(dir + "/future.csv", 500, 6, false);
  const data::CsvTable future = data::read_csv(dir + "/future.csv", {});
  const ForecastTable f = forecast(info, input, ctx, {}, &future);
  ASSERT_EQ(f.values.size(), 6u);
  // y = k: the forecast follows the planned values it was given
  std::ifstream in(dir + "/future.csv");
  std::string line;
  std::getline(in, line);
  double err = 0, var = 0;
  for (size_t j = 0; j < 6 && std::getline(in, line); ++j) {
    const double k = std::stod(line.substr(line.find(',') + 1));
    err += (f.values[j] - k) * (f.values[j] - k);
    var += k * k;
  }
  EXPECT_LT(err, 0.5 * var) << err << " vs " << var;
  // A short --future (5 of 6 steps) and a missing value are named.
  write_planned(dir + "/short.csv", 500, 5, false);
  const data::CsvTable short_future = data::read_csv(dir + "/short.csv", {});
  EXPECT_NE(error_of([&] { forecast(info, input, ctx, {}, &short_future); })
                .find("short.csv: --future has no row for forecast step 6 of 6 "
                      "(2020-01-22 01:00:00)"),
            std::string::npos);
  {
    std::ofstream g(dir + "/hole.csv");
    g << "date,k\n";
    for (int t = 500; t < 506; ++t)
      g << data::format_timestamp(1577836800 + int64_t{3600} * t) << "," << (t == 502 ? "" : "1")
        << "\n";
  }
  data::CsvOptions any;
  any.allow_missing = true;
  const data::CsvTable hole = data::read_csv(dir + "/hole.csv", any);
  EXPECT_EQ(error_of([&] { forecast(info, input, ctx, {}, &hole); }),
            dir + "/hole.csv:4: --future: column 'k': missing value at 2020-01-21 22:00:00");
  const data::CsvTable no_k = data::read_csv(dir + "/planned.csv", {});  // has k: fine
  EXPECT_EQ(error_of([&] { forecast(info, input, ctx, {}, &no_k); }).find("column 'k'"),
            std::string::npos);
}

// Long format: a static column must hold one value per series; it is refused by line, column and
// series where it varies.
TEST(Covariates, StaticColumnVaryingWithinASeriesIsRefused) {
  std::string text = "unique_id,ds,size,y\n";
  for (const char* id : {"a", "b"})
    for (int i = 0; i < 30; ++i)
      text += fmt::format("{},2020-01-{:02d},{},{}\n", id, i + 1,
                          std::string(id) == "b" && i == 20 ? 9 : 5, i);
  data::DataConfig c;
  c.data = "custom";
  c.target = "y";
  c.features = "MS";
  c.static_columns = {"size"};
  data::SampleConfig s;
  s.seq_len = 4;
  s.label_len = 2;
  s.pred_len = 2;
  EXPECT_EQ(error_of([&] { data::make_forecast_data(data::parse_csv(text, "st.csv"), c, s); }),
            "st.csv:52: column 'size' of series 'b': --static_columns: 9 differs from 5 on line "
            "32 (a static column holds one value per series)");
  c.static_columns.clear();
  EXPECT_NO_THROW(data::make_forecast_data(data::parse_csv(text, "st.csv"), c, s));
}

}  // namespace
}  // namespace attend::train
