// CSV reader: layout variants, timestamps, every malformed input with file:line and column.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "attend/base/error.h"
#include "attend/base/utf8.h"
#include "attend/data/csv.h"
#include "attend/data/dataset.h"
#include "support/data_args.h"
#include "support/error_of.h"
#include "support/paths.h"

namespace attend::data {
namespace {

using attend::testing::error_of;

using attend::testing::data_path;
using attend::testing::DataArgs;

// Per-process scratch folder for bad CSVs, removed when the test binary exits.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("attend_data_test_" + std::to_string(::getpid()));
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Writes `text` to a file in the scratch folder; returns its path.
std::string write_temp(const std::string& name, const std::string& text) {
  static TempDir dir;
  std::filesystem::create_directories(dir.path);
  std::string path = (dir.path / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

int64_t ts(const std::string& s) {
  int64_t v = 0;
  EXPECT_TRUE(parse_timestamp(s, &v)) << s;
  return v;
}

TEST(Csv, ParsesSimpleTable) {
  CsvTable t =
      parse_csv("date,a,b\n2016-07-01 00:00:00,1.5,-2\n2016-07-01 01:00:00,3e2,+4\n", "x.csv");
  ASSERT_EQ(t.rows(), 2);
  ASSERT_EQ(t.cols(), 2);
  EXPECT_EQ(t.columns[0], "a");
  EXPECT_EQ(t.columns[1], "b");
  EXPECT_EQ(t.at(0, 0), 1.5);
  EXPECT_EQ(t.at(0, 1), -2.0);
  EXPECT_EQ(t.at(1, 0), 300.0);
  EXPECT_EQ(t.at(1, 1), 4.0);
  EXPECT_EQ(t.timestamps[0], 1467331200);
  EXPECT_EQ(t.timestamps[1] - t.timestamps[0], 3600);
  EXPECT_EQ(t.lines[1], 3);
}

TEST(Csv, CrlfNoTrailingNewlineBomQuotedHeaderDateNotFirst) {
  const std::string text =
      "\xEF\xBB\xBF\"v,1\",\"date\",\"q\"\"x\"\r\n1,2020-01-01,2\r\n\r\n3,2020-01-02,\"4\"";
  CsvTable t = parse_csv(text, "y.csv");
  ASSERT_EQ(t.rows(), 2);
  EXPECT_EQ(t.header[0], "v,1");
  EXPECT_EQ(t.header[1], "date");
  EXPECT_EQ(t.columns[1], "q\"x");
  EXPECT_EQ(t.at(1, 0), 3.0);
  EXPECT_EQ(t.at(1, 1), 4.0);
  EXPECT_EQ(t.timestamps[1] - t.timestamps[0], 86400);
  EXPECT_EQ(t.lines[1], 4);  // the blank line is skipped but counted
}

TEST(Csv, TrailingNewlineOrNotSameTable) {
  CsvTable a = parse_csv("date,a\n2020-01-01,1\n", "a.csv");
  CsvTable b = parse_csv("date,a\n2020-01-01,1", "a.csv");
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.timestamps, b.timestamps);
}

TEST(Csv, TimestampFormats) {
  EXPECT_EQ(ts("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(ts("2016-07-01 00:00:00"), 1467331200);
  EXPECT_EQ(ts("2016-07-01T00:00:00"), 1467331200);
  EXPECT_EQ(ts("2016-07-01"), 1467331200);
  EXPECT_EQ(ts("2016-07-01T00:00:00Z"), 1467331200);
  EXPECT_EQ(ts("2016-07-01T00:00:00.999"), 1467331200);
  EXPECT_EQ(ts("2016-07-01T02:30:00+02:30"), 1467331200);
  EXPECT_EQ(ts("2016-06-30T19:00:00-05:00"), 1467331200);
  EXPECT_EQ(ts("2016-07-01T01:00:00+0100"), 1467331200);
  EXPECT_EQ(ts("2016-07-01 00:00"), 1467331200);
  // exchange_rate.csv style
  EXPECT_EQ(ts("1990/1/1 0:00"), 631152000);
  EXPECT_EQ(ts("1990/12/31 23:59"), 631152000 + 364 * 86400 + 86340);
  EXPECT_EQ(ts("2002-01-01 00:00:00"), 1009843200);
  EXPECT_EQ(ts("2000-02-29"), 951782400);
  EXPECT_EQ(ts("1969-12-31 23:59:59"), -1);
  int64_t v = 0;
  for (const char* bad :
       {"", "2016-13-01", "2016-02-30", "2017-02-29", "2016-07-01 24:00:00", "2016-07-01 00:60:00",
        "2016-07-01 00:00:61", "2016/07-01", "16-07-01", "2016-07-01X", "2016-07-01T",
        "2016-07-01 00", "2016-07-01T00:00:00+", "2016-07-01T00:00:00+25:00",
        "2016-07-01T00:00:00.", "n/a", "2016-07-001", "12016-07-01"})
    EXPECT_FALSE(parse_timestamp(bad, &v)) << bad;
}

TEST(Csv, CivilTime) {
  // 2016-07-01 was a Friday, day 183 of a leap year, ISO week 26.
  CivilTime t = civil_time(ts("2016-07-01 13:45:07"));
  EXPECT_EQ(t.year, 2016);
  EXPECT_EQ(t.month, 7);
  EXPECT_EQ(t.day, 1);
  EXPECT_EQ(t.hour, 13);
  EXPECT_EQ(t.minute, 45);
  EXPECT_EQ(t.second, 7);
  EXPECT_EQ(t.weekday, 4);
  EXPECT_EQ(t.day_of_year, 183);
  EXPECT_EQ(t.iso_week, 26);
  // 2021-01-01 (Friday) belongs to ISO week 53 of 2020; 1969-12-31 is a Wednesday.
  EXPECT_EQ(civil_time(ts("2021-01-01")).iso_week, 53);
  EXPECT_EQ(civil_time(-1).weekday, 2);
  EXPECT_EQ(civil_time(-1).hour, 23);
  EXPECT_EQ(format_timestamp(ts("1990/1/2 3:04")), "1990-01-02 03:04:00");
}

TEST(Csv, ReadsBundledDatasets) {
  CsvTable h = read_csv(data_path("ETTh1.csv"));
  EXPECT_EQ(h.rows(), 17420);
  EXPECT_EQ(h.cols(), 7);
  EXPECT_EQ(h.columns.back(), "OT");
  EXPECT_DOUBLE_EQ(h.at(0, 6), 30.5310001373291);
  CsvTable e = read_csv(data_path("exchange_rate.csv"));
  EXPECT_EQ(e.rows(), 7588);
  EXPECT_EQ(e.cols(), 8);
  EXPECT_EQ(e.timestamps[0], 631152000);
  CsvTable n = read_csv(data_path("national_illness.csv"));
  EXPECT_EQ(n.rows(), 966);
  EXPECT_EQ(n.columns[0], "% WEIGHTED ILI");
}

TEST(Csv, PrintsReadTime) {
  const std::string path = data_path("ETTh1.csv");
  read_csv(path);  // warm the page cache
  auto t0 = std::chrono::steady_clock::now();
  CsvTable h = read_csv(path);
  auto t1 = std::chrono::steady_clock::now();
  std::printf("[ info ] read_csv ETTh1.csv (%lld rows): %.2f ms\n",
              static_cast<long long>(h.rows()),
              std::chrono::duration<double, std::milli>(t1 - t0).count());
}

// ---- one test per malformed input: file, line and column named ----------------------------------

TEST(CsvErrors, NotANumber) {
  std::string p = write_temp("nan.csv", "date,a,OT\n2020-01-01,1,2\n2020-01-02,3,n/a\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("nan.csv:3: column 'OT': 'n/a' is not a number"), std::string::npos) << m;
  for (const char* bad : {"nan", "inf", "1.5x", "--1", "1e999", "0x10", "1,5", " ", "1 2"}) {
    std::string text = std::string("date,a\n2020-01-01,\"") + bad + "\"\n";
    EXPECT_NE(error_of([&] { parse_csv(text, "b.csv"); }).find("b.csv:2: column 'a'"),
              std::string::npos)
        << bad;
  }
}

// A Latin-1 header or series id read fine but failed at the end of training, when scaler.json
// was written (nlohmann's type_error 316, not an attend::Error); found while writing the CSV
// fuzz target (fuzz/csv_fuzz.cpp), which now writes the names as JSON.
TEST(CsvErrors, NamesAndSeriesIdsMustBeUtf8) {
  std::string m = error_of([&] { parse_csv("date,T\xe9mp\n2020-01-01,1\n", "l1.csv"); });
  EXPECT_NE(m.find("l1.csv:1: column 2: the name is not UTF-8 text"), std::string::npos) << m;
  m = error_of([&] { parse_csv("unique_id,ds,y\na,2020-01-01,1\n\xff,2020-01-01,2\n", "id.csv"); });
  EXPECT_NE(m.find("id.csv:3: column 'unique_id': the series id is not UTF-8 text"),
            std::string::npos)
      << m;
  const CsvTable t =
      parse_csv("unique_id,ds,Temp\xc3\xa9rature\n\xe6\x97\xa5,2020-01-01,1\n", "u.csv");
  EXPECT_EQ(t.columns[0], "Temp\xc3\xa9rature");
  EXPECT_EQ(t.ids[0], "\xe6\x97\xa5");
}

TEST(Utf8, AcceptsWhatJsonCanWrite) {
  for (const char* ok : {"", "plain", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                         "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"})
    EXPECT_TRUE(is_utf8(ok)) << ok;
  // lone continuation, overlong forms, surrogates, above U+10FFFF, cut sequences, Latin-1
  for (const char* bad :
       {"\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc3", "\xe2\x82",
        "a\xe9"
        "b",
        "\xff"})
    EXPECT_FALSE(is_utf8(bad)) << bad;
}

TEST(CsvErrors, EmptyCell) {
  std::string p = write_temp("empty_cell.csv", "date,a,b\n2020-01-01,1,2\n2020-01-02,,2\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("empty_cell.csv:3: column 'a': empty value"), std::string::npos) << m;
}

TEST(CsvErrors, EmptyDateCell) {
  std::string m = error_of([&] { parse_csv("date,a\n,1\n", "d.csv"); });
  EXPECT_NE(m.find("d.csv:2: column 'date': empty value"), std::string::npos) << m;
}

TEST(CsvErrors, MissingField) {
  std::string p = write_temp("short.csv", "date,a,b\n2020-01-01,1,2\n2020-01-02,1\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("short.csv:3: column 'b': missing"), std::string::npos) << m;
}

TEST(CsvErrors, ExtraField) {
  std::string p = write_temp("long.csv", "date,a\n2020-01-01,1\n2020-01-02,1,5\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("long.csv:3: column 3: unexpected extra field"), std::string::npos) << m;
}

TEST(CsvErrors, BadDate) {
  std::string p = write_temp("date.csv", "date,a\n2020-01-01,1\n2020-02-30,1\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("date.csv:3: column 'date': '2020-02-30' is not a date"), std::string::npos)
      << m;
}

TEST(CsvErrors, UnsortedDates) {
  std::string p = write_temp("unsorted.csv", "date,a\n2020-01-02,1\n2020-01-01,1\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("unsorted.csv:3: column 'date': '2020-01-01' is earlier than"),
            std::string::npos)
      << m;
}

TEST(CsvErrors, DuplicateDates) {
  std::string p = write_temp("dup.csv", "date,a\n2020-01-01,1\n2020-01-02,1\n2020-01-02,1\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("dup.csv:4: column 'date': '2020-01-02' duplicates"), std::string::npos) << m;
}

TEST(CsvErrors, EmptyFile) {
  std::string p = write_temp("empty.csv", "");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("empty.csv: empty file"), std::string::npos) << m;
  EXPECT_NE(error_of([&] { parse_csv("\xEF\xBB\xBF\n\r\n", "bom.csv"); }).find("bom.csv: empty"),
            std::string::npos);
}

TEST(CsvErrors, HeaderOnly) {
  std::string p = write_temp("header.csv", "date,a,b\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("header.csv: no data rows"), std::string::npos) << m;
}

TEST(CsvErrors, NoDateColumn) {
  std::string p = write_temp("nodate.csv", "time,a\n2020-01-01,1\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("nodate.csv:1: no 'date' column"), std::string::npos) << m;
}

TEST(CsvErrors, DuplicateColumn) {
  std::string p = write_temp("dupcol.csv", "date,a,b,a\n2020-01-01,1,2,3\n");
  std::string m = error_of([&] { read_csv(p); });
  EXPECT_NE(m.find("dupcol.csv:1: column 4: duplicate column name 'a'"), std::string::npos) << m;
}

TEST(CsvErrors, EmptyColumnName) {
  std::string m = error_of([&] { parse_csv(",date,a\n0,2020-01-01,1\n", "idx.csv"); });
  EXPECT_NE(m.find("idx.csv:1: column 1: empty column name"), std::string::npos) << m;
}

TEST(CsvErrors, UnterminatedQuote) {
  std::string m = error_of([&] { parse_csv("date,a\n2020-01-01,\"1\n", "q.csv"); });
  EXPECT_NE(m.find("q.csv:2: column 2: unterminated quoted field"), std::string::npos) << m;
  m = error_of([&] { parse_csv("date,a\n2020-01-01,\"1\"x\n", "q.csv"); });
  EXPECT_NE(m.find("q.csv:2: column 2: unexpected character after a closing quote"),
            std::string::npos)
      << m;
}

TEST(CsvErrors, MissingFile) {
  std::string m = error_of([&] { read_csv("/nonexistent/dir/none.csv"); });
  EXPECT_NE(m.find("/nonexistent/dir/none.csv: cannot open"), std::string::npos) << m;
  m = error_of([&] { read_csv(std::filesystem::temp_directory_path().string()); });
  EXPECT_NE(m.find("not a regular file"), std::string::npos) << m;
}

// A file that does not exist is a NotFoundError (Python's FileNotFoundError); a folder is not.
TEST(CsvErrors, MissingFileIsNotFound) {
  EXPECT_THROW(read_csv("/nonexistent/dir/none.csv"), NotFoundError);
  try {
    read_csv(std::filesystem::temp_directory_path().string());
    ADD_FAILURE() << "a folder read as a CSV";
  } catch (const NotFoundError& e) {
    ADD_FAILURE() << e.what();
  } catch (const Error&) {
  }
}

TEST(CsvErrors, TargetMissing) {
  std::string p = write_temp("notarget.csv", "date,a,b\n2020-01-01,1,2\n");
  DataArgs c;
  c.data.data = "custom";
  c.data.root_path = std::filesystem::path(p).parent_path().string();
  c.data.data_path = "notarget.csv";
  c.data.target = "OT";
  std::string m = error_of([&] { load_forecast_data(c); });
  EXPECT_NE(m.find("notarget.csv:1: column 'OT': target column not found"), std::string::npos) << m;
}

TEST(CsvErrors, TooFewRowsForSplit) {
  std::string text = "date,a,OT\n";
  for (int i = 0; i < 100; ++i)
    text += fmt::format("2020-01-01 {:02d}:{:02d}:00,{},{}\n", i / 60, i % 60, i, i * 2);
  std::string p = write_temp("few.csv", text);
  DataArgs c;
  c.data.data = "custom";
  c.data.root_path = std::filesystem::path(p).parent_path().string();
  c.data.data_path = "few.csv";
  c.sample.seq_len = 12;
  c.sample.label_len = 6;
  c.sample.pred_len = 6;
  // 100 rows: train [0, 70), val [58, 80), test [68, 100); val has 22 - 12 - 6 + 1 = 5 windows.
  EXPECT_NO_THROW(load_forecast_data(c));
  c.sample.pred_len = 12;  // val: 22 - 12 - 12 + 1 = -1 windows
  std::string m = error_of([&] { load_forecast_data(c); });
  EXPECT_NE(m.find("few.csv: too few rows for the val split"), std::string::npos) << m;
  c.data.data = "ETTh1";  // hour borders need 8640 train rows; here the train split is 100 rows
  m = error_of([&] { load_forecast_data(c); });
  EXPECT_NE(m.find("few.csv: too few rows for the val split"), std::string::npos) << m;
}

// Random bytes and random mutations of a valid file never crash: a table or an Error.
TEST(CsvErrors, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  const std::string base =
      "date,a,\"b\"\r\n2020-01-01 00:00:00,1.5,2\n2020-01-01T01:00:00Z,3,\"4\"\n";
  const std::string alphabet = "0123456789,.-+:\"\r\n eE/TZdate\xEF\xBB\xBF";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      const int kind = static_cast<int>(rng() % 3);
      const char c =
          rng() % 4 == 0 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
      if (kind == 0 && pos < s.size())
        s.erase(pos, 1);
      else if (kind == 1)
        s.insert(s.begin() + std::min(pos, s.size()), c);
      else if (pos < s.size())
        s[pos] = c;
    }
    try {
      CsvTable t = parse_csv(s, "fuzz.csv");
      EXPECT_EQ(t.values.size(), t.timestamps.size() * t.columns.size());
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace attend::data
