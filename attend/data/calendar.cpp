#include "attend/data/calendar.h"

#include <date/date.h>
#include <date/iso_week.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "attend/base/error.h"

namespace attend::data {
namespace {

constexpr int64_t kDay = 86400;
constexpr std::array<const char*, 7> kWeekdays = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};
constexpr std::array<const char*, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                 "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int64_t floor_mod(int64_t a, int64_t b) {
  return a - floor_div(a, b) * b;
}

// Day number (days since 1970-01-01) of a valid calendar date.
int64_t day_number(int64_t year, int month, int day) {
  const date::year_month_day ymd{date::year{static_cast<int>(year)},
                                 date::month{static_cast<unsigned>(month)},
                                 date::day{static_cast<unsigned>(day)}};
  return date::sys_days(ymd).time_since_epoch().count();
}

int days_in_month(int64_t year, int month) {
  const date::year_month_day_last last{
      date::year{static_cast<int>(year)},
      date::month_day_last{date::month{static_cast<unsigned>(month)}}};
  return static_cast<int>(static_cast<unsigned>(last.day()));
}

// Monday 0 .. Sunday 6 of a day number (1970-01-01 was a Thursday).
int weekday_of(int64_t day) {
  return static_cast<int>(floor_mod(day + 3, 7));
}

// Month index year * 12 + month - 1 of a timestamp's date.
int64_t month_index(const CivilTime& t) {
  return static_cast<int64_t>(t.year) * 12 + t.month - 1;
}

// The most common value (ties: the smallest).
int64_t most_common(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  int64_t best = v[0], best_count = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j] == v[i]) ++j;
    if (static_cast<int64_t>(j - i) > best_count) {
      best_count = static_cast<int64_t>(j - i);
      best = v[i];
    }
    i = j;
  }
  return best;
}

// Reads 1..max_digits decimal digits at s[i]; advances i.
bool read_digits(std::string_view s, size_t& i, int min_digits, int max_digits, int* out) {
  int v = 0, n = 0;
  while (i < s.size() && n < max_digits && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s[i] - '0');
    ++i;
    ++n;
  }
  if (n < min_digits) return false;
  if (i < s.size() && s[i] >= '0' && s[i] <= '9') return false;  // too many digits
  *out = v;
  return true;
}

// Reads exactly two decimal digits at s[i]; advances i.
bool read_two_digits(std::string_view s, size_t& i, int* out) {
  if (i + 2 > s.size() || s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9')
    return false;
  *out = (s[i] - '0') * 10 + (s[i + 1] - '0');
  i += 2;
  return true;
}

}  // namespace

DateOrder parse_date_order(std::string_view text) {
  if (text == "ymd") return DateOrder::YearFirst;
  if (text == "dmy") return DateOrder::DayFirst;
  if (text == "mdy") return DateOrder::MonthFirst;
  fail("--date_format '{}' must be ymd, dmy or mdy", text);
}

