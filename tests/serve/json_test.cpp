// The strict JSON reader of `attend serve`'s request bodies, its times, and the library's
// messages renamed for a request.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "float_text.h"
#include "json_reader.h"
#include "serve_json.h"

namespace attend::cli::serve {
namespace {

std::string error_of(std::string text) {
  try {
    JsonDocument doc(text);
  } catch (const JsonError& e) {
    return e.what();
  }
  return "";
}

// write_shortest's text of v.
std::string got_of(float v) {
  char out[64];
  return std::string(out, cli::serve::write_shortest(out, v));
}

TEST(JsonReader, ReadsValuesInDocumentOrder) {
  std::string text =
      R"( {"a": [1, -2.5e3, 0, 9223372036854775807, 9223372036854775808, 1E2, -0.0],
           "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "t": true, "f": false, "n": null,
           "o": {}, "e": []} )";
  const JsonDocument doc(text);
  const auto root = doc.root();
  ASSERT_TRUE(root.is_object());
  EXPECT_EQ(root.size(), 7u);
  const auto a = root.find("a");
  ASSERT_TRUE(a.is_array());
  ASSERT_EQ(a.size(), 7u);
  std::vector<JsonDocument::Value> v;
  for (const auto x : a) v.push_back(x);
  EXPECT_TRUE(v[0].is_integer());
  EXPECT_EQ(v[0].integer(), 1);
  EXPECT_FALSE(v[1].is_integer());
  EXPECT_EQ(v[1].number(), -2500.0);
  EXPECT_EQ(v[2].integer(), 0);
  EXPECT_EQ(v[3].integer(), INT64_MAX);
  EXPECT_FALSE(v[4].is_integer());  // beyond int64: a double
  EXPECT_EQ(v[4].number(), 9223372036854775808.0);
  EXPECT_FALSE(v[5].is_integer());
  EXPECT_EQ(v[5].number(), 100.0);
  EXPECT_TRUE(std::signbit(v[6].number()));
  EXPECT_EQ(root.find("s").text(), "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(root.find("t").type(), JsonType::Bool);
  EXPECT_TRUE(root.find("n").is_null());
  EXPECT_TRUE(root.find("o").is_object());
  EXPECT_EQ(root.find("o").size(), 0u);
  EXPECT_EQ(root.find("e").size(), 0u);
  EXPECT_FALSE(root.find("missing").found());
  std::vector<std::string> keys;
  for (auto it = root.begin(); it != root.end(); ++it) keys.emplace_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "s", "t", "f", "n", "o", "e"}));
}

