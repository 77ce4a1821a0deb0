// Load generator for `attend serve` (docs/serving.md, "Benchmarks"; figures in docs/benchmarks.md).
// Every request is one series (batch 1): the last seq_len rows before a different row of a wide
// CSV (the model's columns after the time column, as ETTh1.csv).
//
//   serve_load offline  --checkpoint DIR --data CSV [--threads N] [--seconds S] [--batch 32]
//       Model::forecast in this process: batch-1 latency and batch-B throughput (windows/s).
//   serve_load load     --port P --model NAME --data CSV [--clients 1,8,64] [--seconds S]
//       [--pid SERVER_PID]: C keep-alive clients, each sending its next request when the last
//       is answered: throughput, p50/p99 latency, failures; one line per client count (with
//       --pid, also the server's and this process's CPU time per request).
//   serve_load overhead --port P --model NAME --checkpoint DIR --data CSV [--threads N]
//       [--requests R] [--pid SERVER_PID]: one client; each request is followed by
//       Model::forecast of the same input in this process: the median of each and of their
//       difference (what serving over HTTP adds); with --pid, also the server's CPU time per
//       request (its threads' /proc/PID/task/*/schedstat) less this process's Model::forecast
//       CPU time: the server's own work, which other load on the machine hardly changes.
//   serve_load ping     --port P [--requests R] [--pid SERVER_PID]: one client, GET /healthz R
//       times: the latency of a request without JSON or forecast (httplib's request and answer,
//       the loopback TCP and the wake-ups: the floor under the overhead), with --pid the server's
//       CPU time per request.
//   serve_load soak     --port P --model NAME --data CSV --pid SERVER_PID [--clients C]
//       [--seconds S]: load for S seconds, the server's RSS sampled every second.
//   serve_load ratio    --port P --model NAME --checkpoint DIR --data CSV [--threads N]
//       [--clients 64] [--batch 32] [--seconds S] [--rounds R]: R rounds of S seconds of offline
//       batch-B Model::forecast (windows/s) then S seconds of load (requests/s), interleaved so
//       that a slow spell of a shared machine hits both; each round's ratio and their median.
//   serve_load abuse    --port P --model NAME --data CSV [--requests R]
//       R malformed requests of 16 kinds in turn: every one must be answered 4xx, and a valid
//       request 200 afterwards.
// load, overhead, ratio and soak also take --encoding json|base64 (default json): the values as
// JSON numbers, or as base64 of their float32 with the answer asked in base64 ("encoding").
// Every mode but offline also takes --client raw|httplib (default raw): the HTTP client. raw is
// this file's own keep-alive HTTP/1.1 client (a request in one writev, its answer read by
// Content-Length: one send and one or two recvs), so that the latencies are the server's and the
// loopback's; httplib is cpp-httplib's client, which costs ~20 system calls a request itself.
// Exit status 1 when a check fails (a failed request in load or soak, an abuse request not
// answered 4xx).
// Built with the benchmarks (ATTEND_BUILD_BENCH); uses only the public API, attend/attend.h (and
// the server's base64 writer, apps/attend/base64.h).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "attend/attend.h"
#include "base64.h"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Args {
  std::map<std::string, std::string> values;
  std::string get(const std::string& name, const std::string& fallback = "") const {
    const auto it = values.find(name);
    if (it != values.end()) return it->second;
    if (fallback.empty()) throw std::runtime_error("--" + name + " is required");
    return fallback;
  }
  double number(const std::string& name, const std::string& fallback = "") const {
    return std::stod(get(name, fallback));
  }
};

// A wide CSV: the time column's text and the other columns' values.
struct Csv {
  std::vector<std::string> header, times;
  std::vector<std::vector<double>> rows;
};

Csv read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  Csv csv;
  std::string line;
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string cell;
    while (std::getline(ss, cell, ',')) out.push_back(cell);
    return out;
  };
  std::getline(in, line);
  csv.header = split(line);
  while (std::getline(in, line)) {
    const auto cells = split(line);
    csv.times.push_back(cells.at(0));
    std::vector<double>& row = csv.rows.emplace_back();
    for (size_t c = 1; c < cells.size(); ++c) row.push_back(std::stod(cells[c]));
  }
  return csv;
}

