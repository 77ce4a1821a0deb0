// Frequencies and TSLib's time features, by hand.
#include <gtest/gtest.h>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/data/time_features.h"
#include "support/paths.h"

namespace attend::data {
namespace {

using attend::testing::data_path;

int64_t ts(const std::string& s) {
  int64_t v = 0;
  EXPECT_TRUE(parse_timestamp(s, &v)) << s;
  return v;
}

float f(double v) {
  return static_cast<float>(v);
}

// 2016-07-01 13:45:07: Friday (weekday 4), day 1, day of year 183, ISO week 26, month 7.
const char* kStamp = "2016-07-01 13:45:07";

std::vector<float> features(FreqKind kind, const std::string& stamp = kStamp) {
  int64_t t = ts(stamp);
  return time_features(&t, 1, kind);
}

TEST(TimeFeatures, Hourly) {
  EXPECT_EQ(features(FreqKind::Hour),
            (std::vector<float>{f(13 / 23.0 - 0.5), f(4 / 6.0 - 0.5), f(0 / 30.0 - 0.5),
                                f(182 / 365.0 - 0.5)}));
  EXPECT_EQ(time_feature_names(FreqKind::Hour),
            (std::vector<std::string>{"HourOfDay", "DayOfWeek", "DayOfMonth", "DayOfYear"}));
}

TEST(TimeFeatures, DailyAndBusiness) {
  const std::vector<float> want{f(4 / 6.0 - 0.5), f(0 / 30.0 - 0.5), f(182 / 365.0 - 0.5)};
  EXPECT_EQ(features(FreqKind::Day), want);
  EXPECT_EQ(features(FreqKind::BusinessDay), want);
  // 2016-12-31 is a Saturday: weekday 5, day 31, doy 366 (leap year).
  EXPECT_EQ(features(FreqKind::Day, "2016-12-31"),
            (std::vector<float>{f(5 / 6.0 - 0.5), f(30 / 30.0 - 0.5), f(365 / 365.0 - 0.5)}));
}

TEST(TimeFeatures, Weekly) {
  EXPECT_EQ(features(FreqKind::Week), (std::vector<float>{f(0 / 30.0 - 0.5), f(25 / 52.0 - 0.5)}));
  // 2021-01-01 is in ISO week 53 of 2020: (53 - 1) / 52 - 0.5 = 0.5.
  EXPECT_EQ(features(FreqKind::Week, "2021-01-01"), (std::vector<float>{-0.5f, 0.5f}));
  EXPECT_EQ(time_feature_names(FreqKind::Week),
            (std::vector<std::string>{"DayOfMonth", "WeekOfYear"}));
}

TEST(TimeFeatures, Minutely) {
  EXPECT_EQ(features(FreqKind::Minute),
            (std::vector<float>{f(45 / 59.0 - 0.5), f(13 / 23.0 - 0.5), f(4 / 6.0 - 0.5),
                                f(0 / 30.0 - 0.5), f(182 / 365.0 - 0.5)}));
}

TEST(TimeFeatures, Monthly) {
  EXPECT_EQ(features(FreqKind::Month), (std::vector<float>{f(6 / 11.0 - 0.5)}));
  EXPECT_EQ(features(FreqKind::Quarter), (std::vector<float>{f(6 / 11.0 - 0.5)}));
  EXPECT_TRUE(features(FreqKind::Year).empty());
}

TEST(TimeFeatures, Secondly) {
  EXPECT_EQ(features(FreqKind::Second),
            (std::vector<float>{f(7 / 59.0 - 0.5), f(45 / 59.0 - 0.5), f(13 / 23.0 - 0.5),
                                f(4 / 6.0 - 0.5), f(0 / 30.0 - 0.5), f(182 / 365.0 - 0.5)}));
}

TEST(TimeFeatures, SeveralRowsRowMajor) {
  std::vector<int64_t> t{ts("2016-07-01 00:00:00"), ts("2016-07-04 23:00:00")};  // Fri, Mon
  std::vector<float> v = time_features(t.data(), 2, FreqKind::Hour);
  ASSERT_EQ(v.size(), 8u);
  EXPECT_EQ(v[0], -0.5f);
  EXPECT_EQ(v[4], 0.5f);               // hour 23
  EXPECT_EQ(v[5], -0.5f);              // Monday
  EXPECT_EQ(v[6], f(3 / 30.0 - 0.5));  // day 4
}

TEST(TimeFeatures, FixedMarks) {
  int64_t t = ts("2016-07-01 13:45:07");
  EXPECT_EQ(time_marks_fixed(&t, 1, false), (std::vector<float>{7, 1, 4, 13}));
  EXPECT_EQ(time_marks_fixed(&t, 1, true), (std::vector<float>{7, 1, 4, 13, 3}));
}

TEST(Freq, ParsesTslibStrings) {
  EXPECT_EQ(parse_freq("h").kind, FreqKind::Hour);
  EXPECT_EQ(parse_freq("H").kind, FreqKind::Hour);
  EXPECT_EQ(parse_freq("1h").kind, FreqKind::Hour);
  EXPECT_EQ(parse_freq("15min").kind, FreqKind::Minute);
  EXPECT_EQ(parse_freq("15min").multiple, 15);
  EXPECT_EQ(parse_freq("5t").kind, FreqKind::Minute);
  EXPECT_EQ(parse_freq("t").kind, FreqKind::Minute);
  EXPECT_EQ(parse_freq("s").kind, FreqKind::Second);
  EXPECT_EQ(parse_freq("10S").kind, FreqKind::Second);
  EXPECT_EQ(parse_freq("d").kind, FreqKind::Day);
  EXPECT_EQ(parse_freq("b").kind, FreqKind::BusinessDay);
  EXPECT_EQ(parse_freq("w").kind, FreqKind::Week);
  EXPECT_EQ(parse_freq("W-SUN").kind, FreqKind::Week);
  EXPECT_EQ(parse_freq("m").kind, FreqKind::Month);
  EXPECT_EQ(parse_freq("q").kind, FreqKind::Quarter);
  EXPECT_EQ(parse_freq("a").kind, FreqKind::Year);
  EXPECT_EQ(freq_letter(parse_freq("15min").kind), 't');
}

TEST(Freq, RejectsUnknown) {
  for (const char* bad : {"", "x", "ms", "us", "15", "h-SUN", "2x", "hh"}) {
    try {
      parse_freq(bad);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("unsupported frequency"), std::string::npos);
    }
  }
}

TEST(Freq, InfersBundledDatasets) {
  EXPECT_EQ(infer_freq(read_csv(data_path("ETTh1.csv")).timestamps, "ETTh1").text, "h");
  EXPECT_EQ(infer_freq(read_csv(data_path("ETTh2.csv")).timestamps, "ETTh2").text, "h");
  EXPECT_EQ(infer_freq(read_csv(data_path("exchange_rate.csv")).timestamps, "ex").text, "D");
  // Weekly on Tuesdays (2002-01-01 was a Tuesday).
  EXPECT_EQ(infer_freq(read_csv(data_path("national_illness.csv")).timestamps, "ili").text,
            "W-TUE");
}

TEST(Freq, InfersSynthetic) {
  auto series = [](int64_t step, int n) {
    std::vector<int64_t> t;
    for (int i = 0; i < n; ++i) t.push_back(1467331200 + i * step);
    return t;
  };
  EXPECT_EQ(infer_freq(series(1, 10), "x").text, "s");
  EXPECT_EQ(infer_freq(series(900, 10), "x").text, "15min");
  EXPECT_EQ(infer_freq(series(7200, 10), "x").text, "2h");
  EXPECT_EQ(infer_freq(series(86400, 10), "x").text, "D");
  EXPECT_EQ(infer_freq(series(7 * 86400, 10), "x").text, "W-FRI");  // 2016-07-01: a Friday
  std::vector<int64_t> monthly{ts("2020-01-31"), ts("2020-02-29"), ts("2020-03-31"),
                               ts("2020-04-30"), ts("2020-05-31")};
  EXPECT_EQ(infer_freq(monthly, "x").text, "ME");
  // Hourly with a gap fits no frequency: the error names the row and the nearest frequency.
  std::vector<int64_t> gappy = series(3600, 10);
  gappy.push_back(gappy.back() + 86400);
  EXPECT_THROW(infer_freq(gappy, "x"), Error);
  EXPECT_THROW(infer_freq({0}, "x"), Error);
}

}  // namespace
}  // namespace attend::data
