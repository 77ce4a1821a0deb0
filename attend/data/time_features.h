#pragma once
// Frequencies and TSLib's time features: `timeF` (timeenc 1, values in [-0.5, 0.5]) and the
// integer calendar marks of embed `fixed`/`learned` (timeenc 0).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attend::data {

// Offset kind of a frequency string; it alone decides the time-feature set (as TSLib's
// time_features_from_frequency_str, which dispatches on the pandas offset type).
enum class FreqKind { Second, Minute, Hour, Day, BusinessDay, Week, Month, Quarter, Year };

struct Frequency {
  FreqKind kind = FreqKind::Hour;
  int64_t multiple = 1;  // e.g. 15 for "15min"
  std::string text;      // as given
};

// Parses TSLib/pandas frequency strings: "s", "t"/"min", "h", "d", "b", "w"[-DAY], "m",
// "q"[-MON], "a"/"y"[-MON], optionally preceded by a multiple ("15min", "5t", "1h"); letters are
// case-insensitive. Throws attend::Error for anything else (e.g. "ms", "MS", "x").
Frequency parse_freq(std::string_view freq);

// TSLib's one-letter name of a kind: s, t, h, d, b, w, m, q, a.
char freq_letter(FreqKind kind);

// Infers the frequency letter ("s", "t", "h", "d", "w" or "m") from the most common difference
// between consecutive timestamps (seconds; ties go to the smaller difference). Needs >= 2 stamps.
std::string infer_freq(const std::vector<int64_t>& timestamps, const std::string& source);

// Names of the timeF features of a kind, in TSLib's order, e.g. Hour -> HourOfDay, DayOfWeek,
// DayOfMonth, DayOfYear.
std::vector<std::string> time_feature_names(FreqKind kind);

// TSLib timeF features (timeenc 1): (n, F) row-major, computed in float64, stored as float32.
std::vector<float> time_features(const int64_t* timestamps, int64_t n, FreqKind kind);

// Number of fixed marks (timeenc 0): 4 ([month, day, weekday, hour]) or 5 with minute // 15.
inline int64_t fixed_mark_count(bool with_minute) {
  return with_minute ? 5 : 4;
}

// TSLib marks for embed fixed/learned (timeenc 0): (n, 4 or 5) integer-valued floats
// [month 1..12, day 1..31, weekday Mon=0, hour, (minute // 15)].
std::vector<float> time_marks_fixed(const int64_t* timestamps, int64_t n, bool with_minute);

}  // namespace attend::data
