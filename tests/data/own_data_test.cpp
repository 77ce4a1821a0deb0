// A user's own data: long format (many series), per-series splits and scaling, missing values
// and missing rows, with hand-computed cases and every bad input named.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/data/dataset.h"
#include "support/error_of.h"

namespace attend::data {
namespace {

using attend::testing::error_of;

// Daily rows of series `id` from 2020-01-01: value column y = base + i, x = 10 * i.
std::string series_rows(const std::string& id, int n, double base) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += fmt::format("{},2020-01-{:02d},{},{}\n", id, i + 1, base + i, 10 * i);
  return s;
}

DataConfig long_config() {
  DataConfig c;
  c.data = "custom";
  c.target = "y";
  c.features = "S";
  return c;
}

SampleConfig sample(int seq, int label, int pred) {
  SampleConfig s;
  s.seq_len = seq;
  s.label_len = label;
  s.pred_len = pred;
  s.freq = "auto";
  return s;
}

TEST(LongFormat, ReadsSeriesColumnsAndDs) {
  CsvTable t =
      parse_csv("unique_id,ds,y\nA,2020-01-01,1\nB,2020-01-01,5\nA,2020-01-02,2\n", "l.csv");
  EXPECT_EQ(t.id_column, "unique_id");
  EXPECT_EQ(t.time_column, "ds");
  EXPECT_EQ(t.columns, std::vector<std::string>{"y"});
  EXPECT_EQ(t.ids, (std::vector<std::string>{"A", "B", "A"}));
  const SeriesRows g = group_series(t);
  EXPECT_EQ(g.ids, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(g.rows[0], (std::vector<int64_t>{0, 2}));
  // named columns
  CsvOptions o;
  o.id_col = "store";
  o.time_col = "week";
  CsvTable n = parse_csv("week,store,sales\n2020-01-06,s1,3\n", "n.csv", o);
  EXPECT_EQ(n.ids, std::vector<std::string>{"s1"});
  EXPECT_EQ(n.columns, std::vector<std::string>{"sales"});
}

TEST(LongFormat, BadInputsNamed) {
  // duplicate timestamp within a series (another series may repeat it)
  EXPECT_NE(error_of([] {
              parse_csv("unique_id,ds,y\nA,2020-01-01,1\nB,2020-01-01,2\nA,2020-01-01,3\n",
                        "d.csv");
            })
                .find("d.csv:4: column 'ds': '2020-01-01' duplicates the previous row's "
                      "'2020-01-01' (timestamps must be strictly increasing within series 'A')"),
            std::string::npos);
  CsvOptions o;
  o.id_col = "shop";
  EXPECT_NE(error_of([&] {
              parse_csv("unique_id,ds,y\nA,2020-01-01,1\n", "x.csv", o);
            }).find("x.csv:1: --id_col 'shop': no such column"),
            std::string::npos);
  o = {};
  o.time_col = "when";
  EXPECT_NE(error_of([&] {
              parse_csv("ds,y\n2020-01-01,1\n", "x.csv", o);
            }).find("--time_col 'when': no such column"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_csv("unique_id,ds,y\n,2020-01-01,1\n", "e.csv");
            }).find("e.csv:2: column 'unique_id': empty series id"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_csv("unique_id,ds,y\nA,01.13.2020,1\n", "u.csv");
            }).find("u.csv:2: column 'ds': '01.13.2020' is not a date"),
            std::string::npos);
  // a value column with no value in one series; series of different frequencies
  DataConfig ff = long_config();
  ff.missing = "ffill";
  std::string b_empty = "unique_id,ds,y,x\n" + series_rows("A", 30, 0);
  for (int i = 0; i < 30; ++i) b_empty += fmt::format("B,2020-01-{:02d},,{}\n", i + 1, i);
  EXPECT_EQ(error_of([&] {
              make_forecast_data(parse_csv(b_empty, "b.csv", csv_options(ff)), ff, sample(4, 2, 2));
            }),
            "b.csv: column 'y' of series 'B' has no value at all (every row is missing)");
  std::string mixed = "unique_id,ds,y,x\n" + series_rows("A", 30, 0);
  for (int i = 0; i < 20; ++i)
    mixed += fmt::format("M,{}-{:02d}-01,{},{}\n", 2020 + i / 12, i % 12 + 1, i, i);
  EXPECT_EQ(error_of([&] {
              make_forecast_data(parse_csv(mixed, "f.csv", csv_options(long_config())),
                                 long_config(), sample(4, 2, 2));
            }),
            "f.csv:32: column 'ds': series 'M' is monthly (MS), but series 'A' is daily (D): the "
            "series of one run share one frequency");
  // long format needs --data custom (ETT borders are for one series)
  CsvTable t = parse_csv("unique_id,ds,y,x\n" + series_rows("A", 30, 0), "l.csv");
  DataConfig c = long_config();
  c.data = "ETTh1";
  EXPECT_NE(error_of([&] { make_forecast_data(t, c, sample(4, 2, 2)); }).find("--data custom"),
            std::string::npos);
}