bool parse_timestamp(std::string_view s, DateOrder order, int64_t* seconds,
                     TimestampFormat* format) {
  using Date = TimestampFormat::Date;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  TimestampFormat f;
  f.time_fields = 0;
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  // One or two digits of a month, day or hour; a single digit marks the text unpadded.
  auto field = [&](size_t& i, int* out) {
    const size_t start = i;
    if (!read_digits(s, i, 1, 2, out)) return false;
    if (i - start == 1) f.padded = false;
    return true;
  };
  auto separator_at = [&](size_t i) {
    return i < s.size() && (s[i] == '-' || s[i] == '/' || s[i] == '.');
  };
  size_t lead = 0;  // leading digits
  while (lead < s.size() && s[lead] >= '0' && s[lead] <= '9') ++lead;
  size_t i = 0;
  if (lead == 8) {  // YYYYMMDD
    for (size_t k = 0; k < 4; ++k) year = year * 10 + (s[k] - '0');
    month = (s[4] - '0') * 10 + (s[5] - '0');
    day = (s[6] - '0') * 10 + (s[7] - '0');
    i = 8;
    f.date = Date::Compact;
  } else if (lead == 4) {  // 1935, 2016-07, 2016-07-01, 1990/1/1, 2016.07.01
    if (!read_digits(s, i, 4, 4, &year)) return false;
    f.date = Date::Year;
    if (i < s.size()) {
      if (!separator_at(i)) return false;
      f.separator = s[i++];
      if (!field(i, &month)) return false;
      f.date = Date::YearMonth;
      if (i < s.size()) {
        if (s[i] != f.separator) return false;
        ++i;
        if (!field(i, &day)) return false;
        f.date = Date::YearFirst;
      }
    }
  } else if ((lead == 1 || lead == 2) && order != DateOrder::YearFirst) {  // 31.12.2020
    int a = 0, b = 0;
    if (!field(i, &a) || !separator_at(i)) return false;
    f.separator = s[i++];
    if (!field(i, &b) || i >= s.size() || s[i] != f.separator) return false;
    ++i;
    if (!read_digits(s, i, 4, 4, &year)) return false;
    const bool day_first = order == DateOrder::DayFirst;
    day = day_first ? a : b;
    month = day_first ? b : a;
    f.date = day_first ? Date::DayFirst : Date::MonthFirst;
  } else {
    return false;
  }
  int64_t offset = 0;  // local time - UTC, seconds
  if (i < s.size()) {
    if (f.date == Date::Year || f.date == Date::YearMonth) return false;
    if (s[i] != ' ' && s[i] != 'T') return false;
    f.time_separator = s[i++];
    if (!field(i, &hour)) return false;
    if (i >= s.size() || s[i] != ':') return false;
    ++i;
    if (!read_digits(s, i, 1, 2, &minute)) return false;
    f.time_fields = 2;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!read_digits(s, i, 1, 2, &second)) return false;
      f.time_fields = 3;
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        if (i == start) return false;  // fraction truncated to whole seconds
      }
    }
    if (i < s.size()) {
      f.utc_suffix = true;
      if (s[i] == 'Z') {
        ++i;
      } else if (s[i] == '+' || s[i] == '-') {
        const int sign = s[i] == '-' ? -1 : 1;
        ++i;
        int oh = 0, om = 0;
        if (!read_two_digits(s, i, &oh)) return false;
        if (i < s.size() && s[i] == ':') ++i;
        if (i < s.size() && !read_two_digits(s, i, &om)) return false;
        if (oh > 23 || om > 59) return false;
        offset = sign * (oh * 3600 + om * 60);
      }
    }
    if (i != s.size()) return false;
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                 date::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return false;
  const int64_t days = date::sys_days(ymd).time_since_epoch().count();
  *seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (format) *format = f;
  return true;
}

bool parse_timestamp(std::string_view text, int64_t* seconds) {
  return parse_timestamp(text, DateOrder::YearFirst, seconds);
}

CivilTime civil_time(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const date::sys_days sd{date::days{days}};
  const date::year_month_day ymd{sd};
  const date::weekday wd{sd};
  const iso_week::year_weeknum_weekday iw{sd};
  CivilTime t{};
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  t.hour = static_cast<int>(rem / 3600);
  t.minute = static_cast<int>(rem / 60 % 60);
  t.second = static_cast<int>(rem % 60);
  t.weekday = static_cast<int>(wd.iso_encoding()) - 1;
  t.day_of_year =
      static_cast<int>((sd - date::sys_days{ymd.year() / date::January / 1}).count()) + 1;
  t.iso_week = static_cast<int>(static_cast<unsigned>(iw.weeknum()));
  return t;
}

std::string format_timestamp(int64_t seconds) {
  return format_timestamp(seconds, TimestampFormat{});
}

