#include "server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

namespace attend::cli::serve {

namespace {

using Clock = std::chrono::steady_clock;

const char* const kJson = "application/json";

// The endpoints and the methods each answers; anything else is a 404 or a 405.
struct Endpoint {
  const char* path;
  const char* methods;  // for the Allow header
};
const Endpoint kEndpoints[] = {{"/v1/forecast", "POST"},
                               {"/v1/models", "GET, HEAD"},
                               {"/healthz", "GET, HEAD"},
                               {"/metrics", "GET, HEAD"}};

const Endpoint* find_endpoint(const std::string& path) {
  for (const Endpoint& e : kEndpoints)
    if (path == e.path) return &e;
  return nullptr;
}

// A Prometheus histogram: counts per upper bound (cumulated when written), sum and count.
struct Histogram {
  explicit Histogram(std::vector<double> bounds)
      : bounds(std::move(bounds)), counts(this->bounds.size() + 1) {}
  void observe(double v) {
    ++counts[std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin()];
    sum += v;
    ++count;
  }
  void write(fmt::memory_buffer& out, const std::string& name, const std::string& labels) const {
    uint64_t cumulated = 0;
    for (size_t b = 0; b <= bounds.size(); ++b) {
      cumulated += counts[b];
      const std::string le = b < bounds.size() ? fmt::format("{}", bounds[b]) : "+Inf";
      fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, le,
                     cumulated);
    }
    fmt::format_to(std::back_inserter(out), "{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name, labels,
                   sum, name, labels, count);
  }
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
  uint64_t count = 0;
};

const std::vector<double> kLatencyBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

// What GET /metrics reports. One mutex: a few increments per request.
class Metrics {
 public:
  explicit Metrics(size_t models) : models_(models) {}

  void request(const std::string& endpoint, int status, double seconds) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{endpoint, status}];
    if (seconds >= 0) latency(endpoint).observe(seconds);
  }
  void batch(const std::string& model, size_t series) {
    const std::lock_guard<std::mutex> lock(mutex_);
    batch_series(model).observe(static_cast<double>(series));
  }
  void forecast_error(const std::string& model) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++forecast_errors_[model];
  }
  void fallback(const std::string& model) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++fallbacks_[model];
  }
  std::atomic<int64_t>& in_flight() { return in_flight_; }

  std::string text() {
    const std::lock_guard<std::mutex> lock(mutex_);
    fmt::memory_buffer out;
    auto put = [&](std::string_view s) { out.append(s.data(), s.data() + s.size()); };
    put("# HELP attend_serve_requests_total HTTP requests answered, by endpoint and status.\n"
        "# TYPE attend_serve_requests_total counter\n");
    std::map<std::string, uint64_t> errors;
    for (const auto& [key, n] : requests_) {
      fmt::format_to(std::back_inserter(out),
                     "attend_serve_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first,
                     key.second, n);
      if (key.second >= 400) errors[key.first] += n;
    }
    put("# HELP attend_serve_errors_total Requests answered with a status >= 400, by endpoint.\n"
        "# TYPE attend_serve_errors_total counter\n");
    for (const auto& [endpoint, n] : errors)
      fmt::format_to(std::back_inserter(out), "attend_serve_errors_total{{endpoint=\"{}\"}} {}\n",
                     endpoint, n);
    put("# HELP attend_serve_request_duration_seconds Time from a request's headers read to its "
        "answer written.\n"
        "# TYPE attend_serve_request_duration_seconds histogram\n");
    for (const auto& [endpoint, h] : latency_)
      h.write(out, "attend_serve_request_duration_seconds",
              fmt::format("endpoint=\"{}\"", endpoint));
    put("# HELP attend_serve_batch_series Series per batched forward (one Model::forecast "
        "call), by model.\n"
        "# TYPE attend_serve_batch_series histogram\n");
    for (const auto& [model, h] : batch_series_)
      h.write(out, "attend_serve_batch_series", fmt::format("model=\"{}\"", model));
    put("# HELP attend_serve_forecast_errors_total Requests the library refused (answered 400), "
        "by model.\n"
        "# TYPE attend_serve_forecast_errors_total counter\n");
    for (const auto& [model, n] : forecast_errors_)
      fmt::format_to(std::back_inserter(out),
                     "attend_serve_forecast_errors_total{{model=\"{}\"}} {}\n", model, n);
    put("# HELP attend_serve_batch_fallbacks_total Batches that failed and were run again one "
        "request at a time, by model.\n"
        "# TYPE attend_serve_batch_fallbacks_total counter\n");
    for (const auto& [model, n] : fallbacks_)
      fmt::format_to(std::back_inserter(out),
                     "attend_serve_batch_fallbacks_total{{model=\"{}\"}} {}\n", model, n);
    fmt::format_to(std::back_inserter(out),
                   "# HELP attend_serve_models_loaded Models served.\n"
                   "# TYPE attend_serve_models_loaded gauge\n"
                   "attend_serve_models_loaded {}\n"
                   "# HELP attend_serve_forecasts_in_flight Forecast requests being read, queued "
                   "or forecast.\n"
                   "# TYPE attend_serve_forecasts_in_flight gauge\n"
                   "attend_serve_forecasts_in_flight {}\n",
                   models_, in_flight_.load());
    return fmt::to_string(out);
  }

 private:
  Histogram& latency(const std::string& endpoint) {
    return latency_.try_emplace(endpoint, kLatencyBounds).first->second;
  }
  Histogram& batch_series(const std::string& model) {
    return batch_series_.try_emplace(model, kBatchBounds).first->second;
  }

  std::mutex mutex_;
  size_t models_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_, batch_series_;
  std::map<std::string, uint64_t> forecast_errors_, fallbacks_;
  std::atomic<int64_t> in_flight_{0};
};

