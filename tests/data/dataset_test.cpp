// Dataset protocols: parity with TSLib's Dataset classes (every reference/data fixture), borders,
// column order, features S/MS, embed fixed, scaler.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attend/base/error.h"
#include "attend/data/dataset.h"
#include "attend/data/scaler.h"
#include "attend/io/safetensors.h"
#include "support/data_args.h"
#include "support/paths.h"

namespace attend::data {
namespace {

using attend::testing::data_path;
using attend::testing::DataArgs;
using attend::testing::fixture_path;
using nlohmann::json;

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (auto& e : std::filesystem::directory_iterator(fixture_path("data")))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The DataArgs equivalent to a fixture's TSLib constructor call.
DataArgs config_of(const json& fx) {
  const json& c = fx.at("constructor");
  const std::string cls = fx.at("class").get<std::string>();
  DataArgs cfg;
  if (cls.find("Dataset_ETT_hour") != std::string::npos)
    cfg.data.data = "ETTh1";
  else if (cls.find("Dataset_ETT_minute") != std::string::npos)
    cfg.data.data = "ETTm1";
  else
    cfg.data.data = "custom";
  cfg.data.root_path = data_path();
  cfg.data.data_path = c.at("data_path").get<std::string>();
  cfg.data.features = c.at("features").get<std::string>();
  cfg.data.target = c.at("target").get<std::string>();
  cfg.sample.freq = c.at("freq").get<std::string>();
  cfg.sample.seq_len = c.at("size")[0].get<int64_t>();
  cfg.sample.label_len = c.at("size")[1].get<int64_t>();
  cfg.sample.pred_len = c.at("size")[2].get<int64_t>();
  cfg.sample.embed = c.at("timeenc").get<int>() == 1 ? "timeF" : "fixed";
  cfg.data.scale = c.at("scale").get<bool>();
  return cfg;
}

::testing::AssertionResult windows_close(const float* got, const Tensor& want, int64_t rows,
                                         int64_t cols, const std::string& what) {
  if (want.numel() != rows * cols || want.size(0) != rows)
    return ::testing::AssertionFailure()
           << what << ": shape " << want.shape().size() << "-d with " << want.numel()
           << " values, expected " << rows << "x" << cols;
  std::vector<double> w = want.to_vector<double>();
  for (int64_t i = 0; i < rows * cols; ++i) {
    const double a = got[i], b = w[i];
    if (!(std::fabs(a - b) <= 1e-6 + 1e-6 * std::fabs(b)))
      return ::testing::AssertionFailure()
             << what << " [" << i / cols << ", " << i % cols << "]: " << a << " vs " << b;
  }
  return ::testing::AssertionSuccess();
}

class Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(Fixture, MatchesTslib) {
  const std::string name = GetParam();
  json fx = json::parse(std::ifstream(fixture_path("data/" + name + ".json")));
  Context ctx;
  auto tensors = io::load_tensors(fixture_path("data/" + name + ".safetensors"), ctx);
  ForecastData d = load_forecast_data(config_of(fx));
  const json& cols = fx.at("data_columns_in_order");
  ASSERT_EQ(d.channels(), static_cast<int64_t>(cols.size()));
  for (size_t k = 0; k < cols.size(); ++k) EXPECT_EQ(d.columns[k], cols[k].get<std::string>());
  const json& feats = fx.at("time_features");
  ASSERT_EQ(d.mark_dim(), static_cast<int64_t>(feats.size()));
  for (size_t k = 0; k < feats.size(); ++k) EXPECT_EQ(d.mark_names[k], feats[k].get<std::string>());
  EXPECT_EQ(static_cast<int64_t>(d.train.rows + 0), fx["splits"]["train"]["rows"].get<int64_t>());

