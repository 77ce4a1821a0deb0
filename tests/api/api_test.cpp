// The public API (attend/attend.h): forecasts equal the CLI path's (train::Predictor on the CSV),
// a batch equals one call per input, concurrent callers equal sequential ones, quantiles,
// known-future columns, attention weights, training from run options, and every error.
#include "attend/attend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "attend/data/csv.h"
#include "attend/train/checkpoint.h"
#include "attend/train/forecast.h"
#include "support/temp_dir.h"

namespace attend {
namespace {

const std::string kOwn = std::string(ATTEND_SOURCE_DIR) + "/data/own";

// Checkpoints trained once for the whole binary: name -> folder.
const std::string& checkpoint(const std::string& name) {
  static std::map<std::string, std::string> made;
  auto it = made.find(name);
  if (it != made.end()) return it->second;
  static const std::string root = testing::fresh_temp_dir("api");
  RunOptions o = {{"data", "custom"},
                  {"root_path", kOwn},
                  {"seq_len", "24"},
                  {"label_len", "12"},
                  {"pred_len", "6"},
                  {"d_model", "16"},
                  {"n_heads", "2"},
                  {"e_layers", "1"},
                  {"d_layers", "1"},
                  {"d_ff", "32"},
                  {"train_epochs", "1"},
                  {"batch_size", "16"},
                  {"checkpoints", root + "/" + name}};
  if (name == "long") {  // PatchTST on three monthly series, long format
    o.insert(o.end(), {{"model", "PatchTST"},
                       {"data_path", "monthly.csv"},
                       {"target", "y"},
                       {"patch_len", "6"},
                       {"freq", "auto"}});
  } else if (name == "quantiles") {  // wide, every column forecast with three quantiles
    o.insert(o.end(), {{"model", "DLinear"},
                       {"data_path", "seatbelts.csv"},
                       {"target", "drivers"},
                       {"quantiles", "0.1,0.5,0.9"}});
  } else if (name == "known") {  // TFT reading the law and the petrol price ahead
    o.insert(o.end(), {{"model", "TFT"},
                       {"data_path", "seatbelts.csv"},
                       {"target", "drivers"},
                       {"features", "MS"},
                       {"known_columns", "PetrolPrice,law"}});
  } else if (name == "informer") {  // ProbSparse: random key samples in every forward
    o.insert(o.end(),
             {{"model", "Informer"}, {"data_path", "seatbelts.csv"}, {"target", "drivers"}});
  }
  TrainOptions how;
  how.threads = 2;
  return made[name] = train_model(o, how).checkpoint;
}

data::CsvTable read(const std::string& file) {
  return data::read_csv(kOwn + "/" + file);
}

// The last `rows` rows of a CSV's series `id` (wide: id "") as a SeriesInput of `columns`.
SeriesInput input_of(const data::CsvTable& t, const std::vector<std::string>& columns,
                     const std::string& id, int64_t rows, int64_t drop_last = 0) {
  std::vector<int64_t> picked;
  for (int64_t r = 0; r < t.rows(); ++r)
    if (id.empty() || t.ids[r] == id) picked.push_back(r);
  picked.resize(picked.size() - drop_last);
  picked.erase(picked.begin(), picked.end() - rows);
  SeriesInput in;
  in.id = id;
  for (int64_t r : picked) {
    in.timestamps.push_back(t.timestamps[r]);
    for (const auto& c : columns) in.values.push_back(t.at(r, t.column_index(c)));
  }
  return in;
}

TEST(Api, VersionAndModels) {
  EXPECT_STREQ(version(), ATTEND_VERSION_STRING);
  EXPECT_EQ(std::string(version()), std::to_string(ATTEND_VERSION_MAJOR) + "." +
                                        std::to_string(ATTEND_VERSION_MINOR) + "." +
                                        std::to_string(ATTEND_VERSION_PATCH));
  const std::vector<std::string> names = model_names();
  EXPECT_EQ(names.size(), 8u);
  EXPECT_TRUE(std::set<std::string>(names.begin(), names.end()).count("PatchTST"));
}

TEST(Api, ForecastEqualsTheCommandLinePath) {
  const Model m = Model::load(checkpoint("long"), 2);
  const ModelInfo& info = m.info();
  EXPECT_EQ(info.model, "PatchTST");
  EXPECT_EQ(info.seq_len, 24);
  EXPECT_EQ(info.pred_len, 6);
  EXPECT_EQ(info.columns, std::vector<std::string>{"y"});
  EXPECT_EQ(info.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(info.series_ids.size(), 3u);
  EXPECT_TRUE(info.has_attention);
  // attend forecast's path: the whole CSV through train::Predictor
  const data::CsvTable csv = read("monthly.csv");
  Context ctx(ContextOptions{2, 2});
  const train::ForecastTable expected =
      train::forecast(train::read_checkpoint(info.checkpoint), csv, ctx, {"UKDriverDeaths"});
  const Forecast f = m.forecast(input_of(csv, info.columns, "UKDriverDeaths", 24));
  EXPECT_EQ(f.id, "UKDriverDeaths");
  EXPECT_EQ(f.values, expected.values);
  EXPECT_EQ(f.timestamps, expected.timestamps);
  EXPECT_TRUE(f.quantiles.empty());
  // more history than seq_len: the last seq_len rows count
  EXPECT_EQ(m.forecast(input_of(csv, info.columns, "UKDriverDeaths", 100)).values, f.values);
}

TEST(Api, BatchEqualsOneCallEach) {
  for (const char* name : {"long", "informer"}) {
    const Model m = Model::load(checkpoint(name), 2);
    const bool long_format = !m.info().series_ids.empty();
    const data::CsvTable csv = read(long_format ? "monthly.csv" : "seatbelts.csv");
    std::vector<SeriesInput> inputs;
    for (int64_t drop : {0, 3, 7})  // three windows of one series
      inputs.push_back(input_of(csv, m.info().columns, long_format ? "nottem" : "", 24, drop));
    if (long_format)
      for (const char* id : {"AirPassengers", "UKDriverDeaths"})
        inputs.push_back(input_of(csv, m.info().columns, id, 30));
    const std::vector<Forecast> batch = m.forecast(inputs);
    ASSERT_EQ(batch.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Forecast one = m.forecast(inputs[i]);
      EXPECT_EQ(batch[i].values, one.values) << name << " input " << i;
      EXPECT_EQ(batch[i].timestamps, one.timestamps) << name << " input " << i;
      EXPECT_EQ(batch[i].id, inputs[i].id);
    }
    EXPECT_NE(batch[0].values, batch[1].values);  // different windows, different forecasts
  }
}

TEST(Api, ConcurrentForecastsEqualSequentialOnes) {
  const Model m = Model::load(checkpoint("long"), 1);
  const data::CsvTable csv = read("monthly.csv");
  std::vector<SeriesInput> inputs;
  for (const auto& id : m.info().series_ids)
    for (int64_t drop : {0, 5}) inputs.push_back(input_of(csv, m.info().columns, id, 24, drop));
  std::vector<Forecast> expected;
  for (const auto& in : inputs) expected.push_back(m.forecast(in));
  std::vector<std::vector<Forecast>> got(6);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep)
        for (size_t i = 0; i < inputs.size(); ++i)
          got[t].push_back(t % 2 ? m.forecast(std::vector<SeriesInput>{inputs[i]}).front()
                                 : m.forecast(inputs[i]));
    });
  for (auto& th : threads) th.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), 5 * inputs.size());
    for (size_t k = 0; k < g.size(); ++k)
      EXPECT_EQ(g[k].values, expected[k % inputs.size()].values);
  }
}