// One request's series on their way through a batch.
struct Job {
  std::vector<SeriesInput> inputs;
  size_t count = 0;  // inputs.size() when queued (the batch moves them out)
  std::vector<Forecast> forecasts;
  int status = 0;  // an error's HTTP status, 0 when forecast
  std::string error;
  // A queued job's answer is ready (set and notified by the batcher). A mutex and a condition
  // variable: a futex wait at once (std::atomic::wait spins and yields first, a context switch
  // per yield with 64 connection threads on two cores; std::promise allocates its state).
  std::mutex mutex;
  std::condition_variable answered;
  bool done = false;
};

// A model, its queue of jobs (guarded by Server::Impl::batch_mutex) and its batcher thread.
struct Served {
  Served(std::string name, Model model) : name(std::move(name)), model(std::move(model)) {}
  std::string name;
  Model model;
  std::deque<std::shared_ptr<Job>> queue;
  bool busy = false;  // a batch is being gathered or forecast (by the batcher or a lone request)
  bool gathering = false;  // the batcher waits for requests being read
  std::condition_variable wake;
  std::thread batcher;
};

// When the request started (routing), per worker thread: the latency histogram's start.
thread_local Clock::time_point t_request_start{};

class Connection;
// The connection the worker thread serves (null outside HttpServer's loop): a forecast request's
// body is taken from its buffer in place.
thread_local Connection* t_connection = nullptr;

template <typename... Args>
void check(bool ok, fmt::format_string<Args...> format, Args&&... args) {
  if (!ok) throw Error(fmt::format(format, std::forward<Args>(args)...));
}

void reply(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_body(message), kJson);
}

// The request's body was left unread: the client must not send another on this connection.
void close_after(httplib::Response& res) {
  res.set_header("Connection", "close");
}

// ---- connections -------------------------------------------------------------------------------

