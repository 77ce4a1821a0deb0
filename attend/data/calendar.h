#pragma once
// Calendars: timestamps (parsing, formatting, calendar fields), frequencies with pandas' aliases,
// the frequency of a column's spacing and the timestamps that follow the last one. Times are
// int64 seconds since 1970-01-01 UTC.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attend::data {

// ---- timestamp text ----------------------------------------------------------------------------

// How dates that do not start with the year are read (--date_format): ymd refuses them, dmy reads
// 31/12/2020 and 31.12.2020 13:00, mdy reads 12/31/2020. Dates starting with a four-digit year are
// read under all three.
enum class DateOrder { YearFirst, DayFirst, MonthFirst };

// "ymd", "dmy" or "mdy"; anything else throws an error naming --date_format.
DateOrder parse_date_order(std::string_view text);

// How a column writes its timestamps, so that the dates after it are written the same way.
struct TimestampFormat {
  enum class Date { Year, YearMonth, Compact, YearFirst, DayFirst, MonthFirst };
  Date date = Date::YearFirst;  // 1935 | 2016-07 | 20160701 | 2016-07-01 | 31.12.2020 | 12/31/2020
  char separator = '-';         // between the date's fields: '-', '/' or '.'
  bool padded = true;           // months, days and hours in two digits ("1990/1/1 0:00": false)
  int time_fields = 3;          // 0: date only, 2: hh:mm, 3: hh:mm:ss
  char time_separator = ' ';    // ' ' or 'T'
  bool utc_suffix = false;      // 'Z' after the time (the input gave a zone; times are UTC)
};

// Parses one timestamp to seconds since 1970 UTC: a date (`2016-07-01`, `1990/1/1`, `2016.07.01`,
// `20160701`, with the year last per `order`) optionally followed by ' ' or 'T' and
// `h:mm[:ss[.fff]]` with an optional zone `Z`, `+hh[:mm]` or `-hh[:mm]`; or a year alone (`1935`:
// 1935-01-01) or a year and month (`2016-07`: 2016-07-01). Fractional seconds are truncated.
// Returns false when the text is not a valid timestamp; otherwise fills `format` if given.
bool parse_timestamp(std::string_view text, DateOrder order, int64_t* seconds,
                     TimestampFormat* format = nullptr);

// parse_timestamp with DateOrder::YearFirst.
bool parse_timestamp(std::string_view text, int64_t* seconds);

// Formats seconds since 1970 UTC as `YYYY-MM-DD HH:MM:SS`.
std::string format_timestamp(int64_t seconds);

// Formats seconds since 1970 UTC in `format`; a timestamp the format cannot show (13:00 in a
// date-only format, the 15th in a year-month format) is written as `YYYY-MM-DD HH:MM:SS`.
std::string format_timestamp(int64_t seconds, const TimestampFormat& format);

// Reads a column's timestamps cell by cell and merges their formats: the date's layout and
// separator must be the same in every cell; the widest time part, any unpadded field and any zone
// are kept. Errors name "<source>:<line>: column '<column>'" and, for text that is not a date,
// --date_format.
class TimestampColumn {
 public:
  TimestampColumn(DateOrder order, std::string source, std::string column = "date");
  int64_t read(std::string_view cell, int64_t line);
  const TimestampFormat& format() const { return format_; }

 private:
  DateOrder order_;
  std::string source_, column_;
  TimestampFormat format_;
  int64_t first_line_ = 0;  // 0 until the first cell is read
  std::string first_cell_;
};

// Calendar fields of a UTC timestamp (computed with Howard Hinnant's date library).
struct CivilTime {
  int year;
  int month;        // 1..12
  int day;          // 1..31
  int hour;         // 0..23
  int minute;       // 0..59
  int second;       // 0..59
  int weekday;      // Monday = 0 .. Sunday = 6 (pandas dayofweek)
  int day_of_year;  // 1..366
  int iso_week;     // 1..53
};

// Splits seconds since 1970 UTC into calendar fields.
CivilTime civil_time(int64_t seconds);

// ---- frequencies -------------------------------------------------------------------------------

// Offset kind of a frequency: the calendar unit of one step.
enum class FreqKind { Second, Minute, Hour, Day, BusinessDay, Week, Month, Quarter, Year };

