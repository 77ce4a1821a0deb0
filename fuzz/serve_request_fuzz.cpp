// Fuzzes `attend serve`'s request reading (apps/attend/json_reader.h, serve_json.h): the bytes as
// a POST /v1/forecast body, parsed by the strict JSON reader, checked against two model
// descriptions (wide: 3 columns, seq_len 4, pred_len 2, three quantile levels, a known-future
// column; long format: 1 column, two series ids), tables as JSON or as base64 of float32, and
// for a request that passes, the answer written for forecasts of the right shape (its numbers as
// the request's "encoding" says); and the bytes as base64 text: what decodes must encode back
// to text that decodes to the same bytes. The normal answer to a bad body is a RequestError (a
// 4xx); anything else is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "base64.h"
#include "serve_json.h"

using namespace attend;
using namespace attend::cli::serve;

namespace {

ModelInfo wide() {
  ModelInfo i;
  i.model = "PatchTST";
  i.seq_len = 4;
  i.label_len = 2;
  i.pred_len = 2;
  i.columns = {"a", "b", "c"};
  i.outputs = i.columns;
  i.known_columns = {"c"};
  i.quantiles = {0.1, 0.5, 0.9};
  return i;
}

ModelInfo long_format() {
  ModelInfo i;
  i.model = "DLinear";
  i.seq_len = 3;
  i.pred_len = 3;
  i.columns = {"y"};
  i.outputs = i.columns;
  i.series_ids = {"x", "y\xc3\xa9"};
  return i;
}

void check(const JsonDocument& doc, const ModelInfo& info) {
  RequestLimits limits;
  limits.max_series = 8;
  limits.max_rows = 64;
  try {
    const ForecastRequest r = read_request(doc, info, limits);
    std::vector<Forecast> f(r.series.size());
    for (size_t k = 0; k < f.size(); ++k) {
      const size_t P = static_cast<size_t>(info.pred_len), O = info.outputs.size();
      const int64_t last = std::min<int64_t>(r.series[k].timestamps.back(), INT64_MAX / 2);
      for (size_t t = 0; t < P; ++t)
        f[k].timestamps.push_back(last + 60 * static_cast<int64_t>(t + 1));
      f[k].values.assign(P * O, 1.5f);
      f[k].quantiles.assign(P * O * info.quantiles.size(), -0.25f);
    }
    (void)write_response(r, f, info);
  } catch (const RequestError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ModelInfo models[2] = {wide(), long_format()};
  std::string body(reinterpret_cast<const char*>(data), size);
  try {
    const JsonDocument doc = parse_body(body);
    for (const ModelInfo& info : models) check(doc, info);
  } catch (const RequestError&) {
  }
  (void)request_message(std::string(reinterpret_cast<const char*>(data), size));
  std::string bytes, back;
  if (decode_base64(std::string_view(reinterpret_cast<const char*>(data), size), bytes).empty()) {
    std::string text(base64_length(bytes.size()), '\0');
    write_base64(text.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    if (!decode_base64(text, back).empty() || back != bytes) __builtin_trap();
  }
  return 0;
}
