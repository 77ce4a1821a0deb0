// `attend serve`'s server, started in-process on a free loopback port: every endpoint, every
// error class answered 4xx with the server serving on, forecasts equal to Model::forecast's,
// concurrent equal to sequential, micro-batching, a bad request failing alone in its batch, an
// abuse run, a load run, pipelined requests and the draining stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "serve_support.h"

namespace attend::testing::serve {
namespace {

using cli::serve::format_time;
using cli::serve::ServerOptions;
using cli::serve::TimeStyle;

// The point forecast of an answer's forecasts[i] equals `f`'s, bit for bit (as float32).
void expect_values(const json& answer, const Forecast& f, size_t outputs) {
  const json& values = answer["values"];
  ASSERT_EQ(values.size() * outputs, f.values.size());
  for (size_t t = 0; t < values.size(); ++t) {
    ASSERT_EQ(values[t].size(), outputs);
    for (size_t o = 0; o < outputs; ++o)
      ASSERT_EQ(static_cast<float>(values[t][o].get<double>()), f.values[t * outputs + o])
          << "row " << t << " column " << o;
  }
}

TEST(Serve, HealthModelsAndMetrics) {
  TestServer s;
  auto c = s.client();
  Answer h = get(c, "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.parsed()["status"], "ok");
  EXPECT_EQ(h.parsed()["models"], 3);
  auto head = c.Head("/healthz");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);

  Answer m = get(c, "/v1/models");
  ASSERT_EQ(m.status, 200);
  std::map<std::string, json> by_name;
  const json models = m.parsed();
  for (const json& x : models["models"]) by_name[x["name"].get<std::string>()] = x;
  ASSERT_EQ(by_name.size(), 3u);
  const json& wide = by_name["wide"];
  EXPECT_EQ(wide["model"], "PatchTST");
  EXPECT_EQ(wide["seq_len"], 24);
  EXPECT_EQ(wide["pred_len"], 8);
  EXPECT_EQ(wide["columns"], json({"HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"}));
  EXPECT_EQ(wide["outputs"], wide["columns"]);
  EXPECT_EQ(wide["quantiles"], json({0.1, 0.5, 0.9}));
  EXPECT_EQ(wide["series_count"], 0);
  EXPECT_TRUE(wide.contains("freq"));
  EXPECT_EQ(by_name["long"]["series_count"], 3);
  EXPECT_EQ(by_name["long"]["columns"], json({"y"}));
  EXPECT_EQ(by_name["law"]["known_columns"], json({"law"}));
  EXPECT_EQ(by_name["law"]["outputs"], json({"drivers"}));

  ASSERT_EQ(post(c, request("wide", {wide_window(24).series}).dump()).status, 200);
  ASSERT_EQ(post(c, "{").status, 400);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  const std::string& t = metrics->body;
  for (const char* line :
       {"attend_serve_requests_total{endpoint=\"/v1/forecast\",status=\"200\"} 1",
        "attend_serve_requests_total{endpoint=\"/v1/forecast\",status=\"400\"} 1",
        "attend_serve_requests_total{endpoint=\"/v1/models\",status=\"200\"} 1",
        "attend_serve_errors_total{endpoint=\"/v1/forecast\"} 1",
        "attend_serve_request_duration_seconds_count{endpoint=\"/v1/forecast\"} 2",
        "attend_serve_request_duration_seconds_bucket{endpoint=\"/v1/forecast\",le=\"+Inf\"} 2",
        "attend_serve_batch_series_count{model=\"wide\"} 1",
        "attend_serve_batch_series_sum{model=\"wide\"} 1", "attend_serve_models_loaded 3",
        "attend_serve_forecasts_in_flight 0"})
    EXPECT_NE(t.find(line), std::string::npos) << line << "\n" << t;
}

TEST(Serve, ForecastsEqualTheLibrarys) {
  TestServer s;
  auto c = s.client();
  const Model& wide = loaded().wide;
  const size_t O = 7;

  // text times in, text times out; no id: null
  const Window w = wide_window(30);
  const Forecast f = wide.forecast(w.input);
  Answer a = post(c, request("wide", {w.series}).dump());
  ASSERT_EQ(a.status, 200) << a.body;
  json r = a.parsed();
  EXPECT_EQ(r["model"], "wide");
  ASSERT_EQ(r["forecasts"].size(), 1u);
  const json& one = r["forecasts"][0];
  EXPECT_TRUE(one["id"].is_null());
  EXPECT_EQ(one["columns"], json({"HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"}));
  ASSERT_EQ(one["timestamps"].size(), 8u);
  for (size_t t = 0; t < 8; ++t)
    EXPECT_EQ(one["timestamps"][t], format_time(f.timestamps[t], TimeStyle{true, ' ', 3, false}));
  EXPECT_FALSE(one.contains("quantiles"));
  expect_values(one, f, O);

  // seconds in, seconds out; a label id on a wide model is echoed
  Window ws = wide_window(24, 5, true);
  ws.series["id"] = "mine";
  a = post(c, request("wide", {ws.series}).dump());
  ASSERT_EQ(a.status, 200) << a.body;
  r = a.parsed()["forecasts"][0];
  EXPECT_EQ(r["id"], "mine");
  const Forecast fs = wide.forecast(ws.input);
  EXPECT_EQ(r["timestamps"].get<std::vector<int64_t>>(), fs.timestamps);
  expect_values(r, fs, O);

  // values as an object of columns: the same forecast as rows
  json by_column = w.series;
  json columns = json::object();
  const std::vector<std::string> names = {"HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"};
  for (size_t col = 0; col < O; ++col) {
    json v = json::array();
    for (const json& row : w.series["values"]) v.push_back(row[col]);
    columns[names[col]] = v;
  }
  by_column["values"] = columns;
  a = post(c, request("wide", {by_column}).dump());
  ASSERT_EQ(a.status, 200) << a.body;
  expect_values(a.parsed()["forecasts"][0], f, O);

  // quantiles asked in any order, each (pred_len, outputs) at its level
  json q = request("wide", {w.series});
  q["quantiles"] = {0.9, 0.1};
  a = post(c, q.dump());
  ASSERT_EQ(a.status, 200) << a.body;
  const json qs = a.parsed()["forecasts"][0]["quantiles"];
  ASSERT_EQ(qs.size(), 2u);
  for (const auto& [key, level] : {std::pair<std::string, size_t>{"0.9", 2}, {"0.1", 0}}) {
    ASSERT_TRUE(qs.contains(key)) << qs.dump();
    for (size_t t = 0; t < 8; ++t)
      for (size_t o = 0; o < O; ++o)
        ASSERT_EQ(static_cast<float>(qs[key][t][o].get<double>()),
                  f.quantiles[(t * O + o) * 3 + level]);
  }

  // long format: two series in one request, ids echoed; null values interpolated (the model's
  // --missing interpolate), as the library does with NaN
  Window air = long_window("AirPassengers", 30), nottem = long_window("nottem", 24);
  air.series["values"][10][0] = nullptr;
  air.input.values[10] = std::nan("");
  a = post(c, request("long", {air.series, nottem.series}).dump());
  ASSERT_EQ(a.status, 200) << a.body;
  const std::vector<Forecast> lf = loaded().long_format.forecast({air.input, nottem.input});
  r = a.parsed()["forecasts"];
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["id"], "AirPassengers");
  EXPECT_EQ(r[1]["id"], "nottem");
  EXPECT_EQ(r[0]["timestamps"][0], "1961-01-01");  // the input's date-only style
  expect_values(r[0], lf[0], 1);
  expect_values(r[1], lf[1], 1);