std::string format_timestamp(int64_t seconds, const TimestampFormat& f) {
  using Date = TimestampFormat::Date;
  const CivilTime t = civil_time(seconds);
  const bool midnight = t.hour == 0 && t.minute == 0 && t.second == 0;
  const bool fits = f.date == Date::Year        ? midnight && t.month == 1 && t.day == 1
                    : f.date == Date::YearMonth ? midnight && t.day == 1
                    : f.time_fields == 0        ? midnight
                    : f.time_fields == 2        ? t.second == 0
                                                : true;
  if (!fits) return format_timestamp(seconds, TimestampFormat{});
  auto two = [&](int v) { return f.padded ? fmt::format("{:02d}", v) : std::to_string(v); };
  const char sep = f.separator;
  std::string out;
  switch (f.date) {
    case Date::Year:
      return fmt::format("{:04d}", t.year);
    case Date::YearMonth:
      return fmt::format("{:04d}{}{}", t.year, sep, two(t.month));
    case Date::Compact:
      out = fmt::format("{:04d}{:02d}{:02d}", t.year, t.month, t.day);
      break;
    case Date::YearFirst:
      out = fmt::format("{:04d}{}{}{}{}", t.year, sep, two(t.month), sep, two(t.day));
      break;
    case Date::DayFirst:
      out = fmt::format("{}{}{}{}{:04d}", two(t.day), sep, two(t.month), sep, t.year);
      break;
    case Date::MonthFirst:
      out = fmt::format("{}{}{}{}{:04d}", two(t.month), sep, two(t.day), sep, t.year);
      break;
  }
  if (f.time_fields >= 2) {
    out += fmt::format("{}{}:{:02d}", f.time_separator, two(t.hour), t.minute);
    if (f.time_fields == 3) out += fmt::format(":{:02d}", t.second);
    if (f.utc_suffix) out += 'Z';
  }
  return out;
}

namespace {

// Cell text for messages: at most 40 bytes, with an ellipsis when cut.
std::string shown(std::string_view s) {
  if (s.size() <= 40) return std::string(s);
  return std::string(s.substr(0, 40)) + "...";
}

}  // namespace

TimestampColumn::TimestampColumn(DateOrder order, std::string source, std::string column)
    : order_(order), source_(std::move(source)), column_(std::move(column)) {}

int64_t TimestampColumn::read(std::string_view cell, int64_t line) {
  int64_t t = 0;
  TimestampFormat f;
  if (cell.empty()) fail("{}:{}: column '{}': empty value", source_, line, column_);
  if (!parse_timestamp(cell, order_, &t, &f)) {
    const char* how =
        order_ == DateOrder::YearFirst
            ? "expected e.g. 2016-07-01 00:00:00, 2016-07-01, 1990/1/1 0:00, ISO 8601, 2016-07, "
              "1935 or 20160701; dates with the year last need --date_format dmy or mdy"
        : order_ == DateOrder::DayFirst
            ? "read with --date_format dmy: e.g. 31/12/2020, 31.12.2020 13:00 or year first as "
              "2016-07-01 00:00:00"
            : "read with --date_format mdy: e.g. 12/31/2020, 12/31/2020 13:00 or year first as "
              "2016-07-01 00:00:00";
    fail("{}:{}: column '{}': '{}' is not a date ({})", source_, line, column_, shown(cell), how);
  }
  if (first_line_ == 0) {
    format_ = f;
    first_line_ = line;
    first_cell_.assign(cell);
    return t;
  }
  if (f.date != format_.date || f.separator != format_.separator)
    fail("{}:{}: column '{}': '{}' is not written like line {}'s '{}' (one date format per column)",
         source_, line, column_, shown(cell), first_line_, shown(first_cell_));
  if (f.time_fields > format_.time_fields) {
    if (format_.time_fields == 0) format_.time_separator = f.time_separator;
    format_.time_fields = f.time_fields;
  }
  format_.padded = format_.padded && f.padded;
  format_.utc_suffix = format_.utc_suffix || f.utc_suffix;
  return t;
}

// ---- frequencies -------------------------------------------------------------------------------

