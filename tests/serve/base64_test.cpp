// `attend serve`'s base64 numbers (docs/serving.md, "Base64"): the codec against RFC 4648's
// vectors, requests whose values and future are base64 float32 forecasting exactly as the same
// numbers in JSON, answers in base64 equal bit for bit to the JSON answer and to Model::forecast,
// and every error answered 400 naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "base64.h"
#include "serve_support.h"

namespace attend::testing::serve {
namespace {

using cli::serve::base64_length;
using cli::serve::decode_base64;
using cli::serve::write_base64;

std::string encode(std::string_view bytes) {
  std::string out(base64_length(bytes.size()), '\0');
  char* end =
      write_base64(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  EXPECT_EQ(end, out.data() + out.size());
  return out;
}

std::string encode(const std::vector<float>& v) {
  return encode(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 4));
}

std::vector<float> decode_floats(const std::string& text) {
  std::string bytes;
  EXPECT_EQ(decode_base64(text, bytes), "");
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

TEST(Base64, RfcVectorsAndEveryByte) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, text] : vectors) {
    EXPECT_EQ(encode(plain), text);
    std::string back = "junk";
    EXPECT_EQ(decode_base64(text, back), "");
    EXPECT_EQ(back, plain);
  }
  std::string all;
  for (int i = 0; i < 256 * 3; ++i) all += static_cast<char>(i * 7 % 256);
  for (size_t n = 0; n < 10; ++n) {  // every padding, every byte value
    const std::string plain = all.substr(n);
    std::string back;
    EXPECT_EQ(decode_base64(encode(plain), back), "");
    EXPECT_EQ(back, plain);
  }
}

TEST(Base64, RefusesWhatIsNotBase64) {
  std::string out;
  EXPECT_EQ(decode_base64("Zm9", out),
            "3 characters, not a multiple of 4 (base64 is padded with "
            "'=')");
  EXPECT_EQ(decode_base64("Zm*v", out), "character 2 ('*') is not one of A-Z a-z 0-9 + /");
  EXPECT_EQ(decode_base64("Zg==Zm9v", out), "character 2 ('=') is not one of A-Z a-z 0-9 + /");
  EXPECT_EQ(decode_base64("Zm9v\nZm9v", out).substr(0, 13), "9 characters,");
  EXPECT_EQ(decode_base64("Zm9vZ\nm9", out), "character 5 (0x0a) is not one of A-Z a-z 0-9 + /");
  EXPECT_EQ(decode_base64("====", out), "character 0 ('=') is not one of A-Z a-z 0-9 + /");
  EXPECT_EQ(decode_base64("Z===", out), "character 1 ('=') is not one of A-Z a-z 0-9 + /");
  EXPECT_EQ(decode_base64("Zm-_", out), "character 2 ('-') is not one of A-Z a-z 0-9 + /");
}

// The window's values rounded to float32 (in the JSON request as the doubles they are, so that
// both requests hold the same numbers) and as base64.
struct Float32Window {
  json numbers, base64;  // the same series, values as JSON numbers / as base64
  SeriesInput input;
};

Float32Window float32_window(Window w) {
  std::vector<float> f(w.input.values.begin(), w.input.values.end());
  Float32Window out;
  out.input = w.input;
  out.input.values.assign(f.begin(), f.end());
  const size_t C = w.series["values"][0].size(), T = f.size() / C;
  for (size_t t = 0; t < T; ++t)
    for (size_t c = 0; c < C; ++c)
      w.series["values"][t][c] =
          std::isnan(f[t * C + c]) ? json(nullptr) : json(static_cast<double>(f[t * C + c]));
  out.numbers = w.series;
  out.base64 = w.series;
  out.base64["values"] = encode(f);
  return out;
}

// An answer's (P, O) table, as JSON rows or base64 text, as float32.
std::vector<float> table_of(const json& t) {
  if (t.is_string()) return decode_floats(t.get<std::string>());
  std::vector<float> v;
  for (const json& row : t)
    for (const json& x : row) v.push_back(static_cast<float>(x.get<double>()));
  return v;
}

void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
}