  // known-future values: rows of the known columns at the pred_len steps
  Window law = csv_window(data_path("own/seatbelts.csv"), 24, 6);
  json future = json::array();
  for (int k = 0; k < 6; ++k) {
    future.push_back({1.0});
    law.input.future.push_back(1.0);
  }
  law.series["future"] = future;
  a = post(c, request("law", {law.series}).dump());
  ASSERT_EQ(a.status, 200) << a.body;
  r = a.parsed()["forecasts"][0];
  EXPECT_EQ(r["columns"], json({"drivers"}));
  expect_values(r, loaded().law.forecast(law.input), 1);
}

struct BadCase {
  std::string name;
  std::string body;
  int status;
  std::string message;  // a part of the error message
  std::string model = "wide";
};

std::vector<BadCase> bad_cases() {
  const json valid = request("wide", {wide_window(24).series});
  const std::string text = valid.dump();
  auto edit = [&](auto f) {
    json c = valid;
    f(c["series"][0], c);
    return c.dump();
  };
  std::vector<BadCase> cases = {
      {"truncated JSON", text.substr(0, text.size() / 2), 400, "body: not valid JSON at line 1"},
      {"NaN text", std::string(text).replace(text.find("[[") + 2, 0, "NaN,"), 400,
       "NaN and Infinity are not JSON numbers"},
      {"-Infinity text", std::string(text).replace(text.find("[[") + 2, 0, "-Infinity,"), 400,
       "NaN and Infinity are not JSON numbers"},
      {"empty body", "", 400, "body: empty"},
      {"not an object", "[1, 2]", 400, "body: an array, expected an object"},
      {"deep nesting", std::string(100, '[') + std::string(100, ']'), 400,
       "nesting deeper than 64"},
      {"invalid UTF-8", "{\"model\": \"w\xff\"}", 400, "invalid UTF-8"},
      {"missing model", R"({"series": []})", 400, "model: missing"},
      {"model not text", R"({"model": 3})", 400, "model: a number, expected the model's name"},
      {"unknown model", R"({"model": "nope", "series": []})", 404,
       "model: 'nope' is not served (models: wide, long, law)"},
      {"unknown field", edit([](json&, json& b) { b["serie"] = 1; }), 400,
       "body: unknown field 'serie'"},
      {"missing series", R"({"model": "wide"})", 400, "series: missing"},
      {"empty series", R"({"model": "wide", "series": []})", 400, "series: empty"},
      {"missing timestamps", edit([](json& s, json&) { s.erase("timestamps"); }), 400,
       "series[0].timestamps: missing"},
      {"missing values", edit([](json& s, json&) { s.erase("values"); }), 400,
       "series[0].values: missing"},
      {"values not an array", edit([](json& s, json&) { s["values"] = "x"; }), 400,
       "series[0].values: a string, expected an array of rows or an object of columns"},
      {"timestamp a boolean", edit([](json& s, json&) { s["timestamps"][0] = true; }), 400,
       "series[0].timestamps[0]: a boolean"},
      {"timestamp a fraction", edit([](json& s, json&) { s["timestamps"][0] = 1.5; }), 400,
       "series[0].timestamps[0]: a number that is not an integer"},
      {"value a string", edit([](json& s, json&) { s["values"][3][2] = "1.5"; }), 400,
       "series[0].values[3][2]: a string, expected a number or null"},
      {"row too short", edit([](json& s, json&) {
         s["values"][5] = {1, 2, 3};
       }),
       400,
       "series[0].values: row 5 has 3 numbers, the model reads 7 columns (HUFL, HULL, MUFL, "
       "MULL, LUFL, LULL, OT)"},
      {"rows for timestamps", edit([](json& s, json&) { s["values"].erase(0); }), 400,
       "series[0].values: 23 rows for 24 timestamps"},
      {"unknown column", edit([](json& s, json&) {
         s["values"] = {{"HUFL", {1}}, {"X", {1}}};
       }),
       400, "series[0].values: unknown column 'X'"},
      {"too few rows", edit([](json& s, json&) {
         s["values"].erase(0);
         s["timestamps"].erase(0);
       }),
       400, "series[0].timestamps: 23 rows, the model reads the last seq_len = 24"},
      {"decreasing timestamps",
       edit([](json& s, json&) { std::swap(s["timestamps"][3], s["timestamps"][4]); }), 400,
       "series[0].timestamps[4]: 2016-07-12 15:00:00 does not follow 2016-07-12 16:00:00 (times "
       "must increase)"},
      {"bad timestamp", edit([](json& s, json&) { s["timestamps"][2] = "2016-13-01 00:00:00"; }),
       400, "series[0].timestamps[2]: '2016-13-01 00:00:00' is not a time"},
      {"mixed timestamps", edit([](json& s, json&) { s["timestamps"][2] = 1467331200; }), 400,
       "series[0].timestamps[2]: a number among text times"},
      {"unknown quantile", edit([](json&, json& b) {
         b["quantiles"] = {0.5, 0.25};
       }),
       400, "quantiles[1]: 0.25 is not one of the model's levels (0.1, 0.5, 0.9)"},
      {"quantile twice", edit([](json&, json& b) {
         b["quantiles"] = {0.5, 0.5};
       }),
       400, "quantiles[1]: 0.5 asked twice"},
      {"null where --missing error", edit([](json& s, json&) { s["values"][20][1] = nullptr; }),
       400, "series[0]"},
      {"future without known columns", edit([](json& s, json&) { s["future"] = {{1}}; }), 400,
       "series[0].future: the model has no known-future columns"},
      {"unknown series id",
       [] {
         json s = long_window("AirPassengers", 24).series;
         s["id"] = "Nope";
         return request("long", {s}).dump();
       }(),
       400,
       "series[0].id: 'Nope' is not one of the model's 3 series (AirPassengers, UKDriverDeaths, "
       "nottem)",
       "long"},
      {"no id for a long model",
       [] {
         json s = long_window("AirPassengers", 24).series;
         s.erase("id");
         return request("long", {s}).dump();
       }(),
       400, "series[0].id: missing; the model forecasts series by id", "long"},
      {"quantiles of a point model",
       [] {
         json b = request("long", {long_window("AirPassengers", 24).series});
         b["quantiles"] = {0.5};
         return b.dump();
       }(),
       400, "quantiles: the model forecasts no quantiles", "long"},
      {"future of the wrong length",
       [] {
         json s = csv_window(data_path("own/seatbelts.csv"), 24).series;
         s["future"] = {{1}, {1}, {1}, {1}, {1}};
         return request("law", {s}).dump();
       }(),
       400, "series[0].future: 5 rows for 6 pred_len steps", "law"},
  };
  return cases;
}

TEST(Serve, EveryBadRequestIsAnswered4xxAndTheServerServesOn) {
  ServerOptions o;
  o.limits.max_series = 4;
  o.limits.max_rows = 100;
  o.max_body_bytes = 64 << 10;
  TestServer s(o);
  auto c = s.client();
  const std::string valid = request("wide", {wide_window(24).series}).dump();
  for (const BadCase& b : bad_cases()) {
    SCOPED_TRACE(b.name);
    const Answer a = post(c, b.body);
    EXPECT_EQ(a.status, b.status) << a.body;
    EXPECT_NE(a.error().find(b.message), std::string::npos) << a.body;
    ASSERT_EQ(post(c, valid).status, 200);  // serving on, on the same connection
  }
  // the limits
  Answer a = post(c, request("wide", {wide_window(150).series}).dump());
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.error().find("series[0].timestamps: 150 rows, more than the server's limit of 100 "
                           "(--max_rows)"),
            std::string::npos)
      << a.body;
  a = post(c, request("wide", std::vector<json>(5, wide_window(24).series)).dump());
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.error().find("series: 5 series, more than the server's limit of 4 (--max_series)"),
            std::string::npos)
      << a.body;
  a = post(c, "[" + std::string(100000, '1') + "]");
  EXPECT_EQ(a.status, 413);
  EXPECT_NE(a.error().find("--max_body_bytes"), std::string::npos) << a.body;
  // methods, paths and content types
  httplib::Client fresh("127.0.0.1", s.port);
  a = get(fresh, "/v1/forecast");
  EXPECT_EQ(a.status, 405);
  EXPECT_NE(a.error().find("/v1/forecast answers POST, not GET"), std::string::npos) << a.body;
  auto res = fresh.Post("/v1/models", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD");
  a = get(fresh, "/v2/nothing");
  EXPECT_EQ(a.status, 404);
  EXPECT_NE(a.error().find("no endpoint /v2/nothing"), std::string::npos) << a.body;
  a = post(fresh, valid, "text/plain");
  EXPECT_EQ(a.status, 415);
  EXPECT_NE(a.error().find("Content-Type: 'text/plain'"), std::string::npos) << a.body;
  EXPECT_EQ(post(fresh, valid).status, 200);
}

