#pragma once
// TSLib's time features: `timeF` (timeenc 1, values in [-0.5, 0.5]) and the
// integer calendar marks of embed `fixed`/`learned` (timeenc 0).
#include <cstdint>
#include <string>
#include <vector>

#include "attend/data/calendar.h"

namespace attend::data {

// TSLib's one-letter name of the time features of a kind: s, t, h, d, b, w, m (quarterly and
// yearly series take m's, see time_feature_kind).
char freq_letter(FreqKind kind);

// The kind whose timeF features a series of `kind` gets: its own, except that quarterly and
// yearly series get the monthly feature MonthOfYear. TSLib's table (time_features below) gives
// QuarterEnd [MonthOfYear] and YearEnd none, but its TimeFeatureEmbedding has no 'q' and reads
// one feature for 'a', so neither runs there; here both run with MonthOfYear.
FreqKind time_feature_kind(FreqKind kind);

// Names of the timeF features of a kind, in TSLib's order, e.g. Hour -> HourOfDay, DayOfWeek,
// DayOfMonth, DayOfYear.
std::vector<std::string> time_feature_names(FreqKind kind);

// TSLib timeF features (timeenc 1) of TSLib's features_by_offsets table for `kind`: (n, F)
// row-major, computed in float64, stored as float32.
std::vector<float> time_features(const int64_t* timestamps, int64_t n, FreqKind kind);

// Number of fixed marks (timeenc 0): 4 ([month, day, weekday, hour]) or 5 with minute // 15.
inline int64_t fixed_mark_count(bool with_minute) {
  return with_minute ? 5 : 4;
}

// TSLib marks for embed fixed/learned (timeenc 0): (n, 4 or 5) integer-valued floats
// [month 1..12, day 1..31, weekday Mon=0, hour, (minute // 15)].
std::vector<float> time_marks_fixed(const int64_t* timestamps, int64_t n, bool with_minute);

}  // namespace attend::data
