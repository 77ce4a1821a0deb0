#pragma once
// Timestamps: parsing, formatting and calendar fields (seconds since 1970-01-01 UTC).
#include <cstdint>
#include <string>
#include <string_view>

namespace attend::data {

// Parses one timestamp to seconds since 1970 UTC: `2016-07-01 00:00:00`, `1990/1/1 0:00`,
// ISO 8601 `2016-07-01T00:00:00[.fff][Z|+hh:mm|-hh:mm]`, date-only `2016-07-01`.
// Fractional seconds are truncated. Returns false when the text is not a valid timestamp.
bool parse_timestamp(std::string_view text, int64_t* seconds);

// Formats seconds since 1970 UTC as `YYYY-MM-DD HH:MM:SS`.
std::string format_timestamp(int64_t seconds);

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

}  // namespace attend::data