TEST(Api, QuantilesSortedBesideThePointForecast) {
  const Model m = Model::load(checkpoint("quantiles"), 2);
  const ModelInfo& info = m.info();
  EXPECT_EQ(info.quantiles, (std::vector<double>{0.1, 0.5, 0.9}));
  EXPECT_EQ(info.outputs, info.columns);  // features M
  const data::CsvTable csv = read("seatbelts.csv");
  const Forecast f = m.forecast(input_of(csv, info.columns, "", 24));
  const size_t P = 6, K = info.outputs.size(), Q = 3;
  ASSERT_EQ(f.values.size(), P * K);
  ASSERT_EQ(f.quantiles.size(), P * K * Q);
  for (size_t i = 0; i < P * K; ++i) {
    EXPECT_LE(f.quantiles[i * Q], f.quantiles[i * Q + 1]);
    EXPECT_LE(f.quantiles[i * Q + 1], f.quantiles[i * Q + 2]);
    EXPECT_EQ(f.values[i], f.quantiles[i * Q + 1]);  // the point forecast is the median
  }
}

TEST(Api, KnownFutureColumnsAreRead) {
  const Model m = Model::load(checkpoint("known"), 2);
  const ModelInfo& info = m.info();
  EXPECT_EQ(info.known_columns, (std::vector<std::string>{"PetrolPrice", "law"}));
  EXPECT_EQ(info.outputs, std::vector<std::string>{"drivers"});
  const data::CsvTable csv = read("seatbelts.csv");
  SeriesInput in = input_of(csv, info.columns, "", 24, 6);
  // the six months after the input, from the file
  const int64_t first = csv.rows() - 6;
  for (int64_t r = first; r < csv.rows(); ++r)
    for (const auto& c : info.known_columns) in.future.push_back(csv.at(r, csv.column_index(c)));
  const Forecast a = m.forecast(in);
  ASSERT_EQ(a.values.size(), 6u);
  EXPECT_EQ(a.timestamps.front(), csv.timestamps[first]);
  for (size_t j = 0; j < 6; ++j) in.future[2 * j + 1] = 1 - in.future[2 * j + 1];  // the law flips
  EXPECT_NE(m.forecast(in).values, a.values);
  in.future.clear();
  try {
    (void)m.forecast(in);
    ADD_FAILURE() << "no future values";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known-future columns"), std::string::npos) << e.what();
  }
}

