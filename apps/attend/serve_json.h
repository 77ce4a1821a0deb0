#pragma once
// `attend serve`'s JSON (docs/serving.md): a POST /v1/forecast body read into the public API's
// SeriesInputs, every field checked with a message naming it ("series[2].values: row 5 has 3
// numbers, the model reads 7 columns (...)"), and the forecasts written back. Only attend/attend.h
// from the library.
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "attend/attend.h"
#include "json_reader.h"

namespace attend::cli::serve {

// A request at fault: the HTTP status to answer (400, 404, 413, 415) and what is wrong, naming
// the field.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// How one series wrote its timestamps; its forecast's timestamps are written the same way.
struct TimeStyle {
  bool text = false;        // ISO text ("2020-01-01 00:00:00"), else integer seconds since 1970
  char separator = ' ';     // between date and time: ' ' or 'T'
  int fields = 3;           // 1: date only, 2: hours and minutes, 3: with seconds
  bool utc_suffix = false;  // a trailing 'Z'
};

// Seconds since 1970 UTC of "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" ('T' for
// the space, an optional 'Z'); nullopt when the text is none of those or not a real date.
std::optional<int64_t> parse_time(std::string_view text, TimeStyle* style = nullptr);
// The time as `style` writes it (date only: "YYYY-MM-DD" when the time is midnight, else with
// seconds).
std::string format_time(int64_t seconds, const TimeStyle& style);

struct RequestLimits {
  size_t max_series = 256;  // series in one request
  size_t max_rows = 10000;  // rows of one series
};

// How the answer writes its tables of numbers: JSON numbers, or base64 text of their float32
// (the request's "encoding").
enum class Encoding { Json, Base64 };

// A checked POST /v1/forecast body.
struct ForecastRequest {
  std::string model;
  std::vector<SeriesInput> series;  // as attend::Model::forecast reads them
  std::vector<bool> has_id;         // series[i] gave "id" (else the answer's id is null)
  std::vector<std::string> labels;  // "id" of wide-data models: echoed, not passed on
  std::vector<TimeStyle> styles;    // each series' timestamp style
  std::vector<size_t> quantiles;    // asked levels: indices into ModelInfo::quantiles
  Encoding encoding = Encoding::Json;
};

// The body as JSON (parsed in place: `body` must outlive the document); a 400 naming line and
// column when it is not JSON (NaN and Infinity are not).
JsonDocument parse_body(std::span<char> body);
// The body's "model" (a 400 when missing or not text).
std::string model_name(const JsonDocument& body);
// The whole body checked against the model: a 400 naming the field at fault.
ForecastRequest read_request(const JsonDocument& body, const ModelInfo& info,
                             const RequestLimits& limits);

// The answer to `request`: {"model", "forecasts": [{"id", "timestamps", "columns", "values",
// "quantiles"}]}, the tables as the request's encoding says.
std::string write_response(const ForecastRequest& request, const std::vector<Forecast>& forecasts,
                           const ModelInfo& info);
// {"error": message}
std::string error_body(const std::string& message);
// GET /v1/models: {"models": [{"name", "model", "seq_len", ...}]}
std::string models_body(const std::vector<std::pair<std::string, ModelInfo>>& models);

// The library's message about input i of a batch ("input 2 (series 'x'): ...") as the request
// names it ("series[2] (id 'x'): ..."); other messages unchanged.
std::string request_message(const std::string& library_message);

}  // namespace attend::cli::serve