// Window k: the seq_len rows ending `k * 7 + 1` rows before the file's end.
struct Windows {
  std::vector<std::string> bodies;          // POST /v1/forecast bodies
  std::vector<attend::SeriesInput> inputs;  // the same windows for Model::forecast
};

int64_t seconds_of(const std::string& text) {
  // "YYYY-MM-DD HH:MM:SS" as UTC seconds (days from civil, H. Hinnant's algorithm)
  int y = std::stoi(text.substr(0, 4)), m = std::stoi(text.substr(5, 2)),
      d = std::stoi(text.substr(8, 2));
  const int hh = text.size() >= 13 ? std::stoi(text.substr(11, 2)) : 0;
  const int mm = text.size() >= 16 ? std::stoi(text.substr(14, 2)) : 0;
  const int ss = text.size() >= 19 ? std::stoi(text.substr(17, 2)) : 0;
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t(era) * 146097 + int64_t(doe) - 719468;
  return days * 86400 + hh * 3600 + mm * 60 + ss;
}

// With `base64`, the values are sent as base64 of their float32 and the answer asked in base64
// ("encoding": "base64"); the inputs for Model::forecast are then the float32 values too.
Windows make_windows(const Csv& csv, const std::string& model, int64_t seq_len, size_t count,
                     bool base64 = false) {
  Windows w;
  const size_t L = static_cast<size_t>(seq_len);
  for (size_t k = 0; k < count; ++k) {
    const size_t end = csv.rows.size() - 1 - k * 7;
    if (end < L) break;
    attend::SeriesInput& in = w.inputs.emplace_back();
    for (size_t r = end - L; r < end; ++r) {
      in.timestamps.push_back(seconds_of(csv.times[r]));
      in.values.insert(in.values.end(), csv.rows[r].begin(), csv.rows[r].end());
    }
    json series;
    series["timestamps"] =
        std::vector<std::string>(csv.times.begin() + (end - L), csv.times.begin() + end);
    json body = {{"model", model}};
    if (base64) {
      const std::vector<float> f(in.values.begin(), in.values.end());
      in.values.assign(f.begin(), f.end());
      std::string text(attend::cli::serve::base64_length(f.size() * sizeof(float)), '\0');
      attend::cli::serve::write_base64(
          text.data(), reinterpret_cast<const unsigned char*>(f.data()), f.size() * sizeof(float));
      series["values"] = text;
      body["encoding"] = "base64";
    } else {
      series["values"] =
          std::vector<std::vector<double>>(csv.rows.begin() + (end - L), csv.rows.begin() + end);
    }
    body["series"] = {series};
    w.bodies.push_back(body.dump());
  }
  return w;
}

