// Calendars by hand: timestamp formats read and written, pandas' frequency aliases, the frequency
// of a column's spacing and its errors, and the dates that follow.
#include <gtest/gtest.h>

#include <functional>

#include "attend/base/error.h"
#include "attend/data/calendar.h"
#include "attend/data/csv.h"

namespace attend::data {
namespace {

int64_t ts(const std::string& s) {
  int64_t v = 0;
  EXPECT_TRUE(parse_timestamp(s, &v)) << s;
  return v;
}

std::vector<int64_t> stamps(const std::vector<std::string>& texts) {
  std::vector<int64_t> out;
  for (const auto& t : texts) out.push_back(ts(t));
  return out;
}

// n stamps from `first`, `step` seconds apart.
std::vector<int64_t> every(const std::string& first, int64_t step, int n) {
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(ts(first) + i * step);
  return out;
}

// The alias of the frequency a column's spacing follows.
std::string inferred(const std::vector<int64_t>& t) {
  return infer_freq(t, "x.csv").text;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ---- aliases -----------------------------------------------------------------------------------

TEST(Calendar, ParsesPandasAliases) {
  Frequency f = parse_freq("MS");
  EXPECT_EQ(f.kind, FreqKind::Month);
  EXPECT_EQ(f.month_day, 1);
  for (const char* end : {"ME", "M", "m", "me", "1ME"}) {
    EXPECT_EQ(parse_freq(end).kind, FreqKind::Month) << end;
    EXPECT_EQ(parse_freq(end).month_day, 0) << end;
  }
  EXPECT_EQ(parse_freq("3ME").multiple, 3);
  f = parse_freq("QS");
  EXPECT_EQ(f.kind, FreqKind::Quarter);
  EXPECT_EQ(f.month_day, 1);
  EXPECT_EQ(f.month, 1);
  for (const char* q : {"Q", "QE", "q", "QE-DEC"}) {
    EXPECT_EQ(parse_freq(q).kind, FreqKind::Quarter) << q;
    EXPECT_EQ(parse_freq(q).month_day, 0) << q;
    EXPECT_EQ(parse_freq(q).month, 12) << q;
  }
  EXPECT_EQ(parse_freq("Q-NOV").month, 11);
  for (const char* y : {"Y", "YE", "A", "a", "y"}) {
    EXPECT_EQ(parse_freq(y).kind, FreqKind::Year) << y;
    EXPECT_EQ(parse_freq(y).month_day, 0) << y;
    EXPECT_EQ(parse_freq(y).month, 12) << y;
  }
  for (const char* y : {"YS", "AS", "ys"}) {
    EXPECT_EQ(parse_freq(y).kind, FreqKind::Year) << y;
    EXPECT_EQ(parse_freq(y).month_day, 1) << y;
    EXPECT_EQ(parse_freq(y).month, 1) << y;
  }
  EXPECT_EQ(parse_freq("A-JUN").month, 6);
  EXPECT_EQ(parse_freq("W-MON").weekday, 0);
  EXPECT_EQ(parse_freq("w-sun").weekday, 6);
  EXPECT_EQ(parse_freq("W").weekday, -1);
  EXPECT_EQ(parse_freq("15T").multiple, 15);
  EXPECT_EQ(parse_freq("15T").kind, FreqKind::Minute);
  EXPECT_EQ(parse_freq("2B").kind, FreqKind::BusinessDay);
  EXPECT_EQ(parse_freq("2B").multiple, 2);
  for (const char* bad : {"Ms", "mS", "MS-JAN", "W-XYZ", "W-", "Q-FOO", "0h", "D-MON", "B-MON"}) {
    EXPECT_NE(error_of([&] { parse_freq(bad); }).find("unsupported frequency"), std::string::npos)
        << bad;
  }
}

TEST(Calendar, AliasesRoundTrip) {
  for (const char* a :
       {"s",   "10s", "15min", "h",   "2h",     "D",      "B",  "W-TUE", "W",      "MS",    "ME",
        "3MS", "QS",  "QE",    "2QE", "QE-NOV", "QS-FEB", "YS", "YE",    "YE-JUN", "YS-JUL"})
    EXPECT_EQ(freq_alias(parse_freq(a)), a);
  EXPECT_EQ(freq_alias(parse_freq("t")), "min");
  EXPECT_EQ(freq_alias(parse_freq("Q-DEC")), "QE");
  EXPECT_EQ(freq_alias(parse_freq("A")), "YE");
  EXPECT_EQ(freq_description(parse_freq("D")), "daily (D)");
  EXPECT_EQ(freq_description(parse_freq("15min")), "every 15 minutes (15min)");
  EXPECT_EQ(freq_description(parse_freq("QE")), "quarterly (QE)");
}

// ---- inference ---------------------------------------------------------------------------------

TEST(Calendar, InfersFixedSteps) {
  EXPECT_EQ(inferred(every("2020-01-01", 10, 6)), "10s");
  EXPECT_EQ(inferred(every("2020-01-01", 15 * 60, 6)), "15min");
  EXPECT_EQ(inferred(every("2020-01-01", 3600, 6)), "h");
  EXPECT_EQ(inferred(every("2020-01-01", 86400, 6)), "D");
  EXPECT_EQ(inferred(every("2020-01-01", 2 * 86400, 6)), "2D");
  // Weeks keep the data's weekday: 2020-01-05 was a Sunday, 2020-01-06 a Monday.
  EXPECT_EQ(inferred(every("2020-01-05", 7 * 86400, 6)), "W-SUN");
  EXPECT_EQ(inferred(every("2020-01-06", 28 * 86400, 6)), "4W-MON");
  // Weekdays with no weekend between them are daily.
  EXPECT_EQ(inferred(every("2020-01-06", 86400, 5)), "D");
}

TEST(Calendar, InfersBusinessDays) {
  // Wed 1, Thu 2, Fri 3, Mon 6, ..., Fri 10, Mon 13 January 2020.
  EXPECT_EQ(inferred(stamps({"2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07",
                             "2020-01-08", "2020-01-09", "2020-01-10", "2020-01-13"})),
            "B");
  // Every second business day: Mon 6, Wed 8, Fri 10, Tue 14, Thu 16, Mon 20.
  EXPECT_EQ(inferred(stamps({"2020-01-06", "2020-01-08", "2020-01-10", "2020-01-14", "2020-01-16",
                             "2020-01-20"})),
            "2B");
}

TEST(Calendar, InfersMonthsQuartersYears) {
  EXPECT_EQ(inferred(stamps({"2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"})), "MS");
  EXPECT_EQ(
      inferred(stamps({"2019-11-30", "2019-12-31", "2020-01-31", "2020-02-29", "2020-03-31"})),
      "ME");
  // Two rows a month apart: a month start, not 31 days.
  EXPECT_EQ(inferred(stamps({"2020-01-01", "2020-02-01"})), "MS");
  EXPECT_EQ(inferred(stamps({"2019-01-01", "2019-07-01", "2020-01-01"})), "2QS");
  EXPECT_EQ(inferred(stamps({"2019-01-01", "2019-04-01", "2019-07-01", "2019-10-01"})), "QS");
  EXPECT_EQ(inferred(stamps({"2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31"})), "QE");
  EXPECT_EQ(
      inferred(stamps({"2019-02-28", "2019-05-31", "2019-08-31", "2019-11-30", "2020-02-29"})),
      "QE-NOV");
  EXPECT_EQ(inferred(stamps({"2019-02-01", "2019-05-01", "2019-08-01"})), "QS-FEB");
  EXPECT_EQ(inferred(stamps({"1935-01-01", "1936-01-01", "1937-01-01", "1938-01-01"})), "YS");
  EXPECT_EQ(inferred(stamps({"2018-12-31", "2019-12-31", "2020-12-31"})), "YE");
  EXPECT_EQ(inferred(stamps({"2018-06-30", "2019-06-30", "2020-06-30"})), "YE-JUN");
  // The same day of every month (Feb 28 is a month end, but Mar 28 is not).
  const Frequency day28 =
      infer_freq(stamps({"2019-01-28", "2019-02-28", "2019-03-28", "2019-04-28"}), "x.csv");
  EXPECT_EQ(day28.kind, FreqKind::Month);
  EXPECT_EQ(day28.month_day, 28);
  EXPECT_EQ(freq_description(day28), "monthly on day 28 (M)");
  // The time of day is kept.
  EXPECT_EQ(inferred(stamps({"2020-01-31 12:00", "2020-02-29 12:00", "2020-03-31 12:00"})), "ME");
}

TEST(Calendar, MixedSpacingIsAnErrorNamingTheLine) {
  // Hourly rows on lines 2..7, then a day's jump to line 8.
  std::vector<int64_t> t = every("2016-07-01", 3600, 6);
  t.push_back(t.back() + 86400);
  std::vector<int64_t> lines = {2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(error_of([&] { infer_freq(t, "x.csv", lines); }),
            "x.csv:8: column 'date': 2016-07-02 05:00:00 is 1 day after the previous row, but the "
            "rows are hourly (h) elsewhere: the spacing fits no frequency; pass --freq to choose "
            "the time features");
  // Without lines: the row.
  EXPECT_NE(error_of([&] { infer_freq(t, "x.csv"); }).find("x.csv: row 7: column 'date'"),
            std::string::npos);
  SpacingBreak at;
  EXPECT_FALSE(spacing_of(t, &at).has_value());
  EXPECT_EQ(at.row, 6);
  EXPECT_EQ(at.nearest.kind, FreqKind::Hour);
  // A missing month.
  EXPECT_EQ(error_of([&] {
              infer_freq(stamps({"2020-01-31", "2020-02-29", "2020-04-30", "2020-05-31"}), "m.csv",
                         {2, 3, 4, 5});
            }),
            "m.csv:4: column 'date': 2020-04-30 00:00:00 is 61 days after the previous row, but "
            "the rows are monthly (ME) elsewhere: the spacing fits no frequency; pass --freq to "
            "choose the time features");
  // Business days with a Saturday among them.
  EXPECT_NE(error_of([&] {
              infer_freq(stamps({"2020-01-08", "2020-01-09", "2020-01-10", "2020-01-11",
                                 "2020-01-13", "2020-01-14", "2020-01-15"}),
                         "b.csv", {2, 3, 4, 5, 6, 7, 8});
            }).find("b.csv:6: column 'date': 2020-01-13 00:00:00 is 2 days after"),
            std::string::npos);
  // Month starts and ends mixed.
  EXPECT_NE(error_of([&] {
              infer_freq(stamps({"2020-01-01", "2020-02-01", "2020-03-01", "2020-03-31"}), "s.csv",
                         {2, 3, 4, 5});
            }).find("s.csv:5: column 'date'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              infer_freq({0}, "one.csv");
            }).find("one.csv: cannot infer the frequency from 1 timestamp(s); pass --freq"),
            std::string::npos);
}

// The frequency with gaps and the steps missing before each row, or "none" when nothing fits.
std::string with_gaps(const std::vector<int64_t>& t, std::vector<int64_t>* missing = nullptr) {
  const auto f = spacing_with_gaps(t, nullptr, missing);
  return f ? f->text : "none";
}

TEST(Calendar, SpacingWithWholeStepsMissing) {
  std::vector<int64_t> m;
  // Month ends with March left out.
  EXPECT_EQ(with_gaps(stamps({"2020-01-31", "2020-02-29", "2020-04-30", "2020-05-31"}), &m), "ME");
  EXPECT_EQ(m, (std::vector<int64_t>{0, 0, 1, 0}));
  // Quarters starting in January with two quarters left out.
  EXPECT_EQ(
      with_gaps(stamps({"2019-01-01", "2019-04-01", "2019-07-01", "2020-01-01", "2020-04-01"}), &m),
      "QS");
  EXPECT_EQ(m, (std::vector<int64_t>{0, 0, 0, 1, 0}));
  // Business days: Thu 9 left out (Wed 8 -> Fri 10), and the weekend is no gap.
  EXPECT_EQ(with_gaps(stamps({"2020-01-06", "2020-01-07", "2020-01-08", "2020-01-10", "2020-01-13",
                              "2020-01-14"}),
                      &m),
            "B");
  EXPECT_EQ(m, (std::vector<int64_t>{0, 0, 0, 1, 0, 0}));
  // Years with 1937 and 1938 left out.
  EXPECT_EQ(with_gaps(stamps({"1935-01-01", "1936-01-01", "1939-01-01", "1940-01-01"}), &m), "YS");
  EXPECT_EQ(m, (std::vector<int64_t>{0, 0, 2, 0}));
  // Weekly on Tuesdays with one week left out; 15 minutes with three steps left out.
  EXPECT_EQ(with_gaps(stamps({"2020-01-07", "2020-01-14", "2020-01-28", "2020-02-04"}), &m),
            "W-TUE");
  EXPECT_EQ(m, (std::vector<int64_t>{0, 0, 1, 0}));
  EXPECT_EQ(with_gaps({0, 900, 1800, 5400, 6300}, &m), "15min");
  EXPECT_EQ(m, (std::vector<int64_t>{0, 0, 0, 3, 0}));
  // No gap: spacing_of's answer.
  EXPECT_EQ(with_gaps(every("2016-07-01", 3600, 5), &m), "h");
  EXPECT_EQ(m, (std::vector<int64_t>(5, 0)));
  // A step that is not whole: hourly rows, then 90 minutes; a month start among month ends.
  SpacingBreak at;
  std::vector<int64_t> t = every("2016-07-01", 3600, 5);
  t.push_back(t.back() + 5400);
  EXPECT_FALSE(spacing_with_gaps(t, &at).has_value());
  EXPECT_EQ(at.row, 5);
  EXPECT_EQ(with_gaps(stamps({"2020-01-31", "2020-02-29", "2020-03-31", "2020-05-01"})), "none");
}

// ---- future timestamps -------------------------------------------------------------------------

// The n stamps after `last` for frequency `freq`, as text.
std::vector<std::string> next(const std::string& last, const std::string& freq, int n) {
  std::vector<std::string> out;
  for (int64_t t : future_timestamps(ts(last), n, parse_freq(freq)))
    out.push_back(format_timestamp(t));
  return out;
}

using Texts = std::vector<std::string>;

TEST(Calendar, FutureFixedSteps) {
  EXPECT_EQ(next("2020-01-01 23:59:50", "10s", 2),
            (Texts{"2020-01-02 00:00:00", "2020-01-02 00:00:10"}));
  EXPECT_EQ(next("2020-01-01 23:30", "15min", 3),
            (Texts{"2020-01-01 23:45:00", "2020-01-02 00:00:00", "2020-01-02 00:15:00"}));
  EXPECT_EQ(next("2020-02-28 23:00", "h", 2),
            (Texts{"2020-02-29 00:00:00", "2020-02-29 01:00:00"}));
  EXPECT_EQ(next("2020-02-27", "D", 3),
            (Texts{"2020-02-28 00:00:00", "2020-02-29 00:00:00", "2020-03-01 00:00:00"}));
  EXPECT_EQ(next("2019-02-27", "D", 2), (Texts{"2019-02-28 00:00:00", "2019-03-01 00:00:00"}));
}

TEST(Calendar, FutureBusinessDaysSkipWeekends) {
  // Thursday 2020-01-09.
  EXPECT_EQ(next("2020-01-09", "B", 3),
            (Texts{"2020-01-10 00:00:00", "2020-01-13 00:00:00", "2020-01-14 00:00:00"}));
  EXPECT_EQ(next("2020-01-10 13:00", "B", 1), (Texts{"2020-01-13 13:00:00"}));
  EXPECT_EQ(next("2020-01-09", "2B", 3),
            (Texts{"2020-01-13 00:00:00", "2020-01-15 00:00:00", "2020-01-17 00:00:00"}));
  EXPECT_EQ(next("2020-01-06", "5B", 1), (Texts{"2020-01-13 00:00:00"}));
  EXPECT_EQ(next("2020-01-06", "6B", 1), (Texts{"2020-01-14 00:00:00"}));
  // A Saturday (off the grid) goes to Monday first.
  EXPECT_EQ(next("2020-01-11", "B", 2), (Texts{"2020-01-13 00:00:00", "2020-01-14 00:00:00"}));
  // Across the year: Tuesday 2019-12-31 after Monday 2019-12-30, then Wednesday 2020-01-01.
  EXPECT_EQ(next("2019-12-30", "B", 2), (Texts{"2019-12-31 00:00:00", "2020-01-01 00:00:00"}));
}

TEST(Calendar, FutureWeeksKeepTheWeekday) {
  EXPECT_EQ(next("2019-12-24", "W-TUE", 3),
            (Texts{"2019-12-31 00:00:00", "2020-01-07 00:00:00", "2020-01-14 00:00:00"}));
  // Wednesday 2020-01-01 with W-SUN: the next Sundays (pandas' Week(weekday=6)).
  EXPECT_EQ(next("2020-01-01", "W-SUN", 2), (Texts{"2020-01-05 00:00:00", "2020-01-12 00:00:00"}));
  EXPECT_EQ(next("2020-01-01", "W", 1), (Texts{"2020-01-08 00:00:00"}));
  EXPECT_EQ(next("2020-01-07", "2W-TUE", 2), (Texts{"2020-01-21 00:00:00", "2020-02-04 00:00:00"}));
}

TEST(Calendar, FutureMonthStartsAndEnds) {
  EXPECT_EQ(next("2020-11-01", "MS", 3),
            (Texts{"2020-12-01 00:00:00", "2021-01-01 00:00:00", "2021-02-01 00:00:00"}));
  EXPECT_EQ(next("2019-12-31", "ME", 4), (Texts{"2020-01-31 00:00:00", "2020-02-29 00:00:00",
                                                "2020-03-31 00:00:00", "2020-04-30 00:00:00"}));
  EXPECT_EQ(next("2021-01-31", "ME", 2), (Texts{"2021-02-28 00:00:00", "2021-03-31 00:00:00"}));
  EXPECT_EQ(next("2020-01-31 12:00", "ME", 1), (Texts{"2020-02-29 12:00:00"}));
  // Mid-month (off the grid): the month's end first.
  EXPECT_EQ(next("2020-01-15", "ME", 2), (Texts{"2020-01-31 00:00:00", "2020-02-29 00:00:00"}));
  EXPECT_EQ(next("2020-01-15", "MS", 1), (Texts{"2020-02-01 00:00:00"}));
  EXPECT_EQ(next("2020-01-31", "3ME", 2), (Texts{"2020-04-30 00:00:00", "2020-07-31 00:00:00"}));
  // The same day of every month, inferred: day 28 stays day 28.
  const Frequency day28 = infer_freq({ts("2019-01-28"), ts("2019-02-28"), ts("2019-03-28")}, "x");
  std::vector<int64_t> t = future_timestamps(ts("2019-03-28"), 2, day28);
  EXPECT_EQ(format_timestamp(t[0]), "2019-04-28 00:00:00");
  EXPECT_EQ(format_timestamp(t[1]), "2019-05-28 00:00:00");
}

TEST(Calendar, FutureQuartersAndYears) {
  EXPECT_EQ(next("2020-10-01", "QS", 3),
            (Texts{"2021-01-01 00:00:00", "2021-04-01 00:00:00", "2021-07-01 00:00:00"}));
  EXPECT_EQ(next("2019-12-31", "QE", 4), (Texts{"2020-03-31 00:00:00", "2020-06-30 00:00:00",
                                                "2020-09-30 00:00:00", "2020-12-31 00:00:00"}));
  EXPECT_EQ(next("2019-11-30", "QE-NOV", 3),
            (Texts{"2020-02-29 00:00:00", "2020-05-31 00:00:00", "2020-08-31 00:00:00"}));
  EXPECT_EQ(next("2020-01-01", "2QS", 2), (Texts{"2020-07-01 00:00:00", "2021-01-01 00:00:00"}));
  // Off the grid: the quarter's end first (pandas' rollforward).
  EXPECT_EQ(next("2020-01-15", "QE", 2), (Texts{"2020-03-31 00:00:00", "2020-06-30 00:00:00"}));
  EXPECT_EQ(next("1935-01-01", "YS", 2), (Texts{"1936-01-01 00:00:00", "1937-01-01 00:00:00"}));
  EXPECT_EQ(next("2019-12-31", "YE", 2), (Texts{"2020-12-31 00:00:00", "2021-12-31 00:00:00"}));
  EXPECT_EQ(next("2019-02-28", "YE-FEB", 2), (Texts{"2020-02-29 00:00:00", "2021-02-28 00:00:00"}));
  // A quarterly series' own spacing, inferred and continued.
  const std::vector<int64_t> quarterly = {ts("2019-03-31"), ts("2019-06-30"), ts("2019-09-30"),
                                          ts("2019-12-31")};
  std::vector<int64_t> t = future_timestamps(quarterly.back(), 2, infer_freq(quarterly, "q.csv"));
  EXPECT_EQ(format_timestamp(t[0]), "2020-03-31 00:00:00");
  EXPECT_EQ(format_timestamp(t[1]), "2020-06-30 00:00:00");
}

// ---- timestamp formats -------------------------------------------------------------------------

struct Read {
  std::string stamp;  // as format_timestamp writes it
  TimestampFormat format;
};

Read read(const std::string& text, DateOrder order = DateOrder::YearFirst) {
  Read r;
  int64_t t = 0;
  EXPECT_TRUE(parse_timestamp(text, order, &t, &r.format)) << text;
  r.stamp = format_timestamp(t);
  return r;
}

// `text`'s format applied to the timestamp `other` (written as format_timestamp writes it).
std::string written_like(const std::string& text, const std::string& other,
                         DateOrder order = DateOrder::YearFirst) {
  return format_timestamp(ts(other), read(text, order).format);
}

TEST(Calendar, ReadsEachTimestampFormat) {
  using Date = TimestampFormat::Date;
  Read r = read("1935");
  EXPECT_EQ(r.stamp, "1935-01-01 00:00:00");
  EXPECT_EQ(r.format.date, Date::Year);
  r = read("2016-07");
  EXPECT_EQ(r.stamp, "2016-07-01 00:00:00");
  EXPECT_EQ(r.format.date, Date::YearMonth);
  EXPECT_EQ(read("2016/7").format.padded, false);
  r = read("20160701");
  EXPECT_EQ(r.stamp, "2016-07-01 00:00:00");
  EXPECT_EQ(r.format.date, Date::Compact);
  r = read("2016-07-01");
  EXPECT_EQ(r.format.date, Date::YearFirst);
  EXPECT_EQ(r.format.time_fields, 0);
  EXPECT_EQ(read("2016.07.01").stamp, "2016-07-01 00:00:00");
  EXPECT_EQ(read("2016-07-01 13:05").format.time_fields, 2);
  r = read("2016-07-01T13:05:09Z");
  EXPECT_EQ(r.format.time_fields, 3);
  EXPECT_EQ(r.format.time_separator, 'T');
  EXPECT_TRUE(r.format.utc_suffix);
  r = read("1990/1/1 0:00");
  EXPECT_FALSE(r.format.padded);
  EXPECT_EQ(r.format.separator, '/');
  // Day first and month first only when asked; year-first dates are read under every order.
  EXPECT_EQ(read("31/12/2020", DateOrder::DayFirst).stamp, "2020-12-31 00:00:00");
  EXPECT_EQ(read("31.12.2020 13:00", DateOrder::DayFirst).stamp, "2020-12-31 13:00:00");
  EXPECT_EQ(read("12/31/2020", DateOrder::MonthFirst).stamp, "2020-12-31 00:00:00");
  EXPECT_EQ(read("01/02/2020", DateOrder::DayFirst).stamp, "2020-02-01 00:00:00");
  EXPECT_EQ(read("01/02/2020", DateOrder::MonthFirst).stamp, "2020-01-02 00:00:00");
  EXPECT_EQ(read("2020-12-31", DateOrder::DayFirst).stamp, "2020-12-31 00:00:00");
  EXPECT_EQ(read("20201231 13:00", DateOrder::MonthFirst).stamp, "2020-12-31 13:00:00");
  int64_t v = 0;
  for (const char* bad : {"31/12/2020", "01/02/2020", "12/31/20", "2016-07 13:00", "201607",
                          "19355", "2016-7-", "2016-13", "20161301", "2016-07-01 13"})
    EXPECT_FALSE(parse_timestamp(bad, &v)) << bad;
  for (const char* bad : {"12/31/2020", "31-12-2020X", "31/12-2020", "31/12/20", "1/1/1"})
    EXPECT_FALSE(parse_timestamp(bad, DateOrder::DayFirst, &v)) << bad;
}

TEST(Calendar, WritesDatesInTheInputsFormat) {
  EXPECT_EQ(written_like("1935", "1936-01-01"), "1936");
  EXPECT_EQ(written_like("2016-07", "2016-10-01"), "2016-10");
  EXPECT_EQ(written_like("2016/7", "2016-10-01"), "2016/10");
  EXPECT_EQ(written_like("2016/7", "2016-08-01"), "2016/8");
  EXPECT_EQ(written_like("20160701", "2016-07-02"), "20160702");
  EXPECT_EQ(written_like("2016-07-01", "2016-07-02"), "2016-07-02");
  EXPECT_EQ(written_like("2016.07.01", "2016-07-02"), "2016.07.02");
  EXPECT_EQ(written_like("2016-07-01 13:05", "2016-07-01 14:05"), "2016-07-01 14:05");
  EXPECT_EQ(written_like("2016-07-01T13:05:09Z", "2016-07-01 14:05:09"), "2016-07-01T14:05:09Z");
  EXPECT_EQ(written_like("2016-07-01T13:05+02:00", "2016-07-01 14:05"), "2016-07-01T14:05Z");
  EXPECT_EQ(written_like("1990/1/1 0:00", "1990-01-02"), "1990/1/2 0:00");
  EXPECT_EQ(written_like("1990/1/1 0:00", "1990-10-12 13:00"), "1990/10/12 13:00");
  EXPECT_EQ(written_like("31.12.2020 13:00", "2021-01-01 13:00", DateOrder::DayFirst),
            "01.01.2021 13:00");
  EXPECT_EQ(written_like("12/31/2020", "2021-01-01", DateOrder::MonthFirst), "01/01/2021");
  // A time the format cannot show is written in full.
  EXPECT_EQ(written_like("1935", "1936-07-01"), "1936-07-01 00:00:00");
  EXPECT_EQ(written_like("2016-07-01", "2016-07-01 13:00"), "2016-07-01 13:00:00");
  EXPECT_EQ(written_like("2016-07-01 13:05", "2016-07-01 13:05:30"), "2016-07-01 13:05:30");
}

TEST(Calendar, ColumnFormatsMergeAndErrorsNameLineColumnAndFlag) {
  TimestampColumn c(DateOrder::YearFirst, "x.csv");
  c.read("1990/10/10", 2);
  c.read("1990/10/11 9:00", 3);
  EXPECT_EQ(c.format().time_fields, 2);
  EXPECT_FALSE(c.format().padded);
  EXPECT_EQ(error_of([&] { c.read("1990-10-12", 4); }),
            "x.csv:4: column 'date': '1990-10-12' is not written like line 2's '1990/10/10' (one "
            "date format per column)");
  EXPECT_EQ(error_of([&] { c.read("31/12/2020", 5); }),
            "x.csv:5: column 'date': '31/12/2020' is not a date (expected e.g. 2016-07-01 "
            "00:00:00, 2016-07-01, 1990/1/1 0:00, ISO 8601, 2016-07, 1935 or 20160701; dates "
            "with the year last need --date_format dmy or mdy)");
  TimestampColumn d(DateOrder::DayFirst, "d.csv", "when");
  EXPECT_EQ(error_of([&] { d.read("12/31/2020", 7); }),
            "d.csv:7: column 'when': '12/31/2020' is not a date (read with --date_format dmy: "
            "e.g. 31/12/2020, 31.12.2020 13:00 or year first as 2016-07-01 00:00:00)");
  EXPECT_EQ(error_of([&] { d.read("", 8); }), "d.csv:8: column 'when': empty value");
  EXPECT_EQ(error_of([] { parse_date_order("dayfirst"); }),
            "--date_format 'dayfirst' must be ymd, dmy or mdy");
  // Through the CSV reader.
  CsvTable t = parse_csv("date,a\n31.12.2020,1\n01.01.2021,2\n", "e.csv",
                         CsvOptions{.date_order = DateOrder::DayFirst});
  EXPECT_EQ(t.timestamps[1] - t.timestamps[0], 86400);
  EXPECT_EQ(t.date_format.date, TimestampFormat::Date::DayFirst);
  EXPECT_NE(error_of([] {
              parse_csv("date,a\n2020-12-30,1\n31.12.2020,2\n", "f.csv");
            }).find("f.csv:3: column 'date': '31.12.2020' is not a date ("),
            std::string::npos);
}

}  // namespace
}  // namespace attend::data