// Each malformed kind a few hundred times from two keep-alive clients: all 4xx, none lost.
TEST(Serve, AbuseRun) {
  ServerOptions o;
  o.max_body_bytes = 64 << 10;
  TestServer s(o);
  const std::vector<BadCase> cases = bad_cases();
  std::atomic<int> wrong{0}, answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t)
    clients.emplace_back([&, t] {
      auto c = s.client();
      for (int i = t; i < 200 * static_cast<int>(cases.size()); i += 2) {
        const BadCase& b = cases[static_cast<size_t>(i) % cases.size()];
        const Answer a = post(c, b.body);
        ++answered;
        if (a.status != b.status) ++wrong;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.load(), 200 * static_cast<int>(cases.size()));
  auto c = s.client();
  EXPECT_EQ(post(c, request("wide", {wide_window(24).series}).dump()).status, 200);
  EXPECT_EQ(get(c, "/healthz").status, 200);
}

// Requests from several client threads at once get the same answers, byte for byte, as the same
// requests one at a time, which equal Model::forecast's.
TEST(Serve, ConcurrentEqualsSequentialAndTheLibrary) {
  TestServer s;
  std::vector<std::string> bodies;
  std::vector<std::vector<SeriesInput>> inputs;
  std::vector<std::string> models;
  for (size_t k = 0; k < 40; ++k) {
    if (k % 5 == 4) {
      const Window a = long_window(k % 2 ? "nottem" : "AirPassengers", 24 + k % 3);
      bodies.push_back(request("long", {a.series}).dump());
      inputs.push_back({a.input});
      models.push_back("long");
    } else {
      const Window a = wide_window(24 + k % 4, k), b = wide_window(24, 2 * k + 1);
      const bool two = k % 3 == 0;
      bodies.push_back(
          request("wide", two ? std::vector<json>{a.series, b.series} : std::vector<json>{a.series})
              .dump());
      inputs.push_back(two ? std::vector<SeriesInput>{a.input, b.input}
                           : std::vector<SeriesInput>{a.input});
      models.push_back("wide");
    }
  }
  std::vector<std::string> sequential(bodies.size());
  {
    auto c = s.client();
    for (size_t k = 0; k < bodies.size(); ++k) {
      const Answer a = post(c, bodies[k]);
      ASSERT_EQ(a.status, 200) << a.body;
      sequential[k] = a.body;
      const Model& m = models[k] == "wide" ? loaded().wide : loaded().long_format;
      const std::vector<Forecast> f = m.forecast(inputs[k]);
      const json r = a.parsed()["forecasts"];
      ASSERT_EQ(r.size(), f.size());
      for (size_t i = 0; i < f.size(); ++i) expect_values(r[i], f[i], models[k] == "wide" ? 7 : 1);
    }
  }
  // 8 threads, each sending every body once, from its own starting point
  const size_t threads = 8;
  std::atomic<int> differ{0};
  std::vector<std::thread> clients;
  for (size_t t = 0; t < threads; ++t)
    clients.emplace_back([&, t] {
      auto c = s.client();
      for (size_t i = 0; i < bodies.size(); ++i) {
        const size_t k = (t * 5 + i) % bodies.size();
        if (post(c, bodies[k]).body != sequential[k]) ++differ;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(differ.load(), 0);
  auto c = s.client();
  double series = 0;
  for (const auto& in : inputs) series += static_cast<double>(in.size());
  // every series forecast once per request, in some batch
  EXPECT_EQ(metric(c, "attend_serve_batch_series_sum{model=\"wide\"}") +
                metric(c, "attend_serve_batch_series_sum{model=\"long\"}"),
            series * static_cast<double>(1 + threads));
}

// A request queued while another is still being read waits for it (up to batch_wait_ms): the
// two are forecast in one batched call, each answered with its own forecast.
TEST(Serve, RequestsArrivingTogetherAreForecastInOneBatch) {
  ServerOptions o;
  o.batch_wait_ms = 1000;
  TestServer s(o);
  auto c = s.client();
  const Window a = wide_window(24, 3), b = wide_window(26, 11);
  HeldRequest held(s.port, request("wide", {a.series}).dump(), 10);
  ASSERT_TRUE(held.begin());
  ASSERT_TRUE(wait_in_flight(c, 1));
  Answer second;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread sender([&] {
    auto own = s.client();
    second = post(own, request("wide", {b.series}).dump());
  });
  ASSERT_TRUE(wait_in_flight(c, 2));
  const Answer first = held.finish();
  sender.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(second.status, 200) << second.body;
  expect_values(first.parsed()["forecasts"][0], loaded().wide.forecast(a.input), 7);
  expect_values(second.parsed()["forecasts"][0], loaded().wide.forecast(b.input), 7);
  EXPECT_EQ(metric(c, "attend_serve_batch_series_count{model=\"wide\"}"), 1);
  EXPECT_EQ(metric(c, "attend_serve_batch_series_sum{model=\"wide\"}"), 2);
  EXPECT_LT(seconds, 0.9);  // run when the second arrived, not at the deadline
}

// A request the library refuses (null values where the model's --missing is error) batched with
// a good one: the batched call fails, each runs alone, and only the bad one gets the error.
TEST(Serve, ABadRequestFailsAloneInItsBatch) {
  ServerOptions o;
  o.batch_wait_ms = 1000;
  TestServer s(o);
  auto c = s.client();
  Window bad = wide_window(24, 3);
  bad.series["values"][7][2] = nullptr;
  const Window good = wide_window(24, 9);
  HeldRequest held(s.port, request("wide", {good.series}).dump(), 10);
  ASSERT_TRUE(held.begin());
  ASSERT_TRUE(wait_in_flight(c, 1));
  Answer refused;
  std::thread sender([&] {
    auto own = s.client();
    refused = post(own, request("wide", {bad.series}).dump());
  });
  ASSERT_TRUE(wait_in_flight(c, 2));
  const Answer answered = held.finish();
  sender.join();
  ASSERT_EQ(answered.status, 200) << answered.body;
  expect_values(answered.parsed()["forecasts"][0], loaded().wide.forecast(good.input), 7);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.error().rfind("series[0]", 0), 0u) << refused.body;
  EXPECT_NE(refused.error().find("missing"), std::string::npos) << refused.body;
  EXPECT_EQ(metric(c, "attend_serve_batch_fallbacks_total{model=\"wide\"}"), 1);
  EXPECT_EQ(metric(c, "attend_serve_forecast_errors_total{model=\"wide\"}"), 1);
  EXPECT_EQ(post(c, request("wide", {good.series}).dump()).status, 200);
}

// A short load run: 16 keep-alive clients for about a second, no request failing.
TEST(Serve, LoadRun) {
  TestServer s;
  std::vector<std::string> bodies;
  for (size_t k = 0; k < 32; ++k)
    bodies.push_back(request("wide", {wide_window(24, k).series}).dump());
  std::atomic<int> ok{0}, failed{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t)
    clients.emplace_back([&, t] {
      auto c = s.client();
      for (size_t i = static_cast<size_t>(t); !done.load(); ++i)
        post(c, bodies[i % bodies.size()]).status == 200 ? ++ok : ++failed;
    });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  done.store(true);
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 16);
  auto c = s.client();
  const double batches = metric(c, "attend_serve_batch_series_count{model=\"wide\"}");
  std::printf("load run: %d requests in 1 s, %.0f batches\n", ok.load(), batches);
}

// stop(): no new connections; the requests already being read are answered.
TEST(Serve, StopAnswersTheRequestsInFlight) {
  TestServer s;
  httplib::Client c("127.0.0.1", s.port);  // no keep-alive: stop() waits for idle connections
  std::vector<std::unique_ptr<HeldRequest>> held;
  std::vector<Window> windows;
  for (size_t k = 0; k < 3; ++k) {
    windows.push_back(wide_window(24, 4 * k));
    held.push_back(
        std::make_unique<HeldRequest>(s.port, request("wide", {windows[k].series}).dump(), 5));
    ASSERT_TRUE(held.back()->begin());
  }
  ASSERT_TRUE(wait_in_flight(c, 3));
  std::thread stopper([&] { s.server->stop(); });
  // new connections are refused once the listening socket is closed
  bool refused = false;
  for (int i = 0; i < 400 && !refused; ++i) {
    httplib::Client fresh("127.0.0.1", s.port);
    fresh.set_connection_timeout(0, 200000);
    refused = !fresh.Get("/healthz");
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(refused);
  for (size_t k = 0; k < 3; ++k) {
    const Answer a = held[k]->finish();
    ASSERT_EQ(a.status, 200) << a.body;
    expect_values(a.parsed()["forecasts"][0], loaded().wide.forecast(windows[k].input), 7);
  }
  stopper.join();
}

// An idle keep-alive connection does not hold a stop up for --keep_alive_s: it is closed within
// a fraction of a second.
TEST(Serve, StopClosesIdleKeepAliveConnectionsAtOnce) {
  ServerOptions o;
  o.keep_alive_s = 30;
  TestServer s(o);
  RawConnection idle(s.port);
  const std::string body = request("wide", {wide_window(24).series}).dump();
  ASSERT_TRUE(idle.send(RawConnection::forecast_head(body.size()) + body));
  ASSERT_EQ(idle.answer().status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  s.server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(idle.answer().status, -1);  // closed
}

// Requests sent back to back on one connection, before any answer, are answered in order.
TEST(Serve, PipelinedRequestsAreAnsweredInOrder) {
  TestServer s;
  std::vector<Window> windows;
  std::string sent;
  for (size_t k = 0; k < 3; ++k) {
    windows.push_back(wide_window(24, 5 * k));
    const std::string body = request("wide", {windows[k].series}).dump();
    sent += RawConnection::forecast_head(body.size()) + body;
  }
  sent += "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  RawConnection c(s.port);
  ASSERT_TRUE(c.send(sent));
  for (size_t k = 0; k < 3; ++k) {
    const Answer a = c.answer();
    ASSERT_EQ(a.status, 200) << a.body;
    expect_values(a.parsed()["forecasts"][0], loaded().wide.forecast(windows[k].input), 7);
  }
  EXPECT_EQ(c.answer().parsed()["status"], "ok");
}

// Answers are not compressed, whatever the request accepts (httplib's brotli took ~11 ms a
// forecast answer).
TEST(Serve, AnswersAreNotCompressed) {
  TestServer s;
  auto c = s.client();
  const Window w = wide_window(24);
  for (const char* accepted : {"gzip", "br", "gzip, deflate, br"}) {
    auto res = c.Post("/v1/forecast", {{"Accept-Encoding", accepted}},
                      request("wide", {w.series}).dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_FALSE(res->has_header("Content-Encoding")) << accepted;
    expect_values(json::parse(res->body)["forecasts"][0], loaded().wide.forecast(w.input), 7);
  }
}

// A second server on a port in use fails (no SO_REUSEPORT sharing it).
TEST(Serve, APortInUseIsAnError) {
  TestServer s;
  ServerOptions o;
  o.port = s.port;
  cli::serve::Server second(named_models(), o);
  try {
    second.start();
    ADD_FAILURE() << "a second server started on port " << s.port;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:"), std::string::npos)
        << e.what();
  }
}

// A request answered before its body is looked at (415, 405) leaves the connection in step:
// the next request on it is answered as usual.
TEST(Serve, ErrorsLeaveTheConnectionInStep) {
  TestServer s;
  auto c = s.client();
  const std::string valid = request("wide", {wide_window(24).series}).dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(post(c, valid, "text/plain").status, 415);
    auto res = c.Post("/v1/models", valid, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
    res = c.Post("/nowhere", valid, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_EQ(post(c, valid).status, 200);
  }
  EXPECT_EQ(metric(c, "attend_serve_requests_total{endpoint=\"other\",status=\"414\"}"), -1);
  EXPECT_EQ(metric(c, "attend_serve_requests_total{endpoint=\"other\",status=\"404\"}"), 3);
}

}  // namespace
}  // namespace attend::testing::serve
