// Batch loader: batch count with a short last batch, every window once per epoch, seeded order.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "attend/base/error.h"
#include "attend/data/loader.h"
#include "support/data_args.h"
#include "support/gradcheck.h"

namespace attend::data {
namespace {

using attend::testing::DataArgs;

// n hourly rows, columns a = i, OT = -i.
ForecastData make_data(int64_t n) {
  CsvTable t;
  t.source = "loader.csv";
  t.header = {"date", "a", "OT"};
  t.columns = {"a", "OT"};
  for (int64_t i = 0; i < n; ++i) {
    t.timestamps.push_back(1577836800 + i * 3600);
    t.lines.push_back(i + 2);
    t.values.push_back(double(i));
    t.values.push_back(-double(i));
  }
  DataArgs c;
  c.data.data = "custom";
  c.sample.seq_len = 6;
  c.sample.label_len = 3;
  c.sample.pred_len = 2;
  c.data.scale = false;  // values stay the row numbers
  return make_forecast_data(t, c);
}

TEST(Loader, BatchesCoverEveryWindowOnceWithShortLastBatch) {
  ForecastData d = make_data(200);  // train rows 140 -> 140 - 6 - 2 + 1 = 133 windows
  Context ctx;
  BatchLoader loader(d.train, {.batch_size = 32, .shuffle = true, .seed = 5});
  ASSERT_EQ(loader.num_windows(), 133);
  EXPECT_EQ(loader.num_batches(), 5);
  for (uint64_t epoch = 0; epoch < 3; ++epoch) {
    loader.set_epoch(epoch);
    std::multiset<int64_t> seen;
    for (int64_t b = 0; b < loader.num_batches(); ++b) {
      Batch batch = loader.batch(b, ctx);
      EXPECT_EQ(batch.size(), b == 4 ? 5 : 32);
      EXPECT_EQ(batch.x_enc.shape(), Shape({batch.size(), 6, 2}));
      EXPECT_EQ(batch.x_mark_enc.shape(), Shape({batch.size(), 6, 4}));
      EXPECT_EQ(batch.y.shape(), Shape({batch.size(), 5, 2}));
      EXPECT_EQ(batch.y_mark.shape(), Shape({batch.size(), 5, 4}));
      for (int64_t k = 0; k < batch.size(); ++k) {
        const int64_t i = batch.indices[k];
        seen.insert(i);
        // x_enc[k, t, 0] = row i + t; y[k, t, 0] = row i + seq_len - label_len + t.
        EXPECT_EQ(batch.x_enc.at({k, 0, 0}), double(i));
        EXPECT_EQ(batch.x_enc.at({k, 5, 1}), -double(i + 5));
        EXPECT_EQ(batch.y.at({k, 0, 0}), double(i + 3));
        EXPECT_EQ(batch.y.at({k, 4, 0}), double(i + 7));
        EXPECT_EQ(batch.y_mark.at({k, 0, 0}), d.train.seq_y_mark(i)[0]);
        EXPECT_EQ(batch.x_mark_enc.at({k, 5, 3}), d.train.seq_x_mark(i)[5 * 4 + 3]);
      }
    }
    ASSERT_EQ(seen.size(), 133u);
    EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 133u);
    EXPECT_EQ(*seen.begin(), 0);
    EXPECT_EQ(*seen.rbegin(), 132);
  }
  EXPECT_THROW(loader.batch(5, ctx), Error);
}

TEST(Loader, SeededOrder) {
  ForecastData d = make_data(300);
  BatchLoader a(d.train, {.batch_size = 8, .shuffle = true, .seed = 42});
  BatchLoader b(d.train, {.batch_size = 8, .shuffle = true, .seed = 42});
  BatchLoader c(d.train, {.batch_size = 8, .shuffle = true, .seed = 43});
  EXPECT_EQ(a.order(), b.order());
  EXPECT_NE(a.order(), c.order());
  std::vector<int64_t> e0 = a.order();
  a.set_epoch(1);
  EXPECT_NE(a.order(), e0);  // a new permutation each epoch
  a.set_epoch(0);
  EXPECT_EQ(a.order(), e0);  // a function of (seed, epoch) only
  std::vector<int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(sorted, e0);
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], int64_t(i));
}

TEST(Loader, TslibPolicyTestInOrder) {
  ForecastData d = make_data(200);
  Context ctx;
  BatchLoader test = make_loader(d, "test", 7, 1);
  EXPECT_FALSE(test.options().shuffle);
  EXPECT_TRUE(make_loader(d, "train", 7, 1).options().shuffle);
  EXPECT_TRUE(make_loader(d, "val", 7, 1).options().shuffle);
  // test: 200 - 40 - 6 = rows [154, 200) = 46 rows -> 39 windows, 6 batches, last of 4.
  ASSERT_EQ(test.num_windows(), 46 - 6 - 2 + 1);
  EXPECT_EQ(test.num_batches(), 6);
  for (int64_t b = 0, next = 0; b < test.num_batches(); ++b) {
    Batch batch = test.batch(b, ctx);
    for (int64_t i : batch.indices) EXPECT_EQ(i, next++);
    if (b == 5) EXPECT_EQ(batch.size(), 4);
  }
  EXPECT_THROW(BatchLoader(d.test, {.batch_size = 0}), Error);
  EXPECT_THROW(make_loader(d, "holdout", 4, 0), Error);
}

}  // namespace
}  // namespace attend::data