// One connection's socket as httplib reads and writes it, in place of httplib's SocketStream,
// which costs about 20 system calls per request (docs/benchmarks.md): a poll before every recv
// and send, a recv and a poll to check the peer before every send, recvs of 4 KiB, the headers
// and the body in two sends, getpeername and getsockname every request. Here: recvs into a
// 64 KiB buffer kept for the whole connection (a request's pipelined successor stays in it),
// the socket's own timeouts instead of polls, the answer's headers and body in one writev, the
// addresses looked up once per connection.
class Connection final : public httplib::Stream {
 public:
  // Blocking recv and send wake at least every kSlice to look at their deadlines and the
  // server's stop.
  static constexpr std::chrono::milliseconds kSlice{200};

  Connection(int sock, Clock::duration read_timeout, Clock::duration write_timeout)
      : sock_(sock), read_timeout_(read_timeout), write_timeout_(write_timeout), in_(kBuffer) {
    timeval slice{0, std::chrono::duration_cast<std::chrono::microseconds>(kSlice).count()};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice));
    ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &slice, sizeof(slice));
  }

  // Until the next request's first bytes are here (true), or the connection is closed, idle for
  // `idle`, or `stopping()` (false).
  template <typename Stopping>
  bool wait_for_request(Clock::duration idle, Stopping stopping) {
    if (begin_ == end_ && in_.size() > kBuffer) in_ = std::vector<char>(kBuffer);  // after a body
    return begin_ < end_ || (flush() && fill(Clock::now() + idle, stopping) > 0);
  }

  // The request's next n bytes (its body), whole in the read buffer (grown for a body larger
  // than it), received as needed; nullptr when the client closes or stalls read_timeout. The
  // caller may change them in place (the JSON reader does).
  char* take(size_t n) {
    if (end_ - begin_ < n) {
      if (!flush()) return nullptr;
      const size_t have = end_ - begin_;
      if (in_.size() < n) {
        std::vector<char> larger(n);
        std::memcpy(larger.data(), in_.data() + begin_, have);
        in_ = std::move(larger);
      } else {
        std::memmove(in_.data(), in_.data() + begin_, have);
      }
      begin_ = 0;
      end_ = have;
      Clock::time_point deadline = Clock::now() + read_timeout_;
      while (end_ < n) {
        const ssize_t got = ::recv(sock_, in_.data() + end_, in_.size() - end_, 0);
        if (got > 0) {
          end_ += static_cast<size_t>(got);
          deadline = Clock::now() + read_timeout_;
        } else if (got == 0 || !timed_out() || Clock::now() >= deadline) {
          return nullptr;
        }
      }
    }
    char* const out = in_.data() + begin_;
    begin_ += n;
    return out;
  }

  // Sends what write() kept back; false when the client is gone or stalls write_timeout.
  bool flush() {
    if (out_.empty()) return true;
    const bool sent = send_all(out_.data(), out_.size(), nullptr, 0);
    out_.clear();
    return sent;
  }

  bool is_readable() const override {
    if (begin_ < end_) return true;
    pollfd p{sock_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms(read_timeout_)) > 0;
  }
  bool is_writable() const override {
    pollfd p{sock_, POLLOUT, 0};
    return ::poll(&p, 1, timeout_ms(write_timeout_)) > 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (!flush()) return -1;  // an interim answer (100 Continue) goes out before the wait
      const ssize_t n = fill(Clock::now() + read_timeout_, [] { return false; });
      if (n <= 0) return n;
    }
    const size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, in_.data() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  // Small writes (the status line and headers) are kept back; a large one (a body) goes out at
  // once with them, in one writev, uncopied. flush() sends what is left after the request.
  ssize_t write(const char* ptr, size_t size) override {
    if (size < kDirect) {
      out_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    const bool sent = send_all(out_.data(), out_.size(), ptr, size);
    out_.clear();
    return sent ? static_cast<ssize_t>(size) : -1;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    if (!remote_) remote_ = address(::getpeername);
    ip = remote_->first;
    port = remote_->second;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (!local_) local_ = address(::getsockname);
    ip = local_->first;
    port = local_->second;
  }
  int socket() const override { return sock_; }

 private:
  static constexpr size_t kDirect = 4096;
  static constexpr size_t kBuffer = 64 << 10;
  using Address = std::pair<std::string, int>;

  static int timeout_ms(Clock::duration d) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  }
  static bool timed_out() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

  // Receives into the (read) buffer, looking every kSlice at `deadline` and `stop()`: the bytes
  // received, 0 when the peer closed, -1 on an error, the deadline or the stop.
  template <typename Stop>
  ssize_t fill(Clock::time_point deadline, Stop stop) {
    for (;;) {
      if (stop()) return -1;
      const ssize_t n = ::recv(sock_, in_.data(), in_.size(), 0);
      if (n >= 0) {
        begin_ = 0;
        end_ = static_cast<size_t>(n);
        return n;
      }
      if (!timed_out() || Clock::now() >= deadline) return -1;
    }
  }

  // a then b, whole; false when the client is gone or no byte moves for write_timeout.
  bool send_all(const char* a, size_t na, const char* b, size_t nb) {
    iovec parts[2] = {{const_cast<char*>(a), na}, {const_cast<char*>(b), nb}};
    iovec* part = na ? parts : parts + 1;
    int count = (na ? 1 : 0) + (nb ? 1 : 0);
    Clock::time_point deadline = Clock::now() + write_timeout_;
    while (count > 0) {
      msghdr m{};
      m.msg_iov = part;
      m.msg_iovlen = static_cast<size_t>(count);
      ssize_t sent = ::sendmsg(sock_, &m, MSG_NOSIGNAL);
      if (sent < 0) {
        if (!timed_out() || Clock::now() >= deadline) return false;
        continue;
      }
      deadline = Clock::now() + write_timeout_;
      while (count > 0 && static_cast<size_t>(sent) >= part->iov_len) {
        sent -= static_cast<ssize_t>(part->iov_len);
        ++part;
        --count;
      }
      if (count > 0) {
        part->iov_base = static_cast<char*>(part->iov_base) + sent;
        part->iov_len -= static_cast<size_t>(sent);
      }
    }
    return true;
  }

  // The numeric address and port of getpeername or getsockname (httplib's: empty, 0 when not IP).
  template <typename Lookup>
  Address address(Lookup lookup) const {
    sockaddr_storage addr{};
    socklen_t length = sizeof(addr);
    Address out{"", 0};
    if (lookup(sock_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) return out;
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
      if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)))
        out = {text, ntohs(in->sin_port)};
    } else if (addr.ss_family == AF_INET6) {
      const auto* in = reinterpret_cast<const sockaddr_in6*>(&addr);
      if (::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof(text)))
        out = {text, ntohs(in->sin6_port)};
    }
    return out;
  }

  int sock_;
  Clock::duration read_timeout_, write_timeout_;
  std::vector<char> in_;
  size_t begin_ = 0, end_ = 0;  // in_[begin_, end_): received, not yet read
  std::string out_;             // written, not yet sent
  mutable std::optional<Address> remote_, local_;
};

