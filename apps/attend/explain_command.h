#pragma once
// `attend explain --checkpoint DIR --out DIR [data flags] [--index N | --date TIMESTAMP]`:
// the CLI face of attend::explain.
#include <CLI/CLI.hpp>

namespace attend::cli {

// Adds the `explain` subcommand to `app`; it runs from its parse callback and ends the process
// with status 0 when done (errors propagate as attend::Error: exit 1 with one line).
void add_explain_command(CLI::App& app);

}  // namespace attend::cli
