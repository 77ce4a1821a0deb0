#include "attend/data/time_features.h"

#include <algorithm>
#include <cctype>

#include "attend/base/error.h"
#include "attend/data/csv.h"

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

[[noreturn]] void unsupported(std::string_view freq) {
  fail(
      "[freq] unsupported frequency '{}' (supported: s secondly, t/min minutely, h hourly, "
      "d daily, b business days, w weekly, m monthly, q quarterly, a/y yearly, optionally with "
      "a multiple such as 15min)",
      freq);
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
    if (mult > 1000000000) unsupported(freq);
    mult = mult * 10 + (s[i] - '0');
    has_mult = true;
    ++i;
  }
  out.multiple = has_mult ? mult : 1;
  std::string_view alias = s.substr(i);
  std::string_view anchor;
  if (auto dash = alias.find('-'); dash != std::string_view::npos) {
    anchor = alias.substr(dash + 1);
    alias = alias.substr(0, dash);
  }
  // pandas keeps "MS" (month begin) and "ms" (milliseconds) case-sensitive; neither has features.
  if (alias == "MS" || alias == "ms") unsupported(freq);
  std::string up;
  for (char c : alias) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (char c : anchor)
    if (!std::isalnum(static_cast<unsigned char>(c))) unsupported(freq);
  const bool anchored_ok = up == "W" || up == "Q" || up == "A" || up == "Y";
  if (!anchor.empty() && !anchored_ok) unsupported(freq);
  if (up == "S")
    out.kind = FreqKind::Second;
  else if (up == "T" || up == "MIN")
    out.kind = FreqKind::Minute;
  else if (up == "H")
    out.kind = FreqKind::Hour;
  else if (up == "D")
    out.kind = FreqKind::Day;
  else if (up == "B")
    out.kind = FreqKind::BusinessDay;
  else if (up == "W")
    out.kind = FreqKind::Week;
  else if (up == "M")
    out.kind = FreqKind::Month;
  else if (up == "Q")
    out.kind = FreqKind::Quarter;
  else if (up == "A" || up == "Y")
    out.kind = FreqKind::Year;
  else
    unsupported(freq);
  return out;
}

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
      return 'q';
    case FreqKind::Year:
      return 'a';
  }
  return 'h';
}

std::string infer_freq(const std::vector<int64_t>& ts, const std::string& source) {
  ATTEND_CHECK(ts.size() >= 2, "{}: cannot infer the frequency from {} timestamp(s); pass --freq",
               source, ts.size());
  std::vector<int64_t> diffs(ts.size() - 1);
  for (size_t i = 1; i < ts.size(); ++i) diffs[i - 1] = ts[i] - ts[i - 1];
  std::sort(diffs.begin(), diffs.end());
  int64_t best = diffs[0], best_count = 0;
  for (size_t i = 0; i < diffs.size();) {
    size_t j = i;
    while (j < diffs.size() && diffs[j] == diffs[i]) ++j;
    if (static_cast<int64_t>(j - i) > best_count) {
      best_count = static_cast<int64_t>(j - i);
      best = diffs[i];
    }
    i = j;
  }
  ATTEND_CHECK(best > 0, "{}: timestamps are not increasing; cannot infer the frequency", source);
  if (best < 60) return "s";
  if (best < 3600) return "t";
  if (best < 86400) return "h";
  if (best < 7 * 86400) return "d";
  if (best < 28 * 86400) return "w";
  return "m";
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
