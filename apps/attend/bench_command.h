#pragma once
// `attend bench attention ...`: the CLI face of attend::perf.
#include <CLI/CLI.hpp>

namespace attend::cli {

// Adds the `bench` subcommand (with `attention`) to `app`. The returned callback runs it.
void add_bench_command(CLI::App& app);

}  // namespace attend::cli
