#pragma once
// `attend backtest`: the CLI face of attend/train/backtest.h.
#include <CLI/CLI.hpp>

#include <functional>

namespace attend::cli {

// Adds `backtest` to `app`; the returned function runs it (call it when the subcommand was parsed)
// and returns the exit status (130/143 when stopped by SIGINT/SIGTERM).
std::function<int()> add_backtest_command(CLI::App& app);

}  // namespace attend::cli
