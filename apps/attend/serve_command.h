#pragma once
// `attend serve`: the HTTP/JSON forecasting server (apps/attend/server.h, docs/serving.md).
#include <CLI/CLI.hpp>

#include <functional>

namespace attend::cli {

// Adds `serve` to `app`; the returned function runs it (call it when the subcommand was parsed):
// it serves until SIGINT or SIGTERM, answers the requests in flight and returns 0.
std::function<int()> add_serve_command(CLI::App& app);

}  // namespace attend::cli
