#pragma once
// `attend serve`'s HTTP server (docs/serving.md, docs/architecture.md "attend serve"): the
// endpoints over cpp-httplib, a micro-batcher per model that coalesces concurrent forecast
// requests into one attend::Model::forecast call, Prometheus metrics and a draining stop. Uses
// only the public API (attend/attend.h); tests start it in-process on port 0.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attend/attend.h"
#include "serve_json.h"

namespace attend::cli::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;           // 0: a free port (Server::start returns it)
  size_t max_batch = 32;     // series in one batched forward (a larger request runs alone)
  double batch_wait_ms = 2;  // the longest a batch waits for requests being read
  size_t max_body_bytes = size_t(8) << 20;
  RequestLimits limits;
  int max_connections = 128;  // connections served at once: one thread each, more wait
  int keep_alive_s = 5;       // an idle keep-alive connection is closed after this
  int read_timeout_s = 5;     // a request that stalls this long is dropped
};

// A loaded model under the name requests give.
struct NamedModel {
  std::string name;
  Model model;
};

class Server {
 public:
  Server(std::vector<NamedModel> models, const ServerOptions& options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and starts serving on threads of its own; returns the port. Throws
  // attend::Error when the address cannot be bound.
  int start();
  // Stops accepting connections, answers every request already read (idle keep-alive
  // connections close within keep_alive_s), then stops the batchers. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attend::cli::serve
