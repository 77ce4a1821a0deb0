// Data held in memory (the Python package's DataFrames): data::make_table's checks, and training,
// testing, backtesting and forecasting from a table giving exactly what the same rows read from a
// CSV file give; a Predictor forecasting repeatedly equals one-off forecasts.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/train/backtest.h"
#include "attend/train/experiment.h"
#include "attend/train/forecast.h"
#include "support/temp_dir.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;

// Two daily series in long format: the columns of a DataFrame and the same rows as a CSV file.
data::TableColumns two_series() {
  data::TableColumns in;
  in.source = "DataFrame";
  in.time_column = "ds";
  in.id_column = "unique_id";
  in.columns = {"x", "y"};
  for (const char* id : {"a", "b"})
    for (int i = 0; i < 120; ++i) {
      in.ids.push_back(id);
      in.timestamps.push_back(1577836800 + int64_t{86400} * i);
      const double phase = id[0] == 'a' ? 0.0 : 1.0;
      in.values.push_back(std::cos(0.2 * i + phase));
      in.values.push_back(std::sin(0.3 * i + phase) + 0.01 * i);
    }
  return in;
}

std::string to_csv_file(const data::TableColumns& in, const std::string& dir) {
  const std::string path = dir + "/series.csv";
  std::ofstream f(path);
  f << "unique_id,ds,x,y\n";
  for (size_t r = 0; r < in.timestamps.size(); ++r)
    f << in.ids[r] << "," << data::format_timestamp(in.timestamps[r]) << ","
      << fmt::format("{},{}", in.values[2 * r], in.values[2 * r + 1]) << "\n";
  return path;
}

RunConfig config_for(const std::string& path, const std::string& checkpoints) {
  RunConfig c;
  c.model.model = "DLinear";
  c.data.data = "custom";
  c.data.target = "y";
  c.data.root_path = fs::path(path).parent_path().string();
  c.data.data_path = fs::path(path).filename().string();
  c.model.seq_len = 14;
  c.model.label_len = 7;
  c.model.pred_len = 7;
  c.train.batch_size = 16;
  c.train.train_epochs = 2;
  c.run.checkpoints = checkpoints;
  return c;
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(InMemory, MakeTableRefusesWhatTheCsvReaderRefuses) {
  auto with = [](auto change) {
    data::TableColumns in = two_series();
    change(in);
    return [in]() mutable { (void)data::make_table(in); };
  };
  expect_error(with([](auto& in) { in.timestamps[5] = in.timestamps[4]; }),
               "DataFrame:5: column 'ds': 2020-01-05 00:00:00 duplicates row 4's");
  expect_error(with([](auto& in) { in.timestamps[125] = 0; }), "within series 'b'");
  expect_error(with([](auto& in) { in.values[7] = std::nan(""); }),
               "DataFrame:3: column 'y': missing value");
  expect_error(with([](auto& in) { in.values[6] = std::numeric_limits<double>::infinity(); }),
               "DataFrame:3: column 'x': inf is not a finite number");
  expect_error(with([](auto& in) { in.ids[9] = ""; }), "DataFrame:9: column 'unique_id': empty");
  expect_error(with([](auto& in) { in.columns[1] = "x"; }), "duplicate column name 'x'");
  expect_error(with([](auto& in) { in.columns[0] = "ds"; }), "duplicate column name 'ds'");
  expect_error(with([](auto& in) { in.values.pop_back(); }), "values for 240 rows of 2 columns");
  expect_error(with([](auto& in) { in.ids.pop_back(); }), "239 series ids for 240 rows");
  // NaN is a missing value when the reader allows them
  data::TableColumns in = two_series();
  in.values[7] = std::nan("");
  data::CsvOptions o;
  o.allow_missing = true;
  EXPECT_EQ(data::make_table(in, o).missing, 1);
}

TEST(InMemory, TrainTestBacktestAndForecastMatchTheCsvFile) {
  const std::string dir = testing::fresh_temp_dir("in_memory");
  const data::TableColumns in = two_series();
  const std::string path = to_csv_file(in, dir);
  const data::CsvTable table = data::make_table(in);

  Context c1(ContextOptions{1, 2}), c2(ContextOptions{1, 2});
  const ValidConfig from_file = config_for(path, dir + "/file");
  const ValidConfig from_table = config_for("/nonexistent/never_read.csv", dir + "/table");
  const ExperimentResult a = train_and_test(from_file, c1);
  ExperimentOptions o;
  o.table = &table;
  const ExperimentResult b = train_and_test(from_table, c2, o);
  EXPECT_EQ(a.metrics.mse, b.metrics.mse);
  EXPECT_EQ(a.metrics.mae, b.metrics.mae);
  // test_weights on the table, the other run's weights
  Context c3(ContextOptions{1, 2});
  EXPECT_EQ(test_weights(from_table, a.dir, c3, &table).mse, a.metrics.mse);
  // without the table the file the configuration names is read (and here does not exist)
  expect_error([&] { (void)test_weights(from_table, a.dir, c3); }, "never_read.csv");

  BacktestOptions bo;
  bo.n_windows = 3;
  bo.checkpoint = a.dir;
  const BacktestResult ra = backtest(from_file, bo, c1);
  bo.table = &table;
  const BacktestResult rb = backtest(from_table, bo, c2);
  ASSERT_EQ(ra.windows.size(), rb.windows.size());
  EXPECT_EQ(ra.overall.mse, rb.overall.mse);
  EXPECT_EQ(backtest_forecasts_csv(ra), backtest_forecasts_csv(rb));

  const CheckpointInfo info = read_checkpoint(a.dir);
  const data::CsvTable csv = data::read_csv(path);
  const ForecastTable fa = forecast(info, csv, c1);
  Predictor p(info, c2);
  for (int i = 0; i < 3; ++i) {  // the kept model gives the same forecast every time
    const ForecastTable fb = p.forecast(table);
    EXPECT_EQ(fa.values, fb.values);
    EXPECT_EQ(fa.timestamps, fb.timestamps);
    EXPECT_EQ(fa.ids, fb.ids);
  }
  EXPECT_EQ(p.forecast(table, {"b"}).values.size(), 7u * 2);
}

}  // namespace
}  // namespace attend::train
