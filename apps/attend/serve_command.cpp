#include "serve_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "attend/attend.h"
#include "flags.h"
#include "server.h"
#include "stop_signals.h"

namespace attend::cli {

namespace {

struct ServeArgs {
  std::vector<std::string> checkpoints;  // NAME=FOLDER or FOLDER
  serve::ServerOptions server;
  int threads = 0;
};

// "name=folder" -> {name, folder}; a bare folder is named by its last part.
std::pair<std::string, std::string> named_checkpoint(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq != std::string::npos) {
    if (eq == 0 || eq + 1 == text.size())
      throw UsageError("--checkpoint '" + text + "': expected NAME=FOLDER");
    return {text.substr(0, eq), text.substr(eq + 1)};
  }
  std::filesystem::path p(text);
  if (!p.has_filename()) p = p.parent_path();
  return {p.filename().string(), text};
}

int run_serve(const ServeArgs& a) {
  // first: every thread started later (the models' workers, the server's) inherits the block
  StopSignals stop_signals("stopping: no new connections, answering the requests in flight");
  std::vector<serve::NamedModel> models;
  std::vector<std::string> names;
  for (const std::string& c : a.checkpoints) {
    auto [name, folder] = named_checkpoint(c);
    models.push_back({name, Model::load(folder, a.threads)});
    names.push_back(name);
  }
  serve::Server server(std::move(models), a.server);
  const int port = server.start();
  fmt::print("attend serve: listening on http://{}:{} (models: {})\n", a.server.host, port,
             fmt::join(names, ", "));
  std::fflush(stdout);
  while (!stop_signals.stop().load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server.stop();
  fmt::print(stderr, "attend serve: stopped\n");
  return 0;
}

}  // namespace

std::function<int()> add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  serve::ServerOptions& o = a->server;
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "HTTP/JSON forecasting server: POST /v1/forecast, GET /v1/models, /healthz, /metrics "
      "(docs/serving.md); concurrent requests for a model are forecast in one batch; SIGINT or "
      "SIGTERM stops it after answering the requests in flight");
  cmd->add_option("--checkpoint", a->checkpoints,
                  "NAME=FOLDER: a checkpoint folder served as NAME (repeat for more models; a "
                  "bare FOLDER is named by its last part)")
      ->required();
  cmd->add_option("--host", o.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", o.port, "port (0: a free one, printed)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", a->threads, "worker threads of each forecast (0: all cores)")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--max_batch", o.max_batch,
                  "most series in one batched forward (a larger request runs alone)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--batch_wait_ms", o.batch_wait_ms,
                  "longest a batch waits for requests still being read (0: never waits)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--max_body_bytes", o.max_body_bytes, "largest request body (413 above)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--max_series", o.limits.max_series, "most series in one request")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--max_rows", o.limits.max_rows, "most rows (timestamps) of one series")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--max_connections", o.max_connections,
                  "connections served at once, one thread each (more wait for one to close)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--keep_alive_s", o.keep_alive_s,
                  "seconds an idle keep-alive connection stays open")
      ->capture_default_str()
      ->check(positive());
  return [a] { return run_serve(*a); };
}

}  // namespace attend::cli