// cpp-httplib's server (its request parsing, routing, answers, accept loop and thread pool) with
// its keep-alive loop over a Connection (httplib::Server::process_and_close_socket is the hook).
class HttpServer final : public httplib::Server {
 private:
  bool process_and_close_socket(int sock) override {
    using std::chrono::microseconds, std::chrono::seconds;
    Connection c(sock, seconds(read_timeout_sec_) + microseconds(read_timeout_usec_),
                 seconds(write_timeout_sec_) + microseconds(write_timeout_usec_));
    const auto stopping = [this] { return svr_sock_ == INVALID_SOCKET; };
    // Answers are sent uncompressed, whatever the request accepts: httplib would gzip a 9 KB
    // forecast in ~190 us and brotli it (at quality 11) in ~11 ms, where a forecast takes 0.1 ms
    // (Python's requests asks for both).
    const std::function<void(httplib::Request&)> identity = [](httplib::Request& req) {
      req.headers.erase("Accept-Encoding");
    };
    bool ok = false;
    t_connection = &c;
    for (size_t left = keep_alive_max_count_;
         left > 0 && c.wait_for_request(seconds(keep_alive_timeout_sec_), stopping); --left) {
      bool closed = false;
      ok = process_request(c, left == 1, closed, identity);
      ok = c.flush() && ok;
      if (!ok || closed) break;
    }
    t_connection = nullptr;
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }
};

}  // namespace

