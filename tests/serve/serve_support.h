#pragma once
// What the serve tests share: tiny checkpoints trained once per test process through the public
// API (attend::train_model), request bodies built from data rows, an HTTP client, a raw socket
// that can hold a request half sent, and the /metrics figures.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "attend/attend.h"
#include "serve_json.h"
#include "server.h"
#include "support/command.h"
#include "support/paths.h"
#include "support/temp_dir.h"

namespace attend::testing::serve {

using json = nlohmann::json;

// Three checkpoints, trained in about a second through the public API (attend::train_model):
//   wide: PatchTST on ETTh1's first 300 rows, 7 columns, seq_len 24, pred_len 8, quantiles
//         0.1, 0.5, 0.9, --missing error (the default);
//   long: PatchTST on data/own/monthly.csv (3 series by unique_id), seq_len 24, pred_len 6,
//         --missing interpolate (null values are accepted);
//   law:  Transformer on data/own/seatbelts.csv, --features MS, known-future column law.
struct Checkpoints {
  std::string wide, long_format, law;
  std::string wide_csv;  // the rows the wide model was trained on
};

inline const Checkpoints& checkpoints() {
  static const Checkpoints c = [] {
    const std::string dir = fresh_temp_dir("serve");
    Checkpoints out;
    out.wide_csv = dir + "/etth1_head.csv";
    {
      std::ifstream in(data_path("ETTh1.csv"));
      std::ofstream csv(out.wide_csv);
      std::string line;
      for (int i = 0; i <= 300 && std::getline(in, line); ++i) csv << line << "\n";
    }
    const RunOptions tiny = {
        {"data", "custom"}, {"seq_len", "24"},     {"label_len", "12"},
        {"d_model", "8"},   {"n_heads", "2"},      {"e_layers", "1"},
        {"d_ff", "16"},     {"train_epochs", "1"}, {"checkpoints", dir + "/runs"}};
    TrainOptions how;
    how.threads = 1;
    auto train = [&](RunOptions options) {
      options.insert(options.end(), tiny.begin(), tiny.end());
      return train_model(options, how).checkpoint;
    };
    out.wide = train({{"model", "PatchTST"},
                      {"model_id", "wide"},
                      {"root_path", dir},
                      {"data_path", "etth1_head.csv"},
                      {"features", "M"},
                      {"pred_len", "8"},
                      {"patch_len", "8"},
                      {"quantiles", "0.1,0.5,0.9"}});
    out.long_format = train({{"model", "PatchTST"},
                             {"model_id", "long"},
                             {"root_path", data_path("own")},
                             {"data_path", "monthly.csv"},
                             {"target", "y"},
                             {"pred_len", "6"},
                             {"patch_len", "6"},
                             {"missing", "interpolate"}});
    out.law = train({{"model", "Transformer"},
                     {"model_id", "law"},
                     {"root_path", data_path("own")},
                     {"data_path", "seatbelts.csv"},
                     {"features", "MS"},
                     {"target", "drivers"},
                     {"pred_len", "6"},
                     {"d_layers", "1"},
                     {"known_columns", "law"}});
    return out;
  }();
  return c;
}

// The models, loaded once per process (copies share them). One worker thread each.
struct Loaded {
  Model wide, long_format, law;
};

inline const Loaded& loaded() {
  static const Loaded l{Model::load(checkpoints().wide, 1),
                        Model::load(checkpoints().long_format, 1),
                        Model::load(checkpoints().law, 1)};
  return l;
}

inline std::vector<cli::serve::NamedModel> named_models() {
  return {{"wide", loaded().wide}, {"long", loaded().long_format}, {"law", loaded().law}};
}

// A CSV's rows: the first column's text, the rest as columns (by header name).
struct Rows {
  std::vector<std::string> header, times, ids;
  std::vector<std::vector<std::string>> cells;  // all columns, as text
};

inline Rows read_rows(const std::string& path) {
  Rows r;
  std::ifstream in(path);
  std::string line;
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string cell; std::getline(ss, cell, ',');) out.push_back(cell);
    return out;
  };
  std::getline(in, line);
  r.header = split(line);
  while (std::getline(in, line)) r.cells.push_back(split(line));
  return r;
}

// One series of a request and the same input for Model::forecast.
struct Window {
  json series;
  SeriesInput input;
};

// The `length` rows of a wide CSV (time, then the model's columns) ending `back` rows before its
// end; times as the file's text or as seconds.
inline Window csv_window(const std::string& path, size_t length, size_t back = 0,
                         bool seconds = false) {
  const Rows rows = read_rows(path);
  Window w;
  const size_t end = rows.cells.size() - back;
  json times = json::array(), values = json::array();
  for (size_t r = end - length; r < end; ++r) {
    const auto& cells = rows.cells[r];
    const int64_t t = *cli::serve::parse_time(cells[0]);
    w.input.timestamps.push_back(t);
    json row = json::array();
    for (size_t c = 1; c < cells.size(); ++c) {
      const double v = std::stod(cells[c]);
      row.push_back(v);
      w.input.values.push_back(v);
    }
    seconds ? times.push_back(t) : times.push_back(cells[0]);
    values.push_back(row);
  }
  w.series = {{"timestamps", times}, {"values", values}};
  return w;
}

