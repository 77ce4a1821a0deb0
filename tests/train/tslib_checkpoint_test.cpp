// A checkpoint assembled from TSLib's files (a state_dict saved as safetensors, run.py's namespace
// as config.json, a scaler.json) loads and forecasts through `attend forecast`'s path.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "attend/data/calendar.h"
#include "attend/data/csv.h"
#include "attend/data/dataset.h"
#include "attend/io/safetensors.h"
#include "attend/train/checkpoint.h"
#include "attend/train/forecast.h"
#include "support/paths.h"
#include "support/temp_dir.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;

// TSLib's DLinear built with individual=True (tests/fixtures/models/DLinear_individual): its
// weights.safetensors and config.json, with an identity scaler so that forecast()'s input and
// output are the model's. The first batch window, written as a CSV of its ETTh1 dates, must
// forecast the fixture's out_eval[0].
TEST(TslibCheckpoint, DLinearIndividualLoadsAndForecasts) {
  const std::string fixture = testing::fixture_path("models/DLinear_individual");
  if (!fs::exists(fixture) && std::getenv("ATTEND_FIXTURES"))
    GTEST_SKIP() << "no DLinear_individual in $ATTEND_FIXTURES";
  const std::string dir = testing::fresh_temp_dir("tslib_ckpt") + "/ck";
  fs::create_directories(dir);
  for (const char* file : {"weights.safetensors", "config.json"})
    fs::copy_file(fixture + "/" + file, dir + "/" + file);
  const std::vector<std::string> columns = {"HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"};
  const nlohmann::json scaler = {{"columns", columns},
                                 {"mean", std::vector<double>(columns.size(), 0.0)},
                                 {"scale", std::vector<double>(columns.size(), 1.0)}};
  std::ofstream(dir + "/scaler.json") << scaler.dump();

  const CheckpointInfo info = read_checkpoint(dir);
  ASSERT_TRUE(info.config.model.individual);
  Context ctx(ContextOptions{.threads = 1, .seed = 5});
  auto model = load_checkpoint_model(info, "h", ctx);
  // Linear_{Seasonal,Trend}.{i}.{weight,bias}
  EXPECT_EQ(model->state_dict().size(), 4 * columns.size());

  const auto batch = io::load_tensors(fixture + "/batch.safetensors", ctx);
  const auto expected = io::load_tensors(fixture + "/expected.safetensors", ctx);
  const Tensor& x = batch.at("x_enc");  // (B, seq_len, C)
  const int64_t L = x.size(1), C = x.size(2);
  const std::vector<float> xv = x.to_vector<float>();
  const int64_t start = 1467331200;  // 2016-07-01 00:00:00, ETTh1's first row (train window 0)
  const std::string csv = dir + "/input.csv";
  {
    std::ofstream f(csv);
    f << "date";
    for (const auto& c : columns) f << "," << c;
    f << "\n";
    for (int64_t t = 0; t < L; ++t) {
      f << data::format_timestamp(start + 3600 * t);
      for (int64_t c = 0; c < C; ++c) f << "," << fmt::format("{}", xv[t * C + c]);
      f << "\n";
    }
  }
  const ForecastTable out =
      forecast(info, data::read_csv(csv, data::csv_options(info.config.data)), ctx);
  const Tensor& y = expected.at("out_eval");  // (B, pred_len, C)
  const int64_t P = y.size(1);
  ASSERT_EQ(out.columns, columns);
  ASSERT_EQ(out.timestamps.size(), static_cast<size_t>(P));
  EXPECT_EQ(out.timestamps.front(), start + 3600 * L);
  const std::vector<float> yv = y.to_vector<float>();
  ASSERT_EQ(out.values.size(), static_cast<size_t>(P * C));
  for (int64_t i = 0; i < P * C; ++i)
    ASSERT_NEAR(out.values[i], yv[i], 1e-5 + 1e-4 * std::abs(yv[i])) << "element " << i;
}

}  // namespace
}  // namespace attend::train
