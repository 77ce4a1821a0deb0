// Numerical faults are named, never written silently: values beyond float32 in the data or a
// forecast input, a loss or gradient that stops being finite, a NaN validation loss.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/train/checkpoint.h"
#include "attend/train/early_stopping.h"
#include "attend/train/forecast.h"
#include "attend/train/trainer.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace attend::train {
namespace {

using attend::testing::error_of;

namespace fs = std::filesystem;

// Hourly custom data: a = sin, OT = cos, with `cell` put into column a of data row `at`.
std::string write_csv(const std::string& name, int rows, int at, const std::string& cell) {
  const std::string path = testing::fresh_temp_dir(name) + "/" + name + ".csv";
  std::ofstream f(path);
  f << "date,a,OT\n";
  for (int i = 0; i < rows; ++i)
    f << data::format_timestamp(1577836800 + int64_t{3600} * i) << ","
      << (i == at ? cell : fmt::format("{}", std::sin(0.1 * i))) << "," << std::cos(0.1 * i)
      << "\n";
  return path;
}

RunConfig config_for(const std::string& path) {
  RunConfig c;
  c.model.model = "DLinear";
  c.data.data = "custom";
  c.data.root_path = fs::path(path).parent_path().string();
  c.data.data_path = fs::path(path).filename().string();
  c.model.seq_len = 12;
  c.model.label_len = 6;
  c.model.pred_len = 6;
  c.train.train_epochs = 1;
  return c;
}

TEST(NumericalFaults, DataBeyondFloat32Named) {
  const std::string path = write_csv("big", 120, 10, "1e39");
  // data row 10 is file line 12
  EXPECT_NE(error_of([&] {
              Context ctx;
              Trainer t(config_for(path), ctx);
            }).find("big.csv:12: column 'a': 1e+39 is beyond float32's range"),
            std::string::npos);
}

TEST(NumericalFaults, ForecastInputOverflowingOnceScaledNamed) {
  const std::string path = write_csv("ok", 120, -1, "");
  Context ctx(ContextOptions{1, 1});
  Trainer t(config_for(path), ctx);
  t.train();
  const std::string ck = testing::fresh_temp_dir("ck") + "/ck";
  write_folder_atomic(ck, [&](const std::string& tmp) { t.write_checkpoint(tmp); });
  const CheckpointInfo info = read_checkpoint(ck);
  // 3e38 fits float32, but scaled by a's small spread it does not; 1e39 does not fit at all
  for (const auto& [cell, words] : std::vector<std::pair<std::string, std::string>>{
           {"3e38", "column 'a': 3e+38 is beyond float32's range once scaled"},
           {"1e39", "column 'a': 1e+39 is beyond float32's range"}}) {
    const std::string in = write_csv("in", 40, 35, cell);
    const data::CsvTable table = data::read_csv(in);
    const std::string m = error_of([&] { forecast(info, table, ctx); });
    EXPECT_NE(m.find("in.csv:37: " + words), std::string::npos) << m;
  }
}

TEST(NumericalFaults, NonFiniteLossStopsTrainingByEpochAndBatch) {
  const std::string path = write_csv("lr", 400, -1, "");
  RunConfig c = config_for(path);
  c.train.learning_rate = 1e35;  // the weights overflow within a few steps
  c.train.batch_size = 8;
  Context ctx(ContextOptions{1, 1});
  Trainer t(c, ctx);
  const std::string m = error_of([&] { t.train(); });
  EXPECT_NE(m.find("[train] epoch 1, batch "), std::string::npos) << m;
  EXPECT_TRUE(m.find("the loss is") != std::string::npos ||
              m.find("is not finite") != std::string::npos)
      << m;
}

TEST(NumericalFaults, NanValidationLossIsNeverAnImprovement) {
  EarlyStopping e(2);
  EXPECT_FALSE(e.step(std::nan("")));
  EXPECT_TRUE(e.step(1.0));
  EXPECT_FALSE(e.step(std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(e.step(std::nan("")));
  EXPECT_TRUE(e.early_stop());
  EXPECT_EQ(e.best_loss(), 1.0);
}

}  // namespace
}  // namespace attend::train