// A window of the rows the wide model was trained on.
inline Window wide_window(size_t length, size_t back = 0, bool seconds = false) {
  return csv_window(checkpoints().wide_csv, length, back, seconds);
}

// The last `length` rows of series `id` of data/own/monthly.csv (unique_id, ds, y).
inline Window long_window(const std::string& id, size_t length) {
  static const Rows rows = read_rows(data_path("own/monthly.csv"));
  std::vector<const std::vector<std::string>*> mine;
  for (const auto& cells : rows.cells)
    if (cells[0] == id) mine.push_back(&cells);
  Window w;
  json times = json::array(), values = json::array();
  for (size_t r = mine.size() - length; r < mine.size(); ++r) {
    const auto& cells = *mine[r];
    w.input.timestamps.push_back(*cli::serve::parse_time(cells[1]));
    w.input.values.push_back(std::stod(cells[2]));
    times.push_back(cells[1]);
    values.push_back({std::stod(cells[2])});
  }
  w.input.id = id;
  w.series = {{"id", id}, {"timestamps", times}, {"values", values}};
  return w;
}

inline json request(const std::string& model, const std::vector<json>& series) {
  return {{"model", model}, {"series", series}};
}

// A server on a free loopback port for the test's duration.
struct TestServer {
  explicit TestServer(cli::serve::ServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    server = std::make_unique<cli::serve::Server>(named_models(), o);
    port = server->start();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_keep_alive(true);
    c.set_tcp_nodelay(true);  // else the body waits for the ACK of the headers (up to 40 ms)
    c.set_read_timeout(30, 0);
    return c;
  }
  std::unique_ptr<cli::serve::Server> server;
  int port = 0;
};

struct Answer {
  int status = -1;  // -1: no answer (connection failed)
  std::string body;
  json parsed() const { return json::parse(body); }
  std::string error() const {
    const json j = json::parse(body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "";
  }
};

inline Answer post(httplib::Client& c, const std::string& body,
                   const std::string& type = "application/json") {
  auto res = c.Post("/v1/forecast", body, type.c_str());
  return res ? Answer{res->status, res->body} : Answer{};
}

inline Answer get(httplib::Client& c, const std::string& path) {
  auto res = c.Get(path.c_str());
  return res ? Answer{res->status, res->body} : Answer{};
}

// The value of a /metrics line "<name> <value>" (the first whose name part matches), -1 if none.
inline double metric(httplib::Client& c, const std::string& name) {
  const std::string text = get(c, "/metrics").body;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return -1;
}

// Waits (up to 10 s) until the gauge of forecast requests in flight reads `n`.
inline bool wait_in_flight(httplib::Client& c, double n) {
  for (int i = 0; i < 2000; ++i) {
    if (metric(c, "attend_serve_forecasts_in_flight") == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// A connection written by hand: raw bytes out, answers read one at a time (what follows an
// answer is kept for the next).
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // The headers of a POST /v1/forecast with a JSON body of `size` bytes.
  static std::string forecast_head(size_t size) {
    return "POST /v1/forecast HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(size) + "\r\n\r\n";
  }

  bool send(const std::string& s) {
    if (!connected_) return false;
    for (size_t off = 0; off < s.size();) {
      const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // The next answer's status line and headers only (an interim answer, 100 Continue, has no
  // body); status -1 when the connection closes first.
  Answer answer_without_length() {
    char buf[4096];
    for (size_t head_end; (head_end = in_.find("\r\n\r\n")) == std::string::npos;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return {};
      in_.append(buf, static_cast<size_t>(n));
    }
    Answer a{std::stoi(in_.substr(9, 3)), ""};
    in_.erase(0, in_.find("\r\n\r\n") + 4);
    return a;
  }

  // The next answer (its status and the body its Content-Length announces); status -1 when the
  // connection closes first.
  Answer answer() {
    char buf[4096];
    for (;;) {
      const size_t head_end = in_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t cl = in_.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) {
          const size_t length = std::stoul(in_.substr(cl + 16));
          if (in_.size() >= head_end + 4 + length) {
            Answer a{std::stoi(in_.substr(9, 3)), in_.substr(head_end + 4, length)};
            in_.erase(0, head_end + 4 + length);
            return a;
          }
        }
      }
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return {};
      in_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string in_;  // received, not yet answered
};

// A POST /v1/forecast written by hand on its own connection: `begin` sends the headers and the
// body but its last `held` bytes, `finish` the rest and reads the answer.
class HeldRequest {
 public:
  HeldRequest(int port, std::string body, size_t held)
      : connection_(port), body_(std::move(body)), held_(held) {}
  bool begin() {
    return connection_.send(RawConnection::forecast_head(body_.size()) +
                            body_.substr(0, body_.size() - held_));
  }
  Answer finish() {
    if (!connection_.send(body_.substr(body_.size() - held_))) return {};
    return connection_.answer();
  }

 private:
  RawConnection connection_;
  std::string body_;
  size_t held_;
};

}  // namespace attend::testing::serve