  for (const char* split : {"train", "val", "test"}) {
    SCOPED_TRACE(name + " " + split);
    const ForecastSplit& sp = d.split(split);
    const json& js = fx.at("splits").at(split);
    const std::string pre = std::string(split) + ".";
    EXPECT_EQ(sp.size(), tensors.at(pre + "len").item());
    EXPECT_EQ(sp.size(), js.at("len").get<int64_t>());
    EXPECT_EQ(sp.rows, js.at("rows").get<int64_t>());
    // Scaler (rtol 1e-12), from the safetensors F64 tensors and the JSON.
    std::vector<double> mean = tensors.at(pre + "scaler.mean_").to_vector<double>();
    std::vector<double> scale = tensors.at(pre + "scaler.scale_").to_vector<double>();
    std::vector<double> var = tensors.at(pre + "scaler.var_").to_vector<double>();
    ASSERT_EQ(static_cast<int64_t>(mean.size()), d.channels());
    for (int64_t c = 0; c < d.channels(); ++c) {
      EXPECT_NEAR(d.scaler.mean()[c], mean[c], 1e-12 * std::fabs(mean[c])) << c;
      EXPECT_NEAR(d.scaler.scale()[c], scale[c], 1e-12 * std::fabs(scale[c])) << c;
      EXPECT_NEAR(d.scaler.var()[c], var[c], 1e-12 * std::fabs(var[c])) << c;
      EXPECT_NEAR(d.scaler.mean()[c], js["scaler"]["mean_"][c].get<double>(),
                  1e-12 * std::fabs(mean[c]));
    }
    // Windows at the listed indices.
    for (const auto& idx : js.at("indices")) {
      const int64_t i = idx.get<int64_t>();
      const std::string w = pre + std::to_string(i) + ".";
      const int64_t C = sp.channels, F = sp.mark_dim;
      EXPECT_TRUE(windows_close(sp.seq_x(i), tensors.at(w + "seq_x"), sp.seq_len, C, w + "seq_x"));
      EXPECT_TRUE(windows_close(sp.seq_y(i), tensors.at(w + "seq_y"), sp.y_len(), C, w + "seq_y"));
      EXPECT_TRUE(windows_close(sp.seq_x_mark(i), tensors.at(w + "seq_x_mark"), sp.seq_len, F,
                                w + "seq_x_mark"));
      EXPECT_TRUE(windows_close(sp.seq_y_mark(i), tensors.at(w + "seq_y_mark"), sp.y_len(), F,
                                w + "seq_y_mark"));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Reference, Fixture, ::testing::ValuesIn(fixture_names()),
                         [](const auto& info) { return info.param; });

// ---- synthetic tables ---------------------------------------------------------------------------

// n rows from 2020-01-01 every `step` seconds; columns a = i, OT = 2i + 1, b = (i % 7).
CsvTable synthetic(int64_t n, int64_t step, const std::string& order = "a,OT,b") {
  CsvTable t;
  t.source = "synthetic.csv";
  t.header = {"date"};
  t.time_column = "date";
  for (size_t s = 0, e; s <= order.size(); s = e + 1) {
    e = order.find(',', s);
    if (e == std::string::npos) e = order.size();
    t.columns.push_back(order.substr(s, e - s));
    t.header.push_back(t.columns.back());
  }
  for (int64_t i = 0; i < n; ++i) {
    t.timestamps.push_back(1577836800 + i * step);
    t.lines.push_back(i + 2);
    for (const auto& c : t.columns)
      t.values.push_back(c == "a" ? double(i) : c == "OT" ? 2.0 * i + 1 : double(i % 7));
  }
  return t;
}

DataArgs small_config(const std::string& data) {
  DataArgs c;
  c.data.data = data;
  c.sample.seq_len = 8;
  c.sample.label_len = 4;
  c.sample.pred_len = 3;
  return c;
}

TEST(Dataset, CustomBordersTruncateAndMoveTargetLast) {
  CsvTable t = synthetic(101, 3600);
  DataArgs c = small_config("custom");
  ForecastData d = make_forecast_data(t, c);
  // int(101 * 0.7) = 70, int(101 * 0.2) = 20, vali = 11.
  EXPECT_EQ(d.train.begin, 0);
  EXPECT_EQ(d.train.end, 70);
  EXPECT_EQ(d.val.begin, 70 - 8);
  EXPECT_EQ(d.val.end, 81);
  EXPECT_EQ(d.test.begin, 101 - 20 - 8);
  EXPECT_EQ(d.test.end, 101);
  EXPECT_EQ(d.train.size(), 70 - 8 - 3 + 1);
  EXPECT_EQ(d.columns, (std::vector<std::string>{"a", "b", "OT"}));
  EXPECT_EQ(d.target_index, 2);
  EXPECT_EQ(d.freq, "h");  // inferred (freq empty)
  // Scaler on train rows [0, 70): column a = 0..69, mean 34.5, population var (70^2 - 1) / 12.
  EXPECT_DOUBLE_EQ(d.scaler.mean()[0], 34.5);
  EXPECT_NEAR(d.scaler.scale()[0], std::sqrt((70.0 * 70.0 - 1) / 12.0), 1e-12);
  // seq_y of val window 2 starts at CSV row 62 + 2 + 8 - 4 = 68.
  const double a68 = (68 - 34.5) / d.scaler.scale()[0];
  EXPECT_FLOAT_EQ(d.val.seq_y(2)[0], static_cast<float>(a68));
  EXPECT_EQ(d.val.timestamps[0], t.timestamps[62]);
  EXPECT_EQ(d.f_dim(), 0);
}

TEST(Dataset, EttMinuteBordersAndFixedMarks) {
  // ETTm: 12/4/4 months of 30 days at 15 minutes: train [0, 34560), val, test [46080 - seq, 57600).
  CsvTable t = synthetic(57700, 900);
  DataArgs c = small_config("ETTm1");
  c.sample.embed = "fixed";
  ForecastData d = make_forecast_data(t, c);
  EXPECT_EQ(d.train.end, 34560);
  EXPECT_EQ(d.val.begin, 34560 - 8);
  EXPECT_EQ(d.val.end, 46080);
  EXPECT_EQ(d.test.begin, 46080 - 8);
  EXPECT_EQ(d.test.end, 57600);
  EXPECT_EQ(d.freq, "t");
  EXPECT_EQ(d.timeenc, 0);
  ASSERT_EQ(d.mark_dim(), 5);
  // Row 1 of train: 2020-01-01 00:15 (Wednesday): [month 1, day 1, weekday 2, hour 0, minute 1].
  const float* m = d.train.marks.data() + 5;
  EXPECT_EQ(std::vector<float>(m, m + 5), (std::vector<float>{1, 1, 2, 0, 1}));
  // ETT keeps file order for M.
  EXPECT_EQ(d.columns, (std::vector<std::string>{"a", "OT", "b"}));
}

TEST(Dataset, EttHourMarksFixedHaveFourColumns) {
  CsvTable t = synthetic(14500, 3600);
  DataArgs c = small_config("ETTh2");
  c.sample.embed = "learned";
  c.sample.freq = "h";
  ForecastData d = make_forecast_data(t, c);
  EXPECT_EQ(d.mark_dim(), 4);
  EXPECT_EQ(d.test.end, 14400);
  EXPECT_EQ(d.test.size(), 2880 + 8 - 8 - 3 + 1);
}

TEST(Dataset, FeaturesSAndMS) {
  CsvTable t = synthetic(200, 86400);
  DataArgs c = small_config("custom");
  c.data.features = "S";
  ForecastData s = make_forecast_data(t, c);
  EXPECT_EQ(s.columns, std::vector<std::string>{"OT"});
  EXPECT_EQ(s.train.channels, 1);
  EXPECT_EQ(s.freq, "d");
  c.data.features = "MS";
  ForecastData ms = make_forecast_data(t, c);
  EXPECT_EQ(ms.columns.back(), "OT");
  EXPECT_EQ(ms.f_dim(), 2);
  // ETT MS keeps file order; the target must exist.
  c.data.data = "ETTh1";
  c.data.target = "zz";
  EXPECT_THROW(make_forecast_data(t, c), Error);
  c.data.features = "M";  // ETT M does not need the target
  c.sample.seq_len = 8;
  CsvTable big = synthetic(14400, 3600);
  EXPECT_EQ(make_forecast_data(big, c).target_index, -1);
}

TEST(Dataset, ScaleFalseKeepsRawValues) {
  CsvTable t = synthetic(100, 3600);
  DataArgs c = small_config("custom");
  c.data.scale = false;
  ForecastData d = make_forecast_data(t, c);
  EXPECT_EQ(d.test.seq_x(0)[0], static_cast<float>(d.test.begin));
  EXPECT_FALSE(d.scaler.fitted());
}

TEST(Dataset, BadConfigs) {
  CsvTable t = synthetic(100, 3600);
  auto msg = [&](DataArgs c) {
    try {
      make_forecast_data(t, c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  DataArgs c = small_config("custom");
  c.data.data = "weather";
  EXPECT_NE(msg(c).find("unknown --data 'weather'"), std::string::npos);
  c = small_config("custom");
  c.data.features = "X";
  EXPECT_NE(msg(c).find("--features"), std::string::npos);
  c = small_config("custom");
  c.sample.label_len = 9;
  EXPECT_NE(msg(c).find("--label_len"), std::string::npos);
  c = small_config("custom");
  c.sample.embed = "abc";
  EXPECT_NE(msg(c).find("--embed"), std::string::npos);
  c = small_config("custom");
  c.sample.freq = "xyz";
  EXPECT_NE(msg(c).find("unsupported frequency 'xyz'"), std::string::npos);
  c = small_config("custom");
  c.sample.seq_len = 80;  // 70 train rows < seq_len + pred_len
  EXPECT_NE(msg(c).find("synthetic.csv: too few rows for the train split"), std::string::npos)
      << msg(c);
}

// The data's own spacing is kept whatever --freq says; with auto, spacing that fits no frequency
// is an error naming the line; quarterly and yearly series get TSLib's monthly feature.
TEST(Dataset, SpacingAndCalendarFrequencies) {
  CsvTable t = synthetic(100, 86400);  // daily from 2020-01-01, row i on line i + 2
  DataArgs c = small_config("custom");
  c.sample.freq = "h";
  ForecastData d = make_forecast_data(t, c);
  ASSERT_TRUE(d.spacing.has_value());
  EXPECT_EQ(d.spacing->text, "D");
  EXPECT_EQ(d.freq, "h");
  for (size_t i = 50; i < t.timestamps.size(); ++i) t.timestamps[i] += 3600;
  EXPECT_FALSE(make_forecast_data(t, c).spacing.has_value());
  c.sample.freq = "auto";
  try {
    make_forecast_data(t, c);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "synthetic.csv:52: column 'date': 2020-02-20 01:00:00 is 25 hours after the previous "
              "row, but the rows are daily (D) elsewhere: the spacing fits no frequency; pass "
              "--freq to choose the time features");
  }
  t.time_column = "ds";  // the error names the table's own time column
  try {
    make_forecast_data(t, c);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("synthetic.csv:52: column 'ds': ", 0), 0u) << e.what();
  }
  t.time_column = "date";
  for (const char* freq : {"QE", "YS"}) {
    const Frequency f = parse_freq(freq);
    t.timestamps = future_timestamps(-86400 * 365 * 20, 100, f);
    ForecastData q = make_forecast_data(t, c);
    EXPECT_EQ(q.spacing->text, freq);
    EXPECT_EQ(q.freq, "m");
    EXPECT_EQ(q.mark_names, std::vector<std::string>{"MonthOfYear"});
    const float month_of_first =
        static_cast<float>((civil_time(t.timestamps[0]).month - 1) / 11.0 - 0.5);
    EXPECT_EQ(q.train.marks[0], month_of_first);
  }
}

// ---- scaler
// ---------------------------------------------------------------------------------------

TEST(Scaler, FitTransformInverse) {
  // Two columns, row stride 3 (third column ignored); column 1 is constant -> scale 1.
  std::vector<double> x{1, 5, 99, 2, 5, 99, 3, 5, 99, 6, 5, 99};
  StandardScaler s;
  s.fit(x.data(), 4, 3, {"a", "b"});
  EXPECT_DOUBLE_EQ(s.mean()[0], 3.0);
  EXPECT_DOUBLE_EQ(s.var()[0], (4 + 1 + 0 + 9) / 4.0);
  EXPECT_DOUBLE_EQ(s.scale()[0], std::sqrt(3.5));
  EXPECT_DOUBLE_EQ(s.mean()[1], 5.0);
  EXPECT_EQ(s.var()[1], 0.0);
  EXPECT_EQ(s.scale()[1], 1.0);
  std::vector<float> out(8);
  s.transform(x.data(), 4, 3, out.data());
  EXPECT_FLOAT_EQ(out[6], static_cast<float>(3.0 / std::sqrt(3.5)));
  EXPECT_EQ(out[7], 0.0f);
  s.inverse_transform(out.data(), 4);
  EXPECT_FLOAT_EQ(out[6], 6.0f);
  EXPECT_FLOAT_EQ(out[7], 5.0f);
  Context ctx;
  Tensor t = Tensor::from_vector<double>({6, 5, 1, 7}, {2, 2}, ctx);
  Tensor back = s.inverse_transform(s.transform(t));
  EXPECT_EQ(back.to_vector<double>(), (std::vector<double>{6, 5, 1, 7}));
  EXPECT_THROW(s.transform(Tensor::zeros({2, 3}, DType::F32, ctx)), Error);
}

TEST(Scaler, JsonRoundTripAndErrors) {
  StandardScaler s({"a", "OT"}, {1.5, -2}, {0.5, 3});
  json j = s.to_json();
  EXPECT_EQ(j.dump(), R"({"columns":["a","OT"],"mean":[1.5,-2.0],"scale":[0.5,3.0]})");
  StandardScaler r = StandardScaler::from_json(json::parse(j.dump()));
  EXPECT_EQ(r.columns(), s.columns());
  EXPECT_EQ(r.mean(), s.mean());
  EXPECT_EQ(r.scale(), s.scale());
  EXPECT_THROW(StandardScaler::from_json(json::parse(R"({"columns":["a"],"mean":[1]})")), Error);
  EXPECT_THROW(
      StandardScaler::from_json(json::parse(R"({"columns":["a"],"mean":[1],"scale":[0]})")), Error);
  EXPECT_THROW(
      StandardScaler::from_json(json::parse(R"({"columns":["a"],"mean":[1,2],"scale":[1]})")),
      Error);
  EXPECT_THROW(StandardScaler::from_json(json::parse(R"([1,2])")), Error);
}

}  // namespace
}  // namespace attend::data
