#pragma once
// `attend compare --models A,B,...` and `attend bench model --model NAME`: the CLI face of
// attend/train/compare.h.
#include <CLI/CLI.hpp>

#include <functional>

#include "attend/train/distributed.h"

namespace attend::cli {

// Adds `compare` to `app` and `model` to its `bench` subcommand (made when missing). `bench model`
// runs from its parse callback; the returned function runs `compare` (call it when the subcommand
// was parsed) and returns the exit status (130/143 when stopped by SIGINT/SIGTERM). Its argument:
// the processes under mpirun with several (every rank calls it; each trains its share of the
// models, rank 0 alone prints and writes the table), else nullptr.
std::function<int(train::Communicator*)> add_compare_command(CLI::App& app);

}  // namespace attend::cli
