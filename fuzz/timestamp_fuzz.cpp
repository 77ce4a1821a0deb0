// Fuzzes timestamp and frequency text (attend/data/calendar.h): every line of the input through
// parse_timestamp under each DateOrder, a TimestampColumn per DateOrder over all lines (as the
// CSV reader reads a time column), and parse_freq up to the first line that is not a frequency.
// What parses is formatted back and stepped forward. attend::Error is the normal answer to bad
// text; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "attend/base/error.h"
#include "attend/data/calendar.h"

using namespace attend::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos <= text.size();) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  int64_t last = 0;
  for (const DateOrder order : {DateOrder::YearFirst, DateOrder::DayFirst, DateOrder::MonthFirst}) {
    for (std::string_view line : lines) {
      int64_t seconds = 0;
      TimestampFormat format;
      if (!parse_timestamp(line, order, &seconds, &format)) continue;
      (void)format_timestamp(seconds, format);
      (void)civil_time(seconds);
      last = seconds;
    }
    try {
      TimestampColumn column(order, "fuzz.csv");
      for (size_t i = 0; i < lines.size(); ++i) last = column.read(lines[i], int64_t(i) + 2);
      (void)format_timestamp(last, column.format());
    } catch (const attend::Error&) {
    }
  }
  try {  // up to the first line that is not a frequency (an error per line would cost the most)
    for (std::string_view line : lines) {
      const Frequency freq = parse_freq(line);
      (void)freq_alias(freq);
      (void)freq_description(freq);
      for (int64_t t : future_timestamps(last, 2, freq)) (void)format_timestamp(t);
    }
  } catch (const attend::Error&) {
  }
  try {
    (void)parse_date_order(text);
  } catch (const attend::Error&) {
  }
  return 0;
}