// A calendar frequency: `multiple` units of `kind`, on the grid its anchors name. One step from
// a timestamp goes to the next grid point after it, keeping the time of day for units of a day
// and more (pandas' DateOffset arithmetic).
struct Frequency {
  FreqKind kind = FreqKind::Hour;
  int64_t multiple = 1;  // e.g. 15 for "15min"
  // Week: the weekday of every step (Monday 0 .. Sunday 6); -1: steps of 7 days.
  int weekday = -1;
  // Month, Quarter, Year: the day of the month of every step: 0 the last (ME, QE, YE), 1 the
  // first (MS, QS, YS), 2..31 that day, or the month's last when shorter (inferred only).
  int month_day = 0;
  // Quarter, Year: a month the steps land on (1..12); quarters land every third month from it.
  int month = 12;
  std::string text;  // as given, or the alias of an inferred frequency
};

// Parses TSLib's one-letter forms (s, t, h, d, b, w, m: m is month end) and pandas' aliases,
// optionally preceded by a multiple: s; min or t (15min); h; D; B; W and W-MON .. W-SUN; MS, ME
// and M (month end); QS, QE and Q with -JAN .. -DEC (QE: ending in Mar/Jun/Sep/Dec); YS, YE, Y and
// A with -JAN .. -DEC. Case-insensitive except that month start is MS and ms (milliseconds) is
// refused. Throws attend::Error "[freq] unsupported frequency ..." for anything else.
Frequency parse_freq(std::string_view freq);

// pandas' alias of a frequency ("15min", "D", "W-TUE", "MS", "QE-NOV", "YS"); TSLib's letter
// where pandas has none (monthly on day 15: "M").
std::string freq_alias(const Frequency& freq);

// Words for messages: "daily (D)", "every 15 minutes (15min)", "quarterly (QE)".
std::string freq_description(const Frequency& freq);

// Where a column's spacing stops following one frequency (see spacing_of).
struct SpacingBreak {
  int64_t row = -1;   // index of the first timestamp whose step from the previous one does not fit
  Frequency nearest;  // the frequency most steps follow
};

// The frequency every step of `timestamps` (increasing) follows, found from the most common step:
// fixed steps (seconds .. days; weeks anchored on the data's weekday), business days (weekdays
// one day apart, Friday to Monday), or calendar months, quarters and years (every timestamp a
// month's first day, last day, or the same day). nullopt when fewer than two timestamps or when a
// step fits no frequency; then `*where` (if given) says where.
std::optional<Frequency> spacing_of(const std::vector<int64_t>& timestamps,
                                    SpacingBreak* where = nullptr);

// The frequency of timestamps whose rows may skip whole steps (missing rows): spacing_of's
// frequency, or else the one most steps follow (SpacingBreak::nearest) when every step is a whole
// number of its steps. `missing` (if given) receives, per row, the steps missing before it.
// nullopt when spacing_of finds no candidate or a step is not whole (then *where says where), or
// when the gaps hold more than 10 million steps together.
std::optional<Frequency> spacing_with_gaps(const std::vector<int64_t>& timestamps,
                                           SpacingBreak* where = nullptr,
                                           std::vector<int64_t>* missing = nullptr);

// spacing_of, or an attend::Error: "<source>:<line>: column '<column>': <stamp> is <step> after
// the previous row, but the rows are <frequency> elsewhere: the spacing fits no frequency;
// <hint>". `lines` holds each timestamp's file line (empty: row numbers are shown); `column` is
// the time column's name.
Frequency infer_freq(const std::vector<int64_t>& timestamps, const std::string& source,
                     const std::vector<int64_t>& lines = {}, std::string_view column = "date",
                     std::string_view hint = "pass --freq to choose the time features");

// The n timestamps after `last`, one step of `freq` apart: fixed steps add; business days skip
// weekends; weeks land on their weekday; month, quarter and year ends stay ends (Feb 29 in leap
// years), starts stay starts. A `last` off the grid (a Wednesday for W-SUN) first moves to the
// next grid point, as pandas' offsets do. The time of day is kept.
std::vector<int64_t> future_timestamps(int64_t last, int64_t n, const Frequency& freq);

// The first of future_timestamps(t, 1, freq).
int64_t next_timestamp(int64_t t, const Frequency& freq);

}  // namespace attend::data