bool base64_of(const Args& a) {
  const std::string e = a.get("encoding", "json");
  if (e != "json" && e != "base64")
    throw std::runtime_error("--encoding: json or base64, got " + e);
  return e == "base64";
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// An answer: its status (-1 when none came: `error` says why) and body.
struct Reply {
  int status = -1;
  std::string body, error;
};

// A keep-alive HTTP/1.1 connection to the server.
class Client {
 public:
  virtual ~Client() = default;
  virtual Reply request(const std::string& method, const std::string& path,
                        const std::string& body = "",
                        const std::string& type = "application/json") = 0;
};

// cpp-httplib's client (keep-alive, TCP_NODELAY).
class HttplibClient final : public Client {
 public:
  HttplibClient(const std::string& host, int port) : c_(host, port) {
    c_.set_keep_alive(true);
    c_.set_tcp_nodelay(true);
    c_.set_read_timeout(30, 0);
  }
  Reply request(const std::string& method, const std::string& path, const std::string& body,
                const std::string& type) override {
    auto res = method == "GET" ? c_.Get(path.c_str()) : c_.Post(path.c_str(), body, type.c_str());
    if (!res) return {-1, "", httplib::to_string(res.error())};
    return {res->status, res->body, ""};
  }

 private:
  httplib::Client c_;
};

// This benchmark's own client: the request line, headers and body in one writev; the answer read
// by its Content-Length into a buffer kept for the connection. Reconnects after a
// "Connection: close" or a failure.
class RawClient final : public Client {
 public:
  RawClient(const std::string& host, int port) : host_(host), port_(port) {}
  ~RawClient() override { disconnect(); }

  Reply request(const std::string& method, const std::string& path, const std::string& body,
                const std::string& type) override {
    if (fd_ < 0 && !connect()) return {-1, "", "connect: " + std::string(std::strerror(errno))};
    std::string head = fmt::format("{} {} HTTP/1.1\r\nHost: {}:{}\r\n", method, path, host_, port_);
    if (method != "GET")
      head += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", type, body.size());
    head += "\r\n";
    if (!send_all(head, method != "GET" ? body : std::string_view())) return failed("send");
    // the headers, then the body their Content-Length announces
    size_t head_end;
    while ((head_end = in_.find("\r\n\r\n")) == std::string::npos)
      if (!receive()) return failed("recv");
    Reply r;
    const std::string_view headers(in_.data(), head_end + 4);
    if (headers.size() < 12 || headers.substr(0, 5) != "HTTP/") return failed("not HTTP");
    r.status = std::atoi(in_.c_str() + 9);
    const size_t length = header_number(headers, "content-length:");
    const bool close = headers.find("Connection: close") != std::string_view::npos;
    while (in_.size() < head_end + 4 + length)
      if (!receive()) return failed("recv");
    r.body = in_.substr(head_end + 4, length);
    in_.erase(0, head_end + 4 + length);
    if (close) disconnect();
    return r;
  }

 private:
  bool connect() {
    addrinfo hints{}, *found = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &found) != 0)
      return false;
    fd_ = ::socket(found->ai_family, SOCK_STREAM, 0);
    const bool ok = fd_ >= 0 && ::connect(fd_, found->ai_addr, found->ai_addrlen) == 0;
    ::freeaddrinfo(found);
    if (!ok) {
      disconnect();
      return false;
    }
    int yes = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    timeval timeout{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return true;
  }
  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    in_.clear();
  }
  Reply failed(const std::string& what) {
    Reply r{-1, "", what + ": " + (errno ? std::strerror(errno) : "connection closed")};
    disconnect();
    return r;
  }
  bool send_all(std::string_view a, std::string_view b) {
    iovec parts[2] = {{const_cast<char*>(a.data()), a.size()},
                      {const_cast<char*>(b.data()), b.size()}};
    iovec* part = parts;
    int count = b.empty() ? 1 : 2;
    while (count > 0) {
      msghdr m{};
      m.msg_iov = part;
      m.msg_iovlen = static_cast<size_t>(count);
      ssize_t sent = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
      if (sent <= 0) return false;
      for (; count > 0 && static_cast<size_t>(sent) >= part->iov_len; ++part, --count)
        sent -= static_cast<ssize_t>(part->iov_len);
      if (count > 0) {
        part->iov_base = static_cast<char*>(part->iov_base) + sent;
        part->iov_len -= static_cast<size_t>(sent);
      }
    }
    return true;
  }
  bool receive() {
    char buf[65536];
    errno = 0;
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  // The value of a numeric header (`name` lower case, with its colon), 0 when absent.
  static size_t header_number(std::string_view headers, std::string_view name) {
    for (size_t at = headers.find("\r\n"); at != std::string_view::npos;
         at = headers.find("\r\n", at + 2)) {
      const std::string_view line = headers.substr(at + 2, name.size());
      if (line.size() == name.size() &&
          std::equal(line.begin(), line.end(), name.begin(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) == y;
          }))
        return std::strtoull(headers.data() + at + 2 + name.size(), nullptr, 10);
    }
    return 0;
  }

  std::string host_;
  int port_;
  int fd_ = -1;
  std::string in_;  // received, not yet read
};

std::unique_ptr<Client> client_of(const Args& a) {
  const std::string host = a.get("host", "127.0.0.1"), kind = a.get("client", "raw");
  const int port = static_cast<int>(a.number("port"));
  if (kind == "raw") return std::make_unique<RawClient>(host, port);
  if (kind == "httplib") return std::make_unique<HttplibClient>(host, port);
  throw std::runtime_error("--client: raw or httplib, got " + kind);
}