TEST(JsonReader, RefusesWhatIsNotJson) {
  EXPECT_EQ(error_of("[1, 2"), "line 1, column 6: expected ',' or ']' in an array");
  EXPECT_EQ(error_of("{\"a\": 1,\n \"b\" 2}"),
            "line 2, column 6: expected ':' after the member name");
  EXPECT_EQ(error_of("[1,]"), "line 1, column 4: unexpected character ']', expected a value");
  EXPECT_EQ(error_of("{\"a\": 1,}"), "line 1, column 9: expected a member name in double quotes");
  EXPECT_EQ(error_of("[NaN]"),
            "line 1, column 2: NaN and Infinity are not JSON numbers (null marks a missing value)");
  EXPECT_NE(error_of("[-Infinity]").find("NaN and Infinity"), std::string::npos);
  EXPECT_NE(error_of("[Infinity]").find("NaN and Infinity"), std::string::npos);
  EXPECT_NE(error_of("[01]").find("expected ',' or ']'"), std::string::npos);
  EXPECT_NE(error_of("[1.]").find("expected a digit"), std::string::npos);
  EXPECT_NE(error_of("[.5]").find("unexpected character '.'"), std::string::npos);
  EXPECT_NE(error_of("[+1]").find("unexpected character '+'"), std::string::npos);
  EXPECT_NE(error_of("[1e]").find("expected a digit"), std::string::npos);
  EXPECT_NE(error_of("[1e999]").find("beyond the range of a double"), std::string::npos);
  EXPECT_NE(error_of("[tru]").find("unexpected character 't'"), std::string::npos);
  EXPECT_NE(error_of("[\"a\tb\"]").find("control character"), std::string::npos);
  EXPECT_NE(error_of("[\"\\x\"]").find("unknown escape '\\x'"), std::string::npos);
  EXPECT_NE(error_of("[\"\\u12\"]").find("four hex digits"), std::string::npos);
  EXPECT_NE(error_of("[\"\\ud800\"]").find("without its low one"), std::string::npos);
  EXPECT_NE(error_of("[\"\\udc00\"]").find("low surrogate without"), std::string::npos);
  EXPECT_NE(error_of("[\"\xc3\"]").find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(error_of("[\"\xc0\xaf\"]").find("invalid UTF-8"), std::string::npos);      // overlong
  EXPECT_NE(error_of("[\"\xed\xa0\x80\"]").find("invalid UTF-8"), std::string::npos);  // surrogate
  EXPECT_NE(error_of("[\"abc").find("inside a string"), std::string::npos);
  EXPECT_NE(error_of("").find("unexpected end"), std::string::npos);
  EXPECT_NE(error_of("1 2").find("unexpected text after the JSON value"), std::string::npos);
  EXPECT_NE(error_of("// c\n1").find("unexpected character '/'"), std::string::npos);
  EXPECT_EQ(error_of(std::string(64, '[') + std::string(64, ']')), "");
  EXPECT_NE(error_of(std::string(65, '[') + std::string(65, ']')).find("nesting deeper than 64"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(100000, '[')).find("nesting deeper than 64"), std::string::npos);
}

TEST(JsonReader, WritesStrings) {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\n\x01\xc3\xa9", 9));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
}

// write_shortest writes what std::to_chars writes (checked for every float once: 0 mismatches;
// here every 9973rd bit pattern of both signs, and the values around powers of ten and of two).
TEST(FloatText, WritesWhatToCharsWrites) {
  auto check = [](uint32_t bits) {
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    if (!std::isfinite(v)) return;
    char expected[64], got[64];
    char* e = std::to_chars(expected, expected + sizeof(expected), v).ptr;
    char* g = cli::serve::write_shortest(got, v);
    ASSERT_EQ(std::string(got, g), std::string(expected, e)) << "bits " << std::hex << bits;
  };
  for (uint64_t bits = 0; bits <= 0xFFFFFFFF; bits += 9973) check(static_cast<uint32_t>(bits));
  for (int e = -45; e <= 38; ++e) {
    for (const double base : {1.0, 2.5, 5.0, 9.999999}) {
      uint32_t bits;
      const auto v = static_cast<float>(base * std::pow(10.0, e));
      std::memcpy(&bits, &v, sizeof(bits));
      for (uint32_t d = 0; d < 5; ++d) check(bits - 2 + d);
    }
  }
  for (uint32_t exponent = 0; exponent < 255; ++exponent)  // 2^k, its neighbours, 2^k * 1.5
    for (const uint32_t fraction : {0u, 1u, 0x7FFFFFu, 0x400000u, 0x7FFFFEu})
      for (const uint32_t sign : {0u, 0x80000000u}) check(sign | exponent << 23 | fraction);
  EXPECT_EQ(std::string(got_of(0.0f)), "0");
  EXPECT_EQ(std::string(got_of(-0.0f)), "-0");
  EXPECT_EQ(std::string(got_of(33565872.0f)), "33565872");  // not the shortest 33565870
  EXPECT_EQ(std::string(got_of(std::numeric_limits<float>::denorm_min())), "1e-45");
  EXPECT_EQ(std::string(got_of(std::numeric_limits<float>::max())), "3.4028235e+38");
  EXPECT_EQ(std::string(got_of(0.1f)), "0.1");
  EXPECT_EQ(std::string(got_of(1e-3f)), "0.001");  // a tie with 1e-03: fixed
  EXPECT_EQ(std::string(got_of(1e-4f)), "1e-04");
  EXPECT_EQ(std::string(got_of(1.5e-5f)), "1.5e-05");
}

TEST(ServeTimes, ParsesAndWritesBackInTheSameStyle) {
  TimeStyle style;
  EXPECT_EQ(parse_time("1970-01-01", &style), 0);
  EXPECT_EQ(style.fields, 1);
  EXPECT_EQ(parse_time("2016-07-01 00:00:00", &style), 1467331200);
  EXPECT_EQ(style.fields, 3);
  EXPECT_EQ(style.separator, ' ');
  EXPECT_EQ(format_time(1467331200 + 3600, style), "2016-07-01 01:00:00");
  EXPECT_EQ(parse_time("2016-07-01T01:30Z", &style), 1467331200 + 5400);
  EXPECT_EQ(format_time(1467331200 + 7200, style), "2016-07-01T02:00Z");
  EXPECT_EQ(parse_time("1969-12-31 23:59:59"), -1);
  EXPECT_EQ(parse_time("2024-02-29"), 1709164800);
  style = {};
  style.text = true;
  style.fields = 1;
  EXPECT_EQ(format_time(1709164800, style), "2024-02-29");
  EXPECT_EQ(format_time(1709164800 + 60, style), "2024-02-29 00:01:00");  // not midnight
  EXPECT_EQ(format_time(-1, TimeStyle{true, ' ', 3, false}), "1969-12-31 23:59:59");
  EXPECT_EQ(format_time(42, TimeStyle{}), "42");
  for (const char* bad : {"2023-02-29", "2016-13-01", "2016-07-01 24:00:00", "2016-07-01 10:60",
                          "2016-7-01", "2016-07-01 10", "2016-07-01 10:00:00 ", "20160701", "",
                          "2016-07-01Z", "2016-07-01 10:00:00+01:00"})
    EXPECT_FALSE(parse_time(bad)) << bad;
}

TEST(ServeMessages, LibraryInputsBecomeSeries) {
  EXPECT_EQ(request_message("input 2 (series 'x'): 3 rows"), "series[2] (series 'x'): 3 rows");
  EXPECT_EQ(request_message("input: values holds 3"), "series[0]: values holds 3");
  EXPECT_EQ(request_message("input (series 'y'):4: missing"), "series[0] (series 'y'):4: missing");
  EXPECT_EQ(request_message("something else"), "something else");
  EXPECT_EQ(request_message("inputs differ"), "inputs differ");
}

}  // namespace
}  // namespace attend::cli::serve