namespace {

[[noreturn]] void unsupported(std::string_view freq) {
  fail(
      "[freq] unsupported frequency '{}' (supported: s secondly, min/t minutely, h hourly, D "
      "daily, "
      "B business days, W weekly (W-MON .. W-SUN), MS/ME month starts/ends, QS/QE quarters, YS/YE "
      "years (-JAN .. -DEC anchors), TSLib's s t h d b w m, optionally with a multiple such as "
      "15min)",
      freq);
}

// Index of `name` in `names`, or -1.
template <size_t N>
int index_of(const std::array<const char*, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i)
    if (name == names[i]) return static_cast<int>(i);
  return -1;
}

int period_months(FreqKind kind) {
  return kind == FreqKind::Year ? 12 : kind == FreqKind::Quarter ? 3 : 1;
}

bool month_like(FreqKind kind) {
  return kind == FreqKind::Month || kind == FreqKind::Quarter || kind == FreqKind::Year;
}

// Seconds of one unit of a fixed-length kind, 0 for calendar kinds.
int64_t fixed_unit(FreqKind kind) {
  switch (kind) {
    case FreqKind::Second:
      return 1;
    case FreqKind::Minute:
      return 60;
    case FreqKind::Hour:
      return 3600;
    case FreqKind::Day:
      return kDay;
    default:
      return 0;
  }
}

// Day of the month a month-like frequency lands on in (year, month).
int grid_day(const Frequency& f, int64_t year, int month) {
  const int last = days_in_month(year, month);
  return f.month_day == 0 ? last : std::min(f.month_day, last);
}

// Whether a timestamp lies on the frequency's grid (any time of day).
bool on_grid(int64_t t, const Frequency& f) {
  const int64_t day = floor_div(t, kDay);
  switch (f.kind) {
    case FreqKind::BusinessDay:
      return weekday_of(day) < 5;
    case FreqKind::Week:
      return f.weekday < 0 || weekday_of(day) == f.weekday;
    case FreqKind::Month:
    case FreqKind::Quarter:
    case FreqKind::Year: {
      const CivilTime c = civil_time(t);
      return floor_mod(c.month - f.month, period_months(f.kind)) == 0 &&
             c.day == grid_day(f, c.year, c.month);
    }
    default:
      return true;
  }
}

// One step of `f` (its multiple of units) from t: the next grid point after t, then multiple - 1
// more, at t's time of day.
int64_t step(int64_t t, const Frequency& f) {
  const int64_t k = f.multiple;
  if (const int64_t unit = fixed_unit(f.kind)) return t + unit * k;
  int64_t day = floor_div(t, kDay);
  const int64_t time_of_day = t - day * kDay;
  switch (f.kind) {
    case FreqKind::BusinessDay: {
      auto next_business_day = [](int64_t d) {
        do ++d;
        while (weekday_of(d) >= 5);
        return d;
      };
      day = next_business_day(day);
      day += 7 * ((k - 1) / 5);  // 5 business days from a business day are 7 days
      for (int64_t r = (k - 1) % 5; r > 0; --r) day = next_business_day(day);
      break;
    }
    case FreqKind::Week:
      if (f.weekday < 0) {
        day += 7 * k;
      } else {
        day += 1 + floor_mod(f.weekday - weekday_of(day + 1), 7);
        day += 7 * (k - 1);
      }
      break;
    default: {  // Month, Quarter, Year
      const int p = period_months(f.kind);
      const CivilTime c = civil_time(t);
      const int64_t now = month_index(c);
      int64_t g = now + floor_mod(f.month - 1 - now, p);  // first grid month from this one
      auto grid_point = [&](int64_t m) {
        const int64_t y = floor_div(m, 12);
        const int month = static_cast<int>(floor_mod(m, 12)) + 1;
        return day_number(y, month, grid_day(f, y, month));
      };
      if (grid_point(g) <= day) g += p;
      day = grid_point(g + p * (k - 1));
      break;
    }
  }
  return day * kDay + time_of_day;
}