struct Server::Impl {
  Impl(std::vector<NamedModel> named, const ServerOptions& o) : options(o), metrics(named.size()) {
    check(!named.empty(), "serve: no model to serve");
    for (NamedModel& m : named) {
      for (const auto& s : served) check(s->name != m.name, "serve: two models named '{}'", m.name);
      served.push_back(std::make_unique<Served>(m.name, std::move(m.model)));
    }
    check(options.max_batch >= 1, "serve: max_batch must be >= 1");
    check(options.batch_wait_ms >= 0 && options.batch_wait_ms <= 1000,
          "serve: batch_wait_ms must be in [0, 1000], got {}", options.batch_wait_ms);
    check(options.max_connections >= 1, "serve: max_connections must be >= 1");
  }

  ServerOptions options;
  Metrics metrics;
  std::vector<std::unique_ptr<Served>> served;
  HttpServer http;
  int listen_socket = -1;
  std::thread listener;
  std::atomic<bool> listening_ended{false};  // listen_after_bind returned
  std::mutex stop_mutex;
  bool started = false, stopped = false;

  // Batching state, for every model: their queues, the forecast requests being read (`arriving`:
  // a batch waits for them, up to batch_wait_ms) and the batchers' stop flag.
  std::mutex batch_mutex;
  size_t arriving = 0;
  bool stopping = false;

  Served* find(const std::string& name) {
    for (auto& s : served)
      if (s->name == name) return s.get();
    return nullptr;
  }

  // A forecast request counts as arriving from its first byte until it is queued or refused.
  class Arrival {
   public:
    explicit Arrival(Impl& impl) : impl_(impl) {
      const std::lock_guard<std::mutex> lock(impl_.batch_mutex);
      ++impl_.arriving;
    }
    ~Arrival() {
      if (!counted_) return;
      const std::lock_guard<std::mutex> lock(impl_.batch_mutex);
      --impl_.arriving;
      impl_.wake_gathering(nullptr);
    }
    // Ends the arrival: queues `job` on `s` for its batcher, or returns true when `s` is idle
    // and no other forecast request is being read: then the caller forecasts it at once on its
    // own thread (a lone request skips the two thread switches of the queue) and calls
    // Impl::end_inline.
    bool submit(Served& s, std::shared_ptr<Job> job) {
      const std::lock_guard<std::mutex> lock(impl_.batch_mutex);
      --impl_.arriving;
      counted_ = false;
      const bool alone = !s.busy && s.queue.empty() && impl_.arriving == 0;
      if (alone)
        s.busy = true;
      else
        s.queue.push_back(std::move(job));
      impl_.wake_gathering(alone ? nullptr : &s);
      return alone;
    }

   private:
    Impl& impl_;
    bool counted_ = true;
  };

  // Under batch_mutex, after a request was queued on `queued` (or none) or refused: the
  // batchers waiting for arrivals look again, and `queued`'s. No other is woken: a needless wake
  // costs two thread switches per request.
  void wake_gathering(Served* queued) {
    for (auto& s : served)
      if (s->gathering || s.get() == queued) s->wake.notify_one();
  }

  // After a lone request's forecast: the batcher takes what queued meanwhile.
  void end_inline(Served& s) {
    const std::lock_guard<std::mutex> lock(batch_mutex);
    s.busy = false;
    if (!s.queue.empty()) s.wake.notify_one();
  }

