#pragma once
// `attend explain --checkpoint DIR --out DIR [data flags] [--index N | --date TIMESTAMP]`:
// the CLI face of attend::explain.
#include <CLI/CLI.hpp>

#include <functional>

namespace attend::cli {

// Adds the `explain` subcommand to `app`; the returned function runs it (call it when the
// subcommand was parsed) and returns the exit status (130/143 when stopped by SIGINT/SIGTERM;
// errors propagate as attend::Error: exit 1 with one line).
std::function<int()> add_explain_command(CLI::App& app);

}  // namespace attend::cli