// The fixed-step frequency of a step of s seconds (weeks anchored on the weekday of t).
Frequency fixed_step(int64_t s, int64_t t) {
  Frequency f;
  if (s % (7 * kDay) == 0) {
    f.kind = FreqKind::Week;
    f.multiple = s / (7 * kDay);
    f.weekday = weekday_of(floor_div(t, kDay));
  } else if (s % kDay == 0) {
    f.kind = FreqKind::Day;
    f.multiple = s / kDay;
  } else if (s % 3600 == 0) {
    f.kind = FreqKind::Hour;
    f.multiple = s / 3600;
  } else if (s % 60 == 0) {
    f.kind = FreqKind::Minute;
    f.multiple = s / 60;
  } else {
    f.kind = FreqKind::Second;
    f.multiple = s;
  }
  return f;
}

// The month-like frequency of the most common step in calendar months: month ends when that
// step goes from a month's last day to a month's last day, else the day of the month it starts on.
std::optional<Frequency> calendar_months(const std::vector<int64_t>& ts) {
  std::vector<int64_t> months(ts.size() - 1);
  for (size_t i = 0; i + 1 < ts.size(); ++i)
    months[i] = month_index(civil_time(ts[i + 1])) - month_index(civil_time(ts[i]));
  const int64_t k = most_common(months);
  if (k <= 0) return std::nullopt;
  const size_t i0 =
      static_cast<size_t>(std::find(months.begin(), months.end(), k) - months.begin());
  const CivilTime a = civil_time(ts[i0]), b = civil_time(ts[i0 + 1]);
  const bool ends =
      a.day == days_in_month(a.year, a.month) && b.day == days_in_month(b.year, b.month);
  Frequency f;
  const int p = k % 12 == 0 ? 12 : k % 3 == 0 ? 3 : 1;
  f.kind = p == 12 ? FreqKind::Year : p == 3 ? FreqKind::Quarter : FreqKind::Month;
  f.multiple = k / p;
  f.month_day = ends ? 0 : a.day;
  f.month = a.month;
  return f;
}

std::string duration_text(int64_t s) {
  auto n = [](int64_t v, const char* unit) {
    return fmt::format("{} {}{}", v, unit, v == 1 ? "" : "s");
  };
  if (s % kDay == 0) return n(s / kDay, "day");
  if (s % 3600 == 0) return n(s / 3600, "hour");
  if (s % 60 == 0) return n(s / 60, "minute");
  return n(s, "second");
}

}  // namespace

Frequency parse_freq(std::string_view freq) {
  Frequency out;
  out.text = std::string(freq);
  std::string_view s = freq;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  size_t i = 0;
  int64_t mult = 0;
  bool has_mult = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (mult > 1000000) unsupported(freq);
    mult = mult * 10 + (s[i] - '0');
    has_mult = true;
    ++i;
  }
  if (has_mult && mult == 0) unsupported(freq);
  out.multiple = has_mult ? mult : 1;
  std::string_view alias = s.substr(i);
  std::string_view anchor;
  const bool anchored = alias.find('-') != std::string_view::npos;
  if (anchored) {
    anchor = alias.substr(alias.find('-') + 1);
    alias = alias.substr(0, alias.find('-'));
  }
  auto upper = [](std::string_view v) {
    std::string u;
    for (char c : v) u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return u;
  };
  const std::string up = upper(alias), anchor_up = upper(anchor);
  // pandas keeps "MS" (month start) and "ms" (milliseconds) apart by case.
  if (up == "MS" && alias != "MS") unsupported(freq);
  if (up == "S") {
    out.kind = FreqKind::Second;
  } else if (up == "T" || up == "MIN") {
    out.kind = FreqKind::Minute;
  } else if (up == "H") {
    out.kind = FreqKind::Hour;
  } else if (up == "D") {
    out.kind = FreqKind::Day;
  } else if (up == "B") {
    out.kind = FreqKind::BusinessDay;
  } else if (up == "W") {
    out.kind = FreqKind::Week;
    if (anchored && (out.weekday = index_of(kWeekdays, anchor_up)) < 0) unsupported(freq);
    return out;
  } else if (up == "M" || up == "ME" || up == "MS") {
    out.kind = FreqKind::Month;
    out.month_day = up == "MS" ? 1 : 0;
  } else if (up == "Q" || up == "QE" || up == "QS" || up == "A" || up == "Y" || up == "YE" ||
             up == "AS" || up == "YS") {
    out.kind = up[0] == 'Q' ? FreqKind::Quarter : FreqKind::Year;
    const bool start = up.back() == 'S';
    out.month_day = start ? 1 : 0;
    out.month = start ? 1 : 12;
    if (anchored) {
      const int m = index_of(kMonths, anchor_up);
      if (m < 0) unsupported(freq);
      out.month = m + 1;
    }
    return out;
  } else {
    unsupported(freq);
  }
  if (anchored) unsupported(freq);
  return out;
}