TEST(Api, AttentionWeightsOfAWindow) {
  const Model m = Model::load(checkpoint("long"), 2);
  const data::CsvTable csv = read("monthly.csv");
  const std::vector<AttentionMap> maps =
      m.attention(input_of(csv, m.info().columns, "AirPassengers", 24));
  ASSERT_EQ(maps.size(), 1u);  // e_layers 1
  EXPECT_EQ(maps[0].role, "encoder self-attention");
  ASSERT_EQ(maps[0].shape.size(), 4u);
  EXPECT_EQ(maps[0].shape[1], 2);  // heads
  const int64_t keys = maps[0].shape[3];
  for (size_t row = 0; row < maps[0].weights.size() / keys; ++row) {
    double sum = 0;
    for (int64_t k = 0; k < keys; ++k) sum += maps[0].weights[row * keys + k];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  const Model dlinear = Model::load(checkpoint("quantiles"), 1);
  EXPECT_THROW(
      (void)dlinear.attention(input_of(read("seatbelts.csv"), dlinear.info().columns, "", 24)),
      Error);
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Api, BadInputsNameWhatIsWrong) {
  const Model m = Model::load(checkpoint("long"), 1);
  const data::CsvTable csv = read("monthly.csv");
  const SeriesInput good = input_of(csv, m.info().columns, "nottem", 24);
  auto with = [&](auto change) {
    SeriesInput in = good;
    change(in);
    return [&m, in] { (void)m.forecast(in); };
  };
  expect_error(with([](SeriesInput& in) { in.values.pop_back(); }),
               "input (series 'nottem'): values holds 23 numbers for 24 timestamps of 1 columns");
  expect_error(with([](SeriesInput& in) { in.id = ""; }), "the checkpoint forecasts series by id");
  expect_error(with([](SeriesInput& in) { in.id = "nope"; }), "nope");
  expect_error(with([](SeriesInput& in) { in.timestamps[3] = in.timestamps[2]; }), "duplicates");
  expect_error(with([](SeriesInput& in) { in.values[5] = INFINITY; }), "not a finite number");
  expect_error(with([](SeriesInput& in) { in.values[5] = NAN; }), "missing value");
  expect_error(with([](SeriesInput& in) { in.future = {1.0}; }), "no known-future columns");
  expect_error([&] { (void)m.forecast(input_of(csv, m.info().columns, "nottem", 10)); },
               "seq_len = 24");
  // in a batch, the message names the input
  expect_error(
      [&] {
        SeriesInput bad = good;
        bad.values.pop_back();
        (void)m.forecast(std::vector<SeriesInput>{good, bad});
      },
      "input 1 (series 'nottem')");
  const Model wide = Model::load(checkpoint("quantiles"), 1);
  SeriesInput w = input_of(read("seatbelts.csv"), wide.info().columns, "", 24);
  w.id = "x";
  expect_error([&] { (void)wide.forecast(w); }, "has no series ids");
  EXPECT_THROW(Model::load("/nonexistent/checkpoint"), NotFoundError);
  expect_error([] { (void)Model::load(checkpoint("long"), -1); }, "threads must be >= 0");
}

TEST(Api, TrainFromRunOptions) {
  const std::string root = testing::fresh_temp_dir("api_train");
  RunOptions o = {{"model", "DLinear"},  {"data", "custom"},
                  {"root_path", kOwn},   {"data_path", "seatbelts.csv"},
                  {"target", "drivers"}, {"seq_len", "24"},
                  {"label_len", "12"},   {"pred_len", "6"},
                  {"train_epochs", "2"}, {"inverse", "true"},
                  {"checkpoints", root}};
  std::vector<EpochProgress> epochs;
  TrainOptions how;
  how.threads = 1;
  how.epoch = [&](const EpochProgress& e) { epochs.push_back(e); };
  const TrainReport r = train_model(o, how);
  EXPECT_FALSE(r.interrupted);
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[1].epoch, 2);
  EXPECT_EQ(epochs[1].epochs, 2);
  std::map<std::string, double> metrics(r.metrics.begin(), r.metrics.end());
  EXPECT_EQ(metrics.size(), 5u);
  EXPECT_GT(metrics.at("mse"), 0);
  EXPECT_EQ(Model::load(r.checkpoint).info().model, "DLinear");

  expect_error([&] { (void)train_model({{"no_such", "1"}}); }, "option 'no_such': unknown");
  expect_error(
      [&] {
        (void)train_model({{"seq_len", "twelve"}});
      },
      "--seq_len: 'twelve' is not an integer");
  expect_error([&] { (void)train_model({{"inverse", "yes"}}); }, "--inverse: 'yes' is not true");
  expect_error(
      [&] {
        (void)train_model({{"learning_rate", "fast"}});
      },
      "--learning_rate: 'fast' is not a number");
  expect_error([&] { (void)train_model({{"d_model", "-1"}}); }, "--d_model must be >= 1");
  RunOptions missing = o;
  missing.push_back({"data_path", "none.csv"});
  EXPECT_THROW((void)train_model(missing), NotFoundError);
}

}  // namespace
}  // namespace attend