TEST(Base64, RoundTripEqualsTheJsonAnswerAndTheLibrary) {
  TestServer s;
  auto c = s.client();
  const Model& wide = loaded().wide;
  const Float32Window w = float32_window(wide_window(30, 3));
  const Forecast f = wide.forecast(w.input);
  const size_t P = 8, O = 7, Q = 3;

  json asked = request("wide", {w.numbers});
  asked["quantiles"] = {0.9, 0.1};
  const Answer in_json = post(c, asked.dump());
  ASSERT_EQ(in_json.status, 200) << in_json.body;
  json b64 = request("wide", {w.base64});  // base64 in, JSON out
  b64["quantiles"] = {0.9, 0.1};
  const Answer base64_in = post(c, b64.dump());
  ASSERT_EQ(base64_in.status, 200) << base64_in.body;
  EXPECT_EQ(base64_in.body, in_json.body);
  b64["encoding"] = "base64";  // base64 in and out
  const Answer both = post(c, b64.dump());
  ASSERT_EQ(both.status, 200) << both.body;
  asked["encoding"] = "base64";  // JSON in, base64 out
  const Answer out_only = post(c, asked.dump());
  EXPECT_EQ(out_only.body, both.body);
  asked["encoding"] = "json";
  EXPECT_EQ(post(c, asked.dump()).body, in_json.body);
  asked["encoding"] = nullptr;
  EXPECT_EQ(post(c, asked.dump()).body, in_json.body);

  const json j = in_json.parsed()["forecasts"][0], b = both.parsed()["forecasts"][0];
  EXPECT_EQ(b["timestamps"], j["timestamps"]);
  EXPECT_EQ(b["columns"], j["columns"]);
  ASSERT_TRUE(b["values"].is_string());
  expect_same_bits(table_of(b["values"]), table_of(j["values"]));
  expect_same_bits(table_of(b["values"]), f.values);
  for (const auto& [level, q] :
       std::vector<std::pair<std::string, size_t>>{{"0.9", 2}, {"0.1", 0}}) {
    SCOPED_TRACE(level);
    ASSERT_TRUE(b["quantiles"][level].is_string());
    expect_same_bits(table_of(b["quantiles"][level]), table_of(j["quantiles"][level]));
    std::vector<float> library(P * O);
    for (size_t k = 0; k < P * O; ++k) library[k] = f.quantiles[k * Q + q];
    expect_same_bits(table_of(b["quantiles"][level]), library);
  }
}

TEST(Base64, FutureAndMissingValues) {
  TestServer s;
  auto c = s.client();
  // known-future values in base64: as the same numbers in rows
  Float32Window law = float32_window(csv_window(data_path("own/seatbelts.csv"), 24, 6));
  const std::vector<float> future = {1, 1, 0, 1, 0.5f, 1};
  law.input.future.assign(future.begin(), future.end());
  json rows = json::array();
  for (float x : future) rows.push_back({x});
  law.numbers["future"] = rows;
  law.base64["future"] = encode(future);
  const Answer a = post(c, request("law", {law.numbers}).dump());
  ASSERT_EQ(a.status, 200) << a.body;
  json asked = request("law", {law.base64});
  asked["encoding"] = "base64";
  const Answer b = post(c, asked.dump());
  ASSERT_EQ(b.status, 200) << b.body;
  const std::vector<float> library = loaded().law.forecast(law.input).values;
  expect_same_bits(table_of(b.parsed()["forecasts"][0]["values"]), library);
  expect_same_bits(table_of(a.parsed()["forecasts"][0]["values"]), library);

  // NaN is a missing value, as null: filled by the long model's --missing interpolate
  Window air = long_window("AirPassengers", 30);
  air.input.values[10] = std::nan("");
  Float32Window w = float32_window(air);
  ASSERT_TRUE(w.numbers["values"][10][0].is_null());
  const Answer with_null = post(c, request("long", {w.numbers}).dump());
  ASSERT_EQ(with_null.status, 200) << with_null.body;
  EXPECT_EQ(post(c, request("long", {w.base64}).dump()).body, with_null.body);
  // and refused by the wide model's --missing error, as null is
  Float32Window wide = float32_window(wide_window(24));
  std::vector<float> v = table_of(wide.numbers["values"]);
  v[20 * 7 + 1] = std::numeric_limits<float>::quiet_NaN();
  wide.base64["values"] = encode(v);
  wide.numbers["values"][20][1] = nullptr;
  const Answer refused = post(c, request("wide", {wide.base64}).dump());
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.body, post(c, request("wide", {wide.numbers}).dump()).body);
}