std::string freq_alias(const Frequency& f) {
  std::string a;
  switch (f.kind) {
    case FreqKind::Second:
      a = "s";
      break;
    case FreqKind::Minute:
      a = "min";
      break;
    case FreqKind::Hour:
      a = "h";
      break;
    case FreqKind::Day:
      a = "D";
      break;
    case FreqKind::BusinessDay:
      a = "B";
      break;
    case FreqKind::Week:
      a = f.weekday < 0 ? "W" : std::string("W-") + kWeekdays[f.weekday];
      break;
    case FreqKind::Month:
      a = f.month_day == 0 ? "ME" : f.month_day == 1 ? "MS" : "M";
      break;
    case FreqKind::Quarter:
    case FreqKind::Year: {
      const bool year = f.kind == FreqKind::Year;
      const char* letter = year ? "Y" : "Q";
      if (f.month_day > 1) {
        a = letter;
        break;
      }
      // pandas names quarters by the month of the last (QE) or first (QS) quarter of the year.
      const int named = year               ? f.month
                        : f.month_day == 0 ? static_cast<int>(floor_mod(f.month - 1, 3)) + 10
                                           : static_cast<int>(floor_mod(f.month - 1, 3)) + 1;
      a = std::string(letter) + (f.month_day == 0 ? "E" : "S");
      if (named != (f.month_day == 0 ? 12 : 1)) a += std::string("-") + kMonths[named - 1];
      break;
    }
  }
  return f.multiple == 1 ? a : std::to_string(f.multiple) + a;
}

std::string freq_description(const Frequency& f) {
  static const char* once[] = {"secondly", "minutely", "hourly",    "daily", "every business day",
                               "weekly",   "monthly",  "quarterly", "yearly"};
  static const char* unit[] = {"second", "minute", "hour",    "day", "business day",
                               "week",   "month",  "quarter", "year"};
  const auto k = static_cast<size_t>(f.kind);
  std::string d = f.multiple == 1 ? once[k] : fmt::format("every {} {}s", f.multiple, unit[k]);
  if (month_like(f.kind) && f.month_day > 1) d += fmt::format(" on day {}", f.month_day);
  return d + " (" + freq_alias(f) + ")";
}

std::optional<Frequency> spacing_of(const std::vector<int64_t>& ts, SpacingBreak* where) {
  if (where) *where = SpacingBreak{};
  if (ts.size() < 2) return std::nullopt;
  std::vector<int64_t> diffs(ts.size() - 1);
  for (size_t i = 0; i + 1 < ts.size(); ++i) {
    diffs[i] = ts[i + 1] - ts[i];
    if (diffs[i] <= 0) {
      if (where) where->row = static_cast<int64_t>(i + 1);
      return std::nullopt;
    }
  }
  const int64_t s = most_common(diffs);
  const size_t i0 = static_cast<size_t>(std::find(diffs.begin(), diffs.end(), s) - diffs.begin());
  // In order of preference where several fit every step (two rows a month apart: MS, not 31D;
  // weekdays without a weekend between them: D, not B).
  std::vector<Frequency> candidates;
  if (s >= 28 * kDay)
    if (auto months = calendar_months(ts)) candidates.push_back(*months);
  candidates.push_back(fixed_step(s, ts[i0]));
  if (s % kDay == 0 && s / kDay <= 4)
    candidates.push_back(Frequency{.kind = FreqKind::BusinessDay, .multiple = s / kDay});
  size_t best = 0;
  int64_t best_fits = -1, best_break = -1;
  for (size_t c = 0; c < candidates.size(); ++c) {
    const Frequency& f = candidates[c];
    int64_t fits = 0, first_break = -1;
    for (size_t i = 0; i + 1 < ts.size(); ++i) {
      if (on_grid(ts[i], f) && step(ts[i], f) == ts[i + 1])
        ++fits;
      else if (first_break < 0)
        first_break = static_cast<int64_t>(i + 1);
    }
    if (fits > best_fits) best = c, best_fits = fits, best_break = first_break;
  }
  Frequency f = candidates[best];
  f.text = freq_alias(f);
  if (best_break < 0) return f;
  if (where) *where = SpacingBreak{.row = best_break, .nearest = f};
  return std::nullopt;
}