Reply post(Client& c, const std::string& body) {
  return c.request("POST", "/v1/forecast", body);
}

// GET /v1/models: the model's seq_len.
int64_t served_seq_len(Client& client, const std::string& model) {
  const Reply res = client.request("GET", "/v1/models");
  if (res.status != 200) throw std::runtime_error("GET /v1/models failed: " + res.error);
  const json models = json::parse(res.body);
  for (const json& m : models["models"])
    if (m["name"] == model) return m["seq_len"].get<int64_t>();
  throw std::runtime_error("the server has no model " + model);
}

Windows windows_for_server(const Args& a, size_t count) {
  auto c = client_of(a);
  const std::string model = a.get("model");
  return make_windows(read_csv(a.get("data")), model, served_seq_len(*c, model), count,
                      base64_of(a));
}

int offline(const Args& a) {
  const int threads = static_cast<int>(a.number("threads", "0"));
  const attend::Model model = attend::Model::load(a.get("checkpoint"), threads);
  const size_t B = static_cast<size_t>(a.number("batch", "32"));
  const double seconds = a.number("seconds", "5");
  const Windows w = make_windows(read_csv(a.get("data")), "", model.info().seq_len, 256);
  std::vector<attend::SeriesInput> batch;
  for (size_t i = 0; i < B; ++i) batch.push_back(w.inputs[i % w.inputs.size()]);
  for (int i = 0; i < 3; ++i) (void)model.forecast(batch);  // warm-up
  std::vector<double> one, many;
  size_t windows = 0;
  double busy = 0;
  const Clock::time_point stop = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double>(seconds));
  for (size_t i = 0; Clock::now() < stop; ++i) {
    auto t0 = Clock::now();
    (void)model.forecast(w.inputs[i % w.inputs.size()]);
    auto t1 = Clock::now();
    (void)model.forecast(batch);
    auto t2 = Clock::now();
    one.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    many.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    windows += B;
    busy += many.back();
  }
  fmt::print(
      "offline {}: threads {}; batch 1: p50 {:.1f} us ({:.0f} windows/s); batch {}: p50 {:.1f} us, "
      "{:.0f} windows/s\n",
      model.info().model, threads, percentile(one, 0.5), 1e6 / percentile(one, 0.5), B,
      percentile(many, 0.5), static_cast<double>(windows) / busy * 1e6);
  return 0;
}

// CPU time of all threads of process `pid` so far, in ns (their /proc/PID/task/*/schedstat).
double process_cpu_ns(const std::string& pid) {
  double ns = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + pid + "/task")) {
    std::ifstream in(task.path() / "schedstat");
    double on_cpu = 0;
    if (in >> on_cpu) ns += on_cpu;
  }
  return ns;
}

struct LoadResult {
  size_t requests = 0, failures = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
  double server_cpu_s = -1, client_cpu_s = -1;  // CPU time while measuring (-1: not measured)
};