  // ---- batching ------------------------------------------------------------------------------

  // Takes jobs in arrival order, whole, while they fit in max_batch series (the first always:
  // a request larger than max_batch runs alone); waits up to batch_wait_ms for more while other
  // forecast requests are being read, so a lone request never waits.
  void batch_loop(Served& s) {
    const auto wait = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double, std::milli>(options.batch_wait_ms));
    std::unique_lock<std::mutex> lock(batch_mutex);
    for (;;) {
      s.wake.wait(lock, [&] { return (!s.queue.empty() && !s.busy) || stopping; });
      if (s.queue.empty()) return;
      s.busy = true;
      std::vector<std::shared_ptr<Job>> batch;
      size_t series = 0;
      auto take = [&] {
        while (!s.queue.empty() &&
               (batch.empty() || series + s.queue.front()->count <= options.max_batch)) {
          series += s.queue.front()->count;
          batch.push_back(std::move(s.queue.front()));
          s.queue.pop_front();
        }
      };
      take();
      const Clock::time_point deadline = Clock::now() + wait;
      s.gathering = true;
      while (series < options.max_batch && s.queue.empty() && arriving > 0) {
        const bool late = s.wake.wait_until(lock, deadline) == std::cv_status::timeout;
        take();
        if (late) break;
      }
      s.gathering = false;
      lock.unlock();
      run(s, batch, series);
      for (const auto& job : batch) {
        {
          const std::lock_guard<std::mutex> job_lock(job->mutex);
          job->done = true;
        }
        job->answered.notify_one();
      }
      lock.lock();
      s.busy = false;
    }
  }

  // The batch in one Model::forecast call; when that throws, each request alone, so that the
  // error lands on the request at fault and the others get their forecasts.
  void run(Served& s, const std::vector<std::shared_ptr<Job>>& batch, size_t series) {
    metrics.batch(s.name, series);
    std::vector<SeriesInput> all;
    all.reserve(series);
    for (const auto& job : batch)
      for (SeriesInput& in : job->inputs) all.push_back(std::move(in));
    try {
      std::vector<Forecast> f = s.model.forecast(all);
      auto next = f.begin();
      for (const auto& job : batch) {
        job->forecasts.assign(std::make_move_iterator(next),
                              std::make_move_iterator(next + job->count));
        next += job->count;
      }
    } catch (...) {
      if (batch.size() == 1) {
        fail(s, *batch.front(), std::current_exception());
      } else {
        metrics.fallback(s.name);
        auto next = all.begin();
        for (const auto& job : batch) {
          std::vector<SeriesInput> own(std::make_move_iterator(next),
                                       std::make_move_iterator(next + job->count));
          next += job->count;
          try {
            job->forecasts = s.model.forecast(own);
          } catch (...) {
            fail(s, *job, std::current_exception());
          }
        }
      }
    }
  }

  void fail(Served& s, Job& job, std::exception_ptr e) {
    metrics.forecast_error(s.name);
    try {
      std::rethrow_exception(e);
    } catch (const Error& error) {  // the library's: the input is at fault
      job.status = 400;
      job.error = request_message(error.what());
    } catch (const std::exception& error) {
      job.status = 500;
      job.error = std::string("internal error: ") + error.what();
    } catch (...) {
      job.status = 500;
      job.error = "internal error";
    }
  }

  // ---- endpoints -----------------------------------------------------------------------------

  // The request's body: with a Content-Length within max_body_bytes, in place in the
  // connection's read buffer (no copy); otherwise read by httplib into `chunked`.
  std::span<char> read_body(const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader, std::string& chunked) {
    const bool has_length = req.has_header("Content-Length");
    if (t_connection && has_length &&
        req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos) {
      const auto n = req.get_header_value<uint64_t>("Content-Length");
      if (n <= options.max_body_bytes) {
        char* const body = t_connection->take(n);
        if (!body) {
          close_after(res);
          throw RequestError(400, "body: could not be read (cut short or too slow)");
        }
        return {body, n};
      }
    }
    if (has_length)  // one allocation, not one per 4 KiB read
      chunked.reserve(std::min<size_t>(req.get_header_value<uint64_t>("Content-Length"),
                                       options.max_body_bytes));
    bool too_large = false;
    const bool read = reader([&](const char* data, size_t n) {
      if (chunked.size() + n > options.max_body_bytes) {
        too_large = true;
        return false;
      }
      chunked.append(data, n);
      return true;
    });
    if (!read) {
      close_after(res);
      if (too_large || res.status == 413)
        throw RequestError(413, fmt::format("body: more than the server's limit of {} bytes "
                                            "(--max_body_bytes)",
                                            options.max_body_bytes));
      throw RequestError(400, "body: could not be read (cut short or too slow)");
    }
    return chunked;
  }

  void forecast(const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) {
    Arrival arrival(*this);
    struct InFlight {
      explicit InFlight(std::atomic<int64_t>& n) : n(n) { ++n; }
      ~InFlight() { --n; }
      std::atomic<int64_t>& n;
    } in_flight(metrics.in_flight());
    if (!req.has_header("Content-Length") &&
        req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos) {
      close_after(res);
      throw RequestError(411, "body: no Content-Length (the JSON request is the body)");
    }
    std::string chunked;  // a body not sent whole (chunked, or too large), read by httplib
    const std::span<char> body = read_body(req, res, reader, chunked);
    // after the body is read: the connection stays in step for the client's next request
    const std::string type = req.get_header_value("Content-Type");
    if (!type.empty() && type.rfind(kJson, 0) != 0)
      throw RequestError(415, fmt::format("Content-Type: '{}', expected {} (curl: -H "
                                          "'Content-Type: application/json')",
                                          type, kJson));
    const JsonDocument json = parse_body(body);
    const std::string name = model_name(json);
    Served* s = find(name);
    if (!s) {
      std::string names;
      for (const auto& m : served) names += (names.empty() ? "" : ", ") + m->name;
      throw RequestError(404, fmt::format("model: '{}' is not served (models: {})", name, names));
    }
    const ModelInfo& info = s->model.info();
    ForecastRequest request = read_request(json, info, options.limits);
    auto job = std::make_shared<Job>();
    job->count = request.series.size();
    job->inputs = std::move(request.series);
    if (arrival.submit(*s, job)) {
      run(*s, {job}, job->count);
      end_inline(*s);
    } else {
      std::unique_lock<std::mutex> job_lock(job->mutex);  // done is set only for queued jobs
      job->answered.wait(job_lock, [&] { return job->done; });
    }
    if (job->status != 0) throw RequestError(job->status, job->error);
    res.body = write_response(request, job->forecasts, info);  // moved, not copied
    res.set_header("Content-Type", kJson);
  }

  void models(httplib::Response& res) {
    std::vector<std::pair<std::string, ModelInfo>> list;
    for (const auto& s : served) list.emplace_back(s->name, s->model.info());
    res.set_content(models_body(list), kJson);
  }

  // Runs a handler's body; its errors are answered as {"error": message}.
  template <typename F>
  static void answer_errors(httplib::Response& res, F f) {
    try {
      f();
    } catch (const RequestError& e) {
      reply(res, e.status(), e.what());
    } catch (const Error& e) {
      reply(res, 400, request_message(e.what()));
    } catch (const std::exception& e) {
      reply(res, 500, std::string("internal error: ") + e.what());
    }
  }

  void setup() {
    const int threads = options.max_connections;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_tcp_nodelay(true);  // accepted sockets inherit it: no 40 ms wait on the body's write
    // SO_REUSEADDR (a restart binds at once) but not httplib's SO_REUSEPORT, with which a second
    // server on the same port would start and share the connections instead of failing
    http.set_socket_options([this](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listen_socket = sock;
    });
    http.set_keep_alive_max_count(1000000);
    http.set_keep_alive_timeout(options.keep_alive_s);
    http.set_read_timeout(options.read_timeout_s);
    http.set_write_timeout(options.read_timeout_s);
    http.set_payload_max_length(options.max_body_bytes);

    http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
      t_request_start = Clock::now();
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.Post("/v1/forecast", [this](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
      answer_errors(res, [&] { forecast(req, res, reader); });
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      answer_errors(res, [&] { models(res); });
    });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(fmt::format("{{\"status\":\"ok\",\"models\":{}}}", served.size()), kJson);
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      answer_errors(res, [&] { res.set_content(metrics.text(), "text/plain; version=0.0.4"); });
    });
    // httplib's own answers, as JSON too: no route (404, or 405 for a known path: httplib has
    // read the body by then, so the connection stays in step), a request line it cannot read,
    // a body over the limit.
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own answer
      const Endpoint* e = find_endpoint(req.path);
      if (res.status == 404 && e) {
        reply(res, 405, fmt::format("{} answers {}, not {}", e->path, e->methods, req.method));
        res.set_header("Allow", e->methods);
      } else if (res.status == 404) {
        reply(res, 404,
              fmt::format("no endpoint {} (endpoints: POST /v1/forecast, GET /v1/models, GET "
                          "/healthz, GET /metrics)",
                          req.path));
      } else {
        reply(res, res.status,
              res.status == 413 ? "body: more than the server's limit (--max_body_bytes)"
              : res.status == 414
                  ? "the request's path is too long"
                  : fmt::format("HTTP {}: the request could not be read", res.status));
      }
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr) { reply(res, 500, "internal error"); });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const Endpoint* e = find_endpoint(req.path);
      const double seconds =
          t_request_start == Clock::time_point{}
              ? -1
              : std::chrono::duration<double>(Clock::now() - t_request_start).count();
      t_request_start = {};
      metrics.request(e ? e->path : "other", res.status, seconds);
    });
  }
};

