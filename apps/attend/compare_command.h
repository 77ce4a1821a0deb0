#pragma once
// `attend compare --models A,B,...` and `attend bench model --model NAME`: the CLI face of
// attend/train/compare.h.
#include <CLI/CLI.hpp>

namespace attend::cli {

// Adds `compare` to `app` and `model` to its `bench` subcommand (made when missing). Both run from
// their parse callbacks; `compare` then exits the process with its status.
void add_compare_command(CLI::App& app);

}  // namespace attend::cli
