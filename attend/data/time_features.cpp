#include "attend/data/time_features.h"

#include "attend/base/error.h"

namespace attend::data {
namespace {

enum class Feature { Second, Minute, Hour, DayOfWeek, DayOfMonth, DayOfYear, Month, WeekOfYear };

// TSLib's features_by_offsets.
std::vector<Feature> features_of(FreqKind kind) {
  using F = Feature;
  switch (kind) {
    case FreqKind::Year:
      return {};
    case FreqKind::Quarter:
    case FreqKind::Month:
      return {F::Month};
    case FreqKind::Week:
      return {F::DayOfMonth, F::WeekOfYear};
    case FreqKind::Day:
    case FreqKind::BusinessDay:
      return {F::DayOfWeek, F::DayOfMonth, F::DayOfYear};
    case FreqKind::Hour:
      return {F::Hour, F::DayOfWeek, F::DayOfMonth, F::DayOfYear};
    case FreqKind::Minute:
      return {F::Minute, F::Hour, F::DayOfWeek, F::DayOfMonth, F::DayOfYear};
    case FreqKind::Second:
      return {F::Second, F::Minute, F::Hour, F::DayOfWeek, F::DayOfMonth, F::DayOfYear};
  }
  return {};
}

const char* feature_name(Feature f) {
  switch (f) {
    case Feature::Second:
      return "SecondOfMinute";
    case Feature::Minute:
      return "MinuteOfHour";
    case Feature::Hour:
      return "HourOfDay";
    case Feature::DayOfWeek:
      return "DayOfWeek";
    case Feature::DayOfMonth:
      return "DayOfMonth";
    case Feature::DayOfYear:
      return "DayOfYear";
    case Feature::Month:
      return "MonthOfYear";
    case Feature::WeekOfYear:
      return "WeekOfYear";
  }
  return "";
}

// Each feature as TSLib (numpy float64) computes it.
double feature_value(Feature f, const CivilTime& t) {
  switch (f) {
    case Feature::Second:
      return t.second / 59.0 - 0.5;
    case Feature::Minute:
      return t.minute / 59.0 - 0.5;
    case Feature::Hour:
      return t.hour / 23.0 - 0.5;
    case Feature::DayOfWeek:
      return t.weekday / 6.0 - 0.5;
    case Feature::DayOfMonth:
      return (t.day - 1) / 30.0 - 0.5;
    case Feature::DayOfYear:
      return (t.day_of_year - 1) / 365.0 - 0.5;
    case Feature::Month:
      return (t.month - 1) / 11.0 - 0.5;
    case Feature::WeekOfYear:
      return (t.iso_week - 1) / 52.0 - 0.5;
  }
  return 0.0;
}

}  // namespace

char freq_letter(FreqKind kind) {
  switch (kind) {
    case FreqKind::Second:
      return 's';
    case FreqKind::Minute:
      return 't';
    case FreqKind::Hour:
      return 'h';
    case FreqKind::Day:
      return 'd';
    case FreqKind::BusinessDay:
      return 'b';
    case FreqKind::Week:
      return 'w';
    case FreqKind::Month:
      return 'm';
    case FreqKind::Quarter:
    case FreqKind::Year:
      return 'm';
  }
  return 'h';
}

FreqKind time_feature_kind(FreqKind kind) {
  return kind == FreqKind::Quarter || kind == FreqKind::Year ? FreqKind::Month : kind;
}

std::vector<std::string> time_feature_names(FreqKind kind) {
  std::vector<std::string> names;
  for (Feature f : features_of(kind)) names.emplace_back(feature_name(f));
  return names;
}

std::vector<float> time_features(const int64_t* timestamps, int64_t n, FreqKind kind) {
  const std::vector<Feature> feats = features_of(kind);
  const size_t nf = feats.size();
  std::vector<float> out(static_cast<size_t>(n) * nf);
  for (int64_t i = 0; i < n; ++i) {
    const CivilTime t = civil_time(timestamps[i]);
    for (size_t k = 0; k < nf; ++k)
      out[i * nf + k] = static_cast<float>(feature_value(feats[k], t));
  }
  return out;
}

std::vector<float> time_marks_fixed(const int64_t* timestamps, int64_t n, bool with_minute) {
  const int64_t nf = fixed_mark_count(with_minute);
  std::vector<float> out(static_cast<size_t>(n * nf));
  for (int64_t i = 0; i < n; ++i) {
    const CivilTime t = civil_time(timestamps[i]);
    float* row = out.data() + i * nf;
    row[0] = static_cast<float>(t.month);
    row[1] = static_cast<float>(t.day);
    row[2] = static_cast<float>(t.weekday);
    row[3] = static_cast<float>(t.hour);
    if (with_minute) row[4] = static_cast<float>(t.minute / 15);
  }
  return out;
}

}  // namespace attend::data