TEST(Base64, EveryErrorIsA400NamingTheField) {
  TestServer s;
  auto c = s.client();
  const Float32Window w = float32_window(wide_window(24));
  const std::vector<float> values = table_of(w.numbers["values"]);
  const std::string columns = "7 columns (HUFL, HULL, MUFL, MULL, LUFL, LULL, OT)";
  auto with_values = [&](const json& v, const json& encoding = json()) {
    json series = w.base64;
    series["values"] = v;
    json body = request("wide", {series});
    if (!encoding.is_null()) body["encoding"] = encoding;
    return body.dump();
  };
  auto with_value = [&](size_t k, float x) {
    std::vector<float> v = values;
    v[k] = x;
    return with_values(encode(v));
  };
  std::string text = encode(values);
  std::string star = text;
  star[17] = '*';
  const std::vector<float> short_by_one(values.begin(), values.end() - 1);
  struct Case {
    std::string name, body, message;
  };
  const Case cases[] = {
      {"invalid character", with_values(star),
       "series[0].values: a string, expected an array of rows or an object of columns, or base64 "
       "of float32 (not base64: character 17 ('*') is not one of A-Z a-z 0-9 + /)"},
      {"url-safe alphabet", with_values(std::string(text).replace(4, 1, "-")),
       "series[0].values: a string, expected an array of rows or an object of columns, or base64 "
       "of float32 (not base64: character 4 ('-')"},
      {"not a multiple of 4", with_values(text.substr(0, text.size() - 1)),
       "(not base64: 895 characters, not a multiple of 4 (base64 is padded with '='))"},
      {"padding cut", with_values(text.substr(0, text.size() - 2)), "not a multiple of 4"},
      {"one float short", with_values(encode(short_by_one)),
       "series[0].values: base64 of 668 bytes, expected 24 timestamps x " + columns +
           " x 4 bytes (float32) = 672"},
      {"float64", with_values(encode(std::string(672 * 2, 'x'))),
       "series[0].values: base64 of 1344 bytes, expected 24 timestamps"},
      {"empty", with_values(""), "series[0].values: base64 of 0 bytes, expected 24 timestamps"},
      {"Infinity", with_value(2 * 7 + 2, std::numeric_limits<float>::infinity()),
       "series[0].values: row 2, column 'MUFL' is Infinity (NaN marks a missing value)"},
      {"-Infinity", with_value(23 * 7 + 6, -std::numeric_limits<float>::infinity()),
       "series[0].values: row 23, column 'OT' is -Infinity"},
      {"encoding unknown", with_values(text, "b64"),
       "encoding: 'b64' is not an answer encoding (json or base64)"},
      {"encoding upper case", with_values(text, "BASE64"),
       "encoding: 'BASE64' is not an answer encoding (json or base64)"},
      {"encoding not text", with_values(text, 64),
       "encoding: a number, expected \"json\" or \"base64\""},
      {"encoding in a series",
       [&] {
         json series = w.base64;
         series["encoding"] = "base64";
         return request("wide", {series}).dump();
       }(),
       "series[0]: unknown field 'encoding'"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    const Answer a = post(c, k.body);
    EXPECT_EQ(a.status, 400) << a.body;
    EXPECT_NE(a.error().find(k.message), std::string::npos) << a.error();
  }
  // future: the same checks against pred_len x the known columns
  Float32Window law = float32_window(csv_window(data_path("own/seatbelts.csv"), 24, 6));
  law.base64["future"] = encode(std::vector<float>(5, 1.0f));
  Answer a = post(c, request("law", {law.base64}).dump());
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.error().find("series[0].future: base64 of 20 bytes, expected 6 pred_len steps x 1 "
                           "column (law) x 4 bytes (float32) = 24"),
            std::string::npos)
      << a.body;
  law.base64["future"] = encode({1, 1, 1, std::numeric_limits<float>::infinity(), 1, 1});
  a = post(c, request("law", {law.base64}).dump());
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.error().find("series[0].future: row 3, column 'law' is Infinity"), std::string::npos)
      << a.body;
  law.base64["future"] = "AAAA*AAA";
  a = post(c, request("law", {law.base64}).dump());
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.error().find("series[0].future: a string, expected an array of rows or an object of "
                           "columns, or base64 of float32 (not base64: character 4 ('*')"),
            std::string::npos)
      << a.body;
  // the server serves on
  EXPECT_EQ(post(c, request("wide", {w.base64}).dump()).status, 200);
}

}  // namespace
}  // namespace attend::testing::serve
