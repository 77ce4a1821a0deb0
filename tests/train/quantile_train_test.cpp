// Trained quantiles: a model fitted with the pinball loss on data of known noise covers about the
// nominal share of the test values, and forecast writes each level beside its column.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "attend/data/csv.h"
#include "attend/train/checkpoint.h"
#include "attend/train/forecast.h"
#include "attend/train/trainer.h"
#include "support/temp_dir.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;

// Hourly y_t = 2·sin(2π t / 24) + ε_t, ε ~ N(0, 0.5²) from a fixed seed: the 0.1 and 0.9
// quantiles of the next value given the past are the seasonal value ∓ 1.2816 · 0.5.
std::string noisy_csv(const std::string& dir, int n) {
  const std::string path = dir + "/noisy.csv";
  std::ofstream f(path);
  f << "date,y\n";
  std::mt19937 gen(2024);
  std::normal_distribution<double> noise(0.0, 0.5);
  for (int t = 0; t < n; ++t)
    f << data::format_timestamp(1577836800 + int64_t{3600} * t) << ","
      << 2 * std::sin(2 * M_PI * t / 24.0) + noise(gen) << "\n";
  return path;
}

RunConfig quantile_config(const std::string& path) {
  RunConfig c;
  c.model.model = "DLinear";
  c.data.data = "custom";
  c.data.root_path = fs::path(path).parent_path().string();
  c.data.data_path = fs::path(path).filename().string();
  c.data.features = "S";
  c.data.target = "y";
  c.model.seq_len = 48;
  c.model.label_len = 24;
  c.model.pred_len = 12;
  c.model.quantiles = {0.1, 0.5, 0.9};
  c.train.learning_rate = 0.01;
  c.train.batch_size = 32;
  c.train.train_epochs = 8;
  c.train.patience = 8;
  c.train.lradj = "constant";
  c.train.seed = 7;
  return c;
}

TEST(Quantiles, TrainedIntervalCoversItsShare) {
  const std::string dir = testing::fresh_temp_dir("quantiles");
  const RunConfig c = quantile_config(noisy_csv(dir, 2000));
  Context ctx(ContextOptions{1, 7});
  Trainer t(c, ctx);
  t.train();
  const Metrics m = t.test(false);
  ASSERT_TRUE(m.has_quantiles);
  EXPECT_DOUBLE_EQ(m.interval, 0.8);
  EXPECT_GE(m.coverage, 0.65);
  EXPECT_LE(m.coverage, 0.95);
  // The median's error is near the noise's: MAE of N(0, σ) is σ·√(2/π) ≈ 0.4 in original units,
  // 0.4 / std(y) ≈ 0.27 scaled.
  EXPECT_LT(m.mae, 0.5);
  EXPECT_GT(m.crps, 0);
  EXPECT_LT(m.crps, m.mae);  // a calibrated band scores better than the median alone

  // The checkpoint's forecast writes y, y_q0.1, y_q0.5, y_q0.9 with q0.1 <= q0.5 <= q0.9 and
  // the point forecast equal to the 0.5 level.
  const std::string ck = dir + "/ck";
  write_folder_atomic(ck, [&](const std::string& tmp) { t.write_checkpoint(tmp); });
  const CheckpointInfo info = read_checkpoint(ck);
  const ForecastTable f = forecast(info, data::read_csv(dir + "/noisy.csv", {}), ctx);
  ASSERT_EQ(f.levels, c.model.quantiles);
  ASSERT_EQ(f.quantiles.size(), f.values.size() * 3);
  for (size_t i = 0; i < f.values.size(); ++i) {
    EXPECT_LE(f.quantiles[3 * i], f.quantiles[3 * i + 1]);
    EXPECT_LE(f.quantiles[3 * i + 1], f.quantiles[3 * i + 2]);
    EXPECT_EQ(f.values[i], f.quantiles[3 * i + 1]);
  }
  const std::string csv = forecast_to_csv(f);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "date,y,y_q0.1,y_q0.5,y_q0.9");
}

}  // namespace
}  // namespace attend::train
