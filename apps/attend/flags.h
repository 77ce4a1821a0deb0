#pragma once
// TSLib run.py flags on CLI11 (sub)commands: registration with run.py's names, types and defaults,
// and application to a RunConfig. Shared by every subcommand that takes run flags.
#include <CLI/CLI.hpp>

#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "attend/train/run_config.h"

namespace attend::cli {

// A usage error: printed as "error: ..." with exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One flag registered on one (sub)command.
struct Binding {
  const train::Option* spec = nullptr;
  CLI::Option* option = nullptr;
  std::string text;
  std::vector<std::string> texts;
  bool flag = false;
};

using Bindings = std::deque<Binding>;

// Registers the run options `keep` accepts (all when empty) on `app` as flags, with the table's
// help and default. Flags attend uses go in `used_group`; the others are listed as accepted and
// ignored.
// `default_text` replaces each flag's default in its help (e.g. "the checkpoint's").
void add_flags(CLI::App& app, Bindings& out,
               const std::function<bool(const train::Option&)>& keep = {},
               const std::string& used_group = "Options", const std::string& default_text = "");

// The run options a command that reads a checkpoint accepts (its data and test batch size; the
// rest is the checkpoint's).
bool checkpoint_data_option(const train::Option& option);

// Applies the flags given on the command line to cfg; returns the run.py flags without effect.
// Bad values throw UsageError naming the flag.
std::vector<std::string> apply_flags(const Bindings& bs, train::RunConfig& cfg);

// Whether flag `name` was given.
bool given(const Bindings& bs, const std::string& name);

// Checks for numeric options with one-line messages ("--len_q: must be > 0, got 0"), in place of
// CLI11's PositiveNumber / NonNegativeNumber, whose message spells out the largest double.
CLI::Validator positive();
CLI::Validator non_negative();

}  // namespace attend::cli