// `clients` threads, each with its own keep-alive connection, for `seconds` after a warm-up.
LoadResult run_load(const Args& a, const Windows& w, int clients, double seconds,
                    const std::function<void()>& each_second = {}) {
  std::atomic<bool> measuring{false}, done{false};
  std::vector<LoadResult> per(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto client = client_of(a);
      LoadResult& r = per[static_cast<size_t>(c)];
      for (size_t i = static_cast<size_t>(c) * 13; !done.load(); ++i) {
        const std::string& body = w.bodies[i % w.bodies.size()];
        const auto t0 = Clock::now();
        const Reply res = post(*client, body);
        const auto t1 = Clock::now();
        if (!measuring.load()) continue;
        ++r.requests;
        if (res.status != 200) {
          if (r.failures++ < 3)
            fmt::print(stderr, "failed: {}\n",
                       res.status < 0 ? res.error : fmt::format("{} {}", res.status, res.body));
          continue;
        }
        r.latencies_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // connections made, warm
  const std::string pid = a.get("pid", "-");
  const double server0 = pid != "-" ? process_cpu_ns(pid) : 0, client0 = process_cpu_ns("self");
  measuring.store(true);
  const auto t0 = Clock::now();
  for (int s = 0; s < static_cast<int>(std::ceil(seconds)); ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (each_second) each_second();
  }
  measuring.store(false);
  const auto t1 = Clock::now();
  LoadResult total;
  if (pid != "-") total.server_cpu_s = (process_cpu_ns(pid) - server0) / 1e9;
  total.client_cpu_s = (process_cpu_ns("self") - client0) / 1e9;
  done.store(true);
  for (auto& t : threads) t.join();
  total.seconds = std::chrono::duration<double>(t1 - t0).count();
  for (LoadResult& r : per) {
    total.requests += r.requests;
    total.failures += r.failures;
    total.latencies_us.insert(total.latencies_us.end(), r.latencies_us.begin(),
                              r.latencies_us.end());
  }
  return total;
}

void print_load(int clients, const LoadResult& r) {
  const double p50 = percentile(r.latencies_us, 0.5), p99 = percentile(r.latencies_us, 0.99);
  fmt::print(
      "clients {:3}: {:7} requests in {:.1f} s, {:8.1f} req/s, p50 {:8.1f} us, p99 {:8.1f} us "
      "(p99/p50 {:.2f}), failed {}\n",
      clients, r.requests, r.seconds, static_cast<double>(r.requests) / r.seconds, p50, p99,
      p99 / p50, r.failures);
  if (r.server_cpu_s >= 0)
    fmt::print("             CPU per request: server {:.1f} us, load generator {:.1f} us\n",
               r.server_cpu_s / static_cast<double>(r.requests) * 1e6,
               r.client_cpu_s / static_cast<double>(r.requests) * 1e6);
  std::fflush(stdout);
}

int load(const Args& a) {
  const Windows w = windows_for_server(a, 256);
  const double seconds = a.number("seconds", "10");
  bool ok = true;
  std::stringstream list(a.get("clients", "1,8,64"));
  for (std::string c; std::getline(list, c, ',');) {
    const LoadResult r = run_load(a, w, std::stoi(c), seconds);
    print_load(std::stoi(c), r);
    ok = ok && r.failures == 0;
  }
  return ok ? 0 : 1;
}

int ratio(const Args& a) {
  const Windows w = windows_for_server(a, 256);
  const attend::Model model =
      attend::Model::load(a.get("checkpoint"), static_cast<int>(a.number("threads", "0")));
  const size_t B = static_cast<size_t>(a.number("batch", "32"));
  const int clients = static_cast<int>(a.number("clients", "64"));
  const double seconds = a.number("seconds", "5");
  std::vector<attend::SeriesInput> batch;
  for (size_t i = 0; i < B; ++i) batch.push_back(w.inputs[i % w.inputs.size()]);
  (void)model.forecast(batch);  // warm-up
  std::vector<double> ratios;
  bool ok = true;
  for (int r = 0; r < static_cast<int>(a.number("rounds", "3")); ++r) {
    size_t windows = 0;
    const auto t0 = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
      (void)model.forecast(batch);
      windows += B;
    }
    const double offline =
        static_cast<double>(windows) / std::chrono::duration<double>(Clock::now() - t0).count();
    const LoadResult l = run_load(a, w, clients, seconds);
    const double served = static_cast<double>(l.requests) / l.seconds;
    ratios.push_back(served / offline);
    ok = ok && l.failures == 0;
    fmt::print(
        "round {}: offline batch {} {:.1f} windows/s; {} clients {:.1f} req/s (failed {}); "
        "ratio {:.2f}\n",
        r + 1, B, offline, clients, served, l.failures, ratios.back());
    std::fflush(stdout);
  }
  fmt::print("ratio of {} clients' requests/s to offline batch-{} windows/s: median {:.2f} of {}\n",
             clients, B, percentile(ratios, 0.5), ratios.size());
  return ok ? 0 : 1;
}

double thread_cpu_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

int overhead(const Args& a) {
  const Windows w = windows_for_server(a, 256);
  const attend::Model model =
      attend::Model::load(a.get("checkpoint"), static_cast<int>(a.number("threads", "0")));
  auto client = client_of(a);
  const size_t n = static_cast<size_t>(a.number("requests", "2000"));
  const std::string pid = a.get("pid", "-");
  std::vector<double> http, direct, diff;
  double server_ns = 0, forecast_ns = 0;
  for (size_t i = 0; i < n + 100; ++i) {
    if (i == 100 && pid != "-") server_ns = -process_cpu_ns(pid);  // after the warm-up
    const size_t k = i % w.bodies.size();
    const auto t0 = Clock::now();
    const Reply res = post(*client, w.bodies[k]);
    const auto t1 = Clock::now();
    const double cpu0 = thread_cpu_ns();
    (void)model.forecast(w.inputs[k]);
    const auto t2 = Clock::now();
    if (i >= 100) forecast_ns += thread_cpu_ns() - cpu0;
    if (res.status != 200) throw std::runtime_error("a request failed: " + res.error);
    if (i < 100) continue;  // warm-up
    http.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    direct.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    diff.push_back(http.back() - direct.back());
  }
  if (pid != "-") server_ns += process_cpu_ns(pid);
  fmt::print(
      "overhead ({} requests, 1 client, {} client, {}): request p50 {:.1f} us, Model::forecast p50 "
      "{:.1f} us, difference p50 {:.1f} us (p10 {:.1f}, p90 {:.1f})\n",
      n, a.get("client", "raw"), a.get("encoding", "json"), percentile(http, 0.5),
      percentile(direct, 0.5), percentile(diff, 0.5), percentile(diff, 0.1), percentile(diff, 0.9));
  if (pid != "-") {
    const double per = server_ns / static_cast<double>(n) / 1e3,
                 forecast = forecast_ns / static_cast<double>(n) / 1e3;
    fmt::print(
        "server CPU per request {:.1f} us, Model::forecast CPU here {:.1f} us: the server's own "
        "work {:.1f} us\n",
        per, forecast, per - forecast);
  }
  return 0;
}

int ping(const Args& a) {
  auto client = client_of(a);
  const size_t n = static_cast<size_t>(a.number("requests", "2000"));
  const std::string pid = a.get("pid", "-");
  std::vector<double> latency;
  double server_ns = 0;
  for (size_t i = 0; i < n + 100; ++i) {
    if (i == 100 && pid != "-") server_ns = -process_cpu_ns(pid);  // after the warm-up
    const auto t0 = Clock::now();
    const Reply res = client->request("GET", "/healthz");
    const auto t1 = Clock::now();
    if (res.status != 200) throw std::runtime_error("GET /healthz failed: " + res.error);
    if (i >= 100) latency.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  fmt::print(
      "ping ({} GET /healthz, 1 client, {} client): p50 {:.1f} us (p10 {:.1f}, p90 {:.1f})\n", n,
      a.get("client", "raw"), percentile(latency, 0.5), percentile(latency, 0.1),
      percentile(latency, 0.9));
  if (pid != "-")
    fmt::print("server CPU per request {:.1f} us\n",
               (server_ns + process_cpu_ns(pid)) / static_cast<double>(n) / 1e3);
  return 0;
}

// VmRSS of a process, in MiB.
double rss_mib(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return NAN;
}

int soak(const Args& a) {
  const Windows w = windows_for_server(a, 256);
  const std::string pid = a.get("pid");
  const int clients = static_cast<int>(a.number("clients", "64"));
  std::vector<double> rss;
  const LoadResult r =
      run_load(a, w, clients, a.number("seconds", "60"), [&] { rss.push_back(rss_mib(pid)); });
  print_load(clients, r);
  const size_t tenth = std::max<size_t>(1, rss.size() / 10);
  double first = 0, last = 0;
  for (size_t i = 0; i < tenth; ++i) {
    first += rss[i] / static_cast<double>(tenth);
    last += rss[rss.size() - 1 - i] / static_cast<double>(tenth);
  }
  fmt::print(
      "server RSS (MiB, {} samples, 1 s apart): min {:.1f}, max {:.1f}; first tenth {:.1f}, "
      "last tenth {:.1f}\n",
      rss.size(), *std::min_element(rss.begin(), rss.end()),
      *std::max_element(rss.begin(), rss.end()), first, last);
  std::string every;  // every tenth sample: the trend
  for (size_t i = 0; i < rss.size(); i += tenth) every += fmt::format(" {:.1f}", rss[i]);
  fmt::print("server RSS every {} s:{}\n", tenth, every);
  return r.failures == 0 ? 0 : 1;
}

// A malformed version of `body` (a valid one-series request), by kind.
struct Malformed {
  std::string name, body, content_type = "application/json", method = "POST", path = "/v1/forecast";
};

std::vector<Malformed> malformed(const std::string& valid, const std::string& model) {
  json v = json::parse(valid);
  std::vector<Malformed> m;
  auto edit = [&](const std::string& name, const std::function<void(json&)>& f) {
    json c = v;
    f(c);
    m.push_back({name, c.dump()});
  };
  m.push_back({"truncated JSON", valid.substr(0, valid.size() / 2)});
  m.push_back({"NaN text", std::string(valid).replace(valid.find("[[") + 2, 0, "NaN,")});
  m.push_back({"empty body", ""});
  m.push_back({"not an object", "[1,2,3]"});
  edit("unknown model", [&](json& c) { c["model"] = model + "_nope"; });
  edit("missing series", [](json& c) { c.erase("series"); });
  edit("wrong type", [](json& c) { c["series"][0]["values"] = "many"; });
  edit("wrong row length", [](json& c) { c["series"][0]["values"][5].push_back(1.0); });
  edit("too few rows", [](json& c) {
    c["series"][0]["values"].erase(0);
    c["series"][0]["timestamps"].erase(0);
  });
  edit("unknown quantile", [](json& c) { c["quantiles"] = {0.123}; });
  edit("unknown field", [](json& c) { c["seires"] = 1; });
  edit("bad timestamp", [](json& c) { c["series"][0]["timestamps"][3] = "2020-13-45"; });
  edit("decreasing timestamps", [](json& c) {
    std::swap(c["series"][0]["timestamps"][3], c["series"][0]["timestamps"][4]);
  });
  edit("string value", [](json& c) { c["series"][0]["values"][2][0] = "1.5"; });
  Malformed wrong_type{"wrong content type", valid};
  wrong_type.content_type = "text/plain";
  m.push_back(wrong_type);
  Malformed wrong_method{"wrong method", ""};
  wrong_method.method = "GET";
  m.push_back(wrong_method);
  return m;
}

int abuse(const Args& a) {
  const Windows w = windows_for_server(a, 1);
  const std::vector<Malformed> kinds = malformed(w.bodies.front(), a.get("model"));
  auto client = client_of(a);
  const size_t n = static_cast<size_t>(a.number("requests", "10000"));
  std::map<std::string, std::map<int, size_t>> answers;  // kind -> status -> count
  size_t bad = 0;
  const auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    const Malformed& k = kinds[i % kinds.size()];
    const int status = client->request(k.method, k.path, k.body, k.content_type).status;
    ++answers[k.name][status];
    if (status < 400 || status >= 500) {
      if (bad++ < 5) fmt::print(stderr, "{}: answered {}\n", k.name, status);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const auto& [name, statuses] : answers) {
    std::string s;
    for (const auto& [status, count] : statuses) s += fmt::format(" {} x{}", status, count);
    fmt::print("  {:<22}{}\n", name, s);
  }
  const bool serving = post(*client, w.bodies.front()).status == 200;
  fmt::print(
      "abuse: {} malformed requests in {:.1f} s, {} not answered 4xx; a valid request "
      "afterwards: {}\n",
      n, seconds, bad, serving ? "200" : "FAILED");
  return bad == 0 && serving ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2)
      throw std::runtime_error("usage: serve_load offline|load|overhead|ping|ratio|soak|abuse ...");
    const std::string mode = argv[1];
    Args a;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string key = argv[i];
      if (key.rfind("--", 0) != 0) throw std::runtime_error("expected --name value: " + key);
      a.values[key.substr(2)] = argv[i + 1];
    }
    if (mode == "offline") return offline(a);
    if (mode == "load") return load(a);
    if (mode == "overhead") return overhead(a);
    if (mode == "soak") return soak(a);
    if (mode == "ping") return ping(a);
    if (mode == "abuse") return abuse(a);
    if (mode == "ratio") return ratio(a);
    throw std::runtime_error("unknown mode " + mode);
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