Server::Server(std::vector<NamedModel> models, const ServerOptions& options)
    : impl_(std::make_unique<Impl>(std::move(models), options)) {
  impl_->setup();
}

Server::~Server() {
  stop();
}

int Server::start() {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.stop_mutex);
  check(!m.started, "serve: started twice");
  errno = 0;
  int port = m.options.port;
  if (port == 0)
    port = m.http.bind_to_any_port(m.options.host);
  else if (!m.http.bind_to_port(m.options.host, port))
    port = -1;
  check(port > 0, "serve: cannot listen on {}:{}{}", m.options.host, m.options.port,
        errno ? std::string(": ") + std::strerror(errno) : std::string());
  // httplib listens with a backlog of 5: 64 clients connecting at once overflow it (SYNs dropped,
  // connections delayed by a second); listen() again raises it
  ::listen(m.listen_socket, SOMAXCONN);
  for (auto& s : m.served) s->batcher = std::thread([&m, s = s.get()] { m.batch_loop(*s); });
  m.listener = std::thread([&m] {
    m.http.listen_after_bind();
    m.listening_ended = true;
  });
  // serving once httplib's loop runs (stop() before that would not stop it)
  while (!m.http.is_running() && !m.listening_ended)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  m.started = true;
  return port;
}

void Server::stop() {
  Impl& m = *impl_;
  const std::lock_guard<std::mutex> lock(m.stop_mutex);
  if (!m.started || m.stopped) return;
  m.stopped = true;
  m.http.stop();      // no new connections; each open one ends after the request it is reading
  m.listener.join();  // every connection's thread has finished: every request is answered
  {
    const std::lock_guard<std::mutex> batch_lock(m.batch_mutex);
    m.stopping = true;
  }
  for (auto& s : m.served) s->wake.notify_one();
  for (auto& s : m.served) s->batcher.join();
}

}  // namespace attend::cli::serve
