#include "attend/data/calendar.h"

#include <date/date.h>
#include <date/iso_week.h>
#include <fmt/format.h>

namespace attend::data {
namespace {

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

bool parse_timestamp(std::string_view s, int64_t* seconds) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  size_t i = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(s, i, 4, 4, &year)) return false;
  if (i >= s.size() || (s[i] != '-' && s[i] != '/')) return false;
  const char sep = s[i++];
  if (!read_digits(s, i, 1, 2, &month)) return false;
  if (i >= s.size() || s[i] != sep) return false;
  ++i;
  if (!read_digits(s, i, 1, 2, &day)) return false;
  int64_t offset = 0;  // local time - UTC, seconds
  if (i < s.size()) {
    if (s[i] != ' ' && s[i] != 'T') return false;
    ++i;
    if (!read_digits(s, i, 1, 2, &hour)) return false;
    if (i >= s.size() || s[i] != ':') return false;
    ++i;
    if (!read_digits(s, i, 1, 2, &minute)) return false;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!read_digits(s, i, 1, 2, &second)) return false;
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        if (i == start) return false;  // fraction truncated to whole seconds
      }
    }
    if (i < s.size()) {
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
  return true;
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
  const CivilTime t = civil_time(seconds);
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}", t.year, t.month, t.day, t.hour,
                     t.minute, t.second);
}

}  // namespace attend::data
