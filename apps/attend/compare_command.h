#pragma once
// `attend compare --models A,B,...` and `attend bench model --model NAME`: the CLI face of
// attend/train/compare.h.
#include <CLI/CLI.hpp>

#include <functional>

namespace attend::cli {

// Adds `compare` to `app` and `model` to its `bench` subcommand (made when missing). `bench model`
// runs from its parse callback; the returned function runs `compare` (call it when the subcommand
// was parsed) and returns the exit status (130/143 when stopped by SIGINT/SIGTERM).
std::function<int()> add_compare_command(CLI::App& app);

}  // namespace attend::cli