// Two series of different lengths: each is split 70/10/20 on its own, scaled with its own train
// rows, and no window crosses from one into the other.
TEST(LongFormat, PerSeriesSplitsScalingAndWindows) {
  CsvTable t = parse_csv("unique_id,ds,y,x\n" + series_rows("A", 30, 0) + series_rows("B", 20, 100),
                         "two.csv");
  const ForecastData d = make_forecast_data(t, long_config(), sample(4, 2, 2));
  ASSERT_TRUE(d.long_format());
  EXPECT_EQ(d.series_ids, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(d.columns, std::vector<std::string>{"y"});
  // A: 30 rows -> train 21, test 6, val 3; B: 20 rows -> train 14, test 4, val 2.
  // train windows: (21 - 6 + 1) + (14 - 6 + 1) = 16 + 9
  EXPECT_EQ(d.train.size(), 25);
  EXPECT_EQ(d.train.rows, 21 + 14);
  // val: rows [21 - 4, 24) of A = 7 rows -> 2 windows; [14 - 4, 16) of B = 6 rows -> 1 window
  EXPECT_EQ(d.val.size(), 3);
  EXPECT_EQ(d.val.window_series, (std::vector<int64_t>{0, 0, 1}));
  // scalers on each series' train rows: A's y = 0..20 (mean 10), B's y = 100..113 (mean 106.5)
  ASSERT_EQ(d.series_scalers.size(), 2u);
  EXPECT_DOUBLE_EQ(d.series_scalers[0].mean()[0], 10.0);
  EXPECT_DOUBLE_EQ(d.series_scalers[1].mean()[0], 106.5);
  // The first B window of train starts at B's first row (row 21 of the split), value -> scaled 100.
  EXPECT_EQ(d.train.starts[16], 21);
  EXPECT_EQ(d.train.series_of(16), 1);
  const double s = d.series_scalers[1].scale()[0];
  EXPECT_NEAR(d.train.seq_x(16)[0], (100 - 106.5) / s, 1e-6);
  // every window's rows stay inside one series (timestamps one day apart throughout)
  for (int64_t w = 0; w < d.train.size(); ++w)
    for (int64_t r = 1; r < 6; ++r)
      EXPECT_EQ(d.train.time_of(w, r) - d.train.time_of(w, r - 1), 86400);
}

TEST(LongFormat, CutOffDatesForEverySeries) {
  CsvTable t =
      parse_csv("unique_id,ds,y,x\n" + series_rows("A", 30, 0) + series_rows("B", 30, 50), "c.csv");
  DataConfig c = long_config();
  c.val_start = "2020-01-16";   // row 15
  c.test_start = "2020-01-23";  // row 22
  const ForecastData d = make_forecast_data(t, c, sample(4, 2, 2));
  EXPECT_EQ(d.train.rows, 2 * 15);
  EXPECT_EQ(d.val.rows, 2 * (22 - 15 + 4));
  EXPECT_EQ(d.test.rows, 2 * (30 - 22 + 4));
  EXPECT_EQ(d.test.time_of(0, 4), 1579737600);  // first horizon row: 2020-01-23
  // the cut-off dates are read in --date_format's order
  c.date_format = "dmy";
  c.val_start = "16/01/2020";
  c.test_start = "23.01.2020";
  const ForecastData e = make_forecast_data(t, c, sample(4, 2, 2));
  EXPECT_EQ(e.train.rows, d.train.rows);
  EXPECT_EQ(e.test.time_of(0, 4), 1579737600);
}

TEST(LongFormat, ShortSeriesNamedOrSkipped) {
  CsvTable t = parse_csv("unique_id,ds,y,x\n" + series_rows("A", 30, 0) + series_rows("tiny", 5, 0),
                         "s.csv");
  EXPECT_NE(error_of([&] {
              make_forecast_data(t, long_config(), sample(4, 2, 2));
            }).find("s.csv: series 'tiny': too few rows for the train split"),
            std::string::npos);
  DataConfig c = long_config();
  c.skip_short = true;
  std::string note;
  const ForecastData d =
      make_forecast_data(t, c, sample(4, 2, 2), [&](const std::string& s) { note += s; });
  EXPECT_EQ(d.series_ids, std::vector<std::string>{"A"});
  EXPECT_NE(note.find("series 'tiny' left out"), std::string::npos) << note;
}

// Without --freq, long format infers the time features from the data; wide data keeps TSLib's h.
TEST(LongFormat, FrequencyDefaultsToTheDatasSpacing) {
  SampleConfig s = sample(4, 2, 2);
  s.freq = "";
  const ForecastData d = make_forecast_data(
      parse_csv("unique_id,ds,y,x\n" + series_rows("A", 30, 0), "l.csv"), long_config(), s);
  EXPECT_EQ(d.freq, "d");
  std::string wide = "date,y\n";
  for (int i = 0; i < 30; ++i) wide += fmt::format("2020-01-{:02d},{}\n", i + 1, i);
  DataConfig w;
  w.data = "custom";
  w.target = "y";
  const ForecastData h = make_forecast_data(parse_csv(wide, "w.csv"), w, s);
  EXPECT_EQ(h.freq, "h");
  EXPECT_EQ(h.spacing->text, "D");
  EXPECT_EQ(format_freq("", true), "auto");
  EXPECT_EQ(format_freq("", false), "h");
  EXPECT_EQ(format_freq("MS", true), "MS");
}

TEST(Missing, PoliciesFillByHand) {
  const double nan = std::nan("");
  const std::vector<std::string> cols = {"a", "b"};
  const std::vector<int64_t> lines = {2, 3, 4, 5, 6};
  // a: _, 1, _, _, 4   b: 0, _, 2, 3, _
  const std::vector<double> v = {nan, 0, 1, nan, nan, 2, nan, 3, 4, nan};
  std::vector<double> f = v;
  auto obs = fill_missing(f, 5, 2, MissingPolicy::Ffill, cols, lines, "m.csv");
  EXPECT_EQ(f, (std::vector<double>{1, 0, 1, 0, 1, 2, 1, 3, 4, 3}));
  EXPECT_EQ(obs, (std::vector<uint8_t>{0, 1, 1, 0, 0, 1, 0, 1, 1, 0}));
  f = v;
  fill_missing(f, 5, 2, MissingPolicy::Interpolate, cols, lines, "m.csv");
  EXPECT_EQ(f, (std::vector<double>{1, 0, 1, 1, 2, 2, 3, 3, 4, 3}));
  f = v;
  fill_missing(f, 5, 2, MissingPolicy::Mask, cols, lines, "m.csv");
  EXPECT_EQ(f, (std::vector<double>{1, 0, 1, 0, 1, 2, 1, 3, 4, 3}));  // inputs: last observed
  f = v;
  EXPECT_EQ(
      error_of([&] { fill_missing(f, 5, 2, MissingPolicy::Error, cols, lines, "m.csv"); }),
      "m.csv:2: column 'a': missing value (empty or NA) (--missing ffill, interpolate or mask "
      "fills or masks it)");
  std::vector<double> none = {nan, 1, nan, 2};
  EXPECT_NE(error_of([&] {
              fill_missing(none, 2, 2, MissingPolicy::Ffill, cols, {2, 3}, "m.csv");
            }).find("column 'a' has no value at all"),
            std::string::npos);
  EXPECT_EQ(parse_missing_policy("mask"), MissingPolicy::Mask);
  EXPECT_EQ(error_of([] { parse_missing_policy("zero"); }),
            "--missing 'zero' must be error, ffill, interpolate or mask");
}

TEST(Missing, CellsAndRowsThroughTheDataLayer) {
  // wide custom data, hourly, one empty cell and one missing hour (after 03:00)
  const std::string text =
      "date,a,OT\n2020-01-01 00:00:00,0,0\n2020-01-01 01:00:00,,1\n2020-01-01 02:00:00,2,2\n"
      "2020-01-01 03:00:00,3,3\n2020-01-01 05:00:00,5,5\n2020-01-01 06:00:00,6,6\n";
  DataConfig c;
  c.data = "custom";
  c.scale = false;
  // the reader keeps empty cells as NaN; --missing error refuses them in the data layer
  CsvTable t = parse_csv(text, "h.csv", csv_options(c));
  EXPECT_EQ(t.missing, 1);
  SampleConfig s = sample(1, 0, 1);
  std::string no_gap = text;
  no_gap.insert(no_gap.find("2020-01-01 05:00"), "2020-01-01 04:00:00,4,4\n");
  EXPECT_EQ(error_of([&] { make_forecast_data(parse_csv(no_gap, "h.csv", csv_options(c)), c, s); }),
            "h.csv:3: column 'a': missing value (empty or NA) (--missing ffill, interpolate or "
            "mask fills or masks it)");
  // the row at 04:00 is missing
  EXPECT_NE(error_of([&] { make_forecast_data(t, c, s); })
                .find("h.csv:6: column 'date': 1 missing row(s) before '2020-01-01 05:00:00': the "
                      "rows are hourly (h) (--missing ffill"),
            std::string::npos);
  c.missing = "interpolate";
  const ForecastData d = make_forecast_data(t, c, s);
  // 7 rows after the inserted one: train 4 (rows 0..3), val/test from 70/10/20 of 7
  EXPECT_EQ(d.train.rows + 0, 4);
  EXPECT_FLOAT_EQ(d.train.data[1 * 2 + 0], 1.0f);  // a at 01:00 interpolated between 0 and 2
  EXPECT_FLOAT_EQ(d.test.data[d.test.rows * 2 - 4], 5.0f);  // a at 05:00
  // the inserted 04:00 row interpolated: a = 4, OT = 4
  int found = 0;
  for (const ForecastSplit* sp : {&d.train, &d.val, &d.test})
    for (int64_t r = 0; r < sp->rows; ++r)
      if (sp->timestamps[r] == 1577851200) {  // 2020-01-01 04:00:00
        EXPECT_FLOAT_EQ(sp->data[r * 2], 4.0f);
        ++found;
      }
  EXPECT_GE(found, 1);
}

TEST(Missing, RowsAtCalendarSpacings) {
  // Two monthly series (month starts, 2020-01 .. 2021-05); 'b' leaves out 2021-04 (i = 15).
  std::string text = "unique_id,ds,y\n";
  for (const char* id : {"a", "b"})
    for (int i = 0; i < 17; ++i)
      if (std::string(id) == "a" || i != 15)
        text += fmt::format("{},{}-{:02d}-01,{}\n", id, 2020 + i / 12, i % 12 + 1,
                            std::string(id) == "a" ? i : 2 * i);
  DataConfig c = long_config();
  c.scale = false;
  const CsvTable t = parse_csv(text, "mo.csv", csv_options(c));
  // lines: header 1, 'a' 2..18, 'b' 19..33 (2020-01 .. 2021-03), 34 (2021-05)
  EXPECT_EQ(error_of([&] { make_forecast_data(t, c, sample(2, 1, 1)); }),
            "mo.csv:34: column 'ds': 1 missing row(s) before '2021-05-01' in series 'b': the rows "
            "are monthly (MS) (--missing ffill, interpolate or mask fills or masks it)");
  c.missing = "interpolate";
  const ForecastData d = make_forecast_data(t, c, sample(2, 1, 1));
  // 'b' has 17 rows again; its test rows (after 'a''s) hold the inserted 2021-04-01, with y
  // interpolated between 2021-03 (28) and 2021-05 (32): 30.
  const ForecastSplit& test = d.test;
  ASSERT_EQ(test.rows % 2, 0);
  int found = 0;
  for (int64_t r = test.rows / 2; r < test.rows; ++r)
    if (test.timestamps[r] == 1617235200) {  // 2021-04-01
      EXPECT_FLOAT_EQ(test.data[r], 30.0f);
      ++found;
    }
  EXPECT_EQ(found, 1);
  EXPECT_EQ(d.spacing->text, "MS");

  // Hourly rows that then jump by days are not gaps to fill: more missing rows than rows.
  std::string mixed = "date,OT\n";
  for (int i = 0; i < 8; ++i) mixed += fmt::format("2020-01-01 {:02d}:00:00,{}\n", i, i);
  for (int i = 0; i < 4; ++i) mixed += fmt::format("2020-01-{:02d} 07:00:00,{}\n", i + 2, i);
  DataConfig w;
  w.data = "custom";
  w.missing = "ffill";
  EXPECT_EQ(error_of([&] {
              make_forecast_data(parse_csv(mixed, "mix.csv", csv_options(w)), w, sample(1, 0, 1));
            }),
            "mix.csv:10: column 'date': 23 missing row(s) before '2020-01-02 07:00:00' make more "
            "missing rows than the series has rows (12) at its spacing, hourly (h): mixed "
            "frequencies or wrong timestamps?");
}

TEST(Missing, MaskKeepsObservedFlagsForTargets) {
  std::string text = "date,a,OT\n";
  for (int i = 0; i < 20; ++i)
    text += fmt::format("2020-01-{:02d},{},{}\n", i + 1, i,
                        i == 17 ? std::string() : std::to_string(i));
  DataConfig c;
  c.data = "custom";
  c.missing = "mask";
  const ForecastData d =
      make_forecast_data(parse_csv(text, "m.csv", csv_options(c)), c, sample(2, 1, 1));
  // row 17 is in the test split (rows [16 - 2, 20)): its OT is flagged unobserved
  ASSERT_FALSE(d.test.observed.empty());
  const int64_t r = 17 - (20 - 4 - 2);
  EXPECT_EQ(d.test.observed[r * 2 + 1], 0);
  EXPECT_EQ(d.test.observed[r * 2 + 0], 1);
  EXPECT_TRUE(d.train.observed.size() == static_cast<size_t>(d.train.rows * 2));
}

}  // namespace
}  // namespace attend::data