std::optional<Frequency> spacing_with_gaps(const std::vector<int64_t>& ts, SpacingBreak* where,
                                           std::vector<int64_t>* missing) {
  SpacingBreak at;
  std::optional<Frequency> exact = spacing_of(ts, &at);
  if (missing) missing->assign(ts.size(), 0);
  if (exact || at.row < 0 || ts[at.row] <= ts[at.row - 1]) {
    if (where) *where = at;
    return exact;
  }
  const Frequency& f = at.nearest;
  // Fixed steps (and weeks) divide; calendar steps are walked, at most kMaxWalk in all.
  constexpr int64_t kMaxWalk = 10'000'000;
  const int64_t unit =
      f.kind == FreqKind::Week ? 7 * kDay * f.multiple : fixed_unit(f.kind) * f.multiple;
  int64_t walked = 0;
  for (size_t i = 0; i + 1 < ts.size(); ++i) {
    const int64_t d = ts[i + 1] - ts[i];
    int64_t steps = 0;
    bool fits = on_grid(ts[i], f);
    if (fits && unit > 0) {
      fits = d % unit == 0;
      steps = d / unit;
    } else if (fits) {
      int64_t t = ts[i];
      for (; t < ts[i + 1] && walked < kMaxWalk; ++walked, ++steps) t = step(t, f);
      fits = t == ts[i + 1];
    }
    if (!fits) {
      if (where) *where = SpacingBreak{.row = static_cast<int64_t>(i + 1), .nearest = f};
      return std::nullopt;
    }
    if (missing) (*missing)[i + 1] = steps - 1;
  }
  if (where) *where = SpacingBreak{};
  return f;
}

Frequency infer_freq(const std::vector<int64_t>& ts, const std::string& source,
                     const std::vector<int64_t>& lines, std::string_view column,
                     std::string_view hint) {
  ATTEND_CHECK(ts.size() >= 2, "{}: cannot infer the frequency from {} timestamp(s); {}", source,
               ts.size(), hint);
  SpacingBreak at;
  if (auto f = spacing_of(ts, &at)) return *f;
  const int64_t r = at.row;
  const std::string where = static_cast<size_t>(r) < lines.size()
                                ? fmt::format("{}:{}", source, lines[r])
                                : fmt::format("{}: row {}", source, r + 1);
  if (ts[r] <= ts[r - 1])
    fail("{}: column '{}': {} is not after the previous row's {}; {}", where, column,
         format_timestamp(ts[r]), format_timestamp(ts[r - 1]), hint);
  fail(
      "{}: column '{}': {} is {} after the previous row, but the rows are {} elsewhere: the "
      "spacing fits no frequency; {}",
      where, column, format_timestamp(ts[r]), duration_text(ts[r] - ts[r - 1]),
      freq_description(at.nearest), hint);
}

std::vector<int64_t> future_timestamps(int64_t last, int64_t n, const Frequency& freq) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) out.push_back(last = step(last, freq));
  return out;
}

int64_t next_timestamp(int64_t t, const Frequency& freq) {
  return step(t, freq);
}

}  // namespace attend::data
