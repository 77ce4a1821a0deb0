// Fuzzes run.py flag parsing. Byte 0 even: the rest, split at whitespace, is a command line
// parsed by CLI11 with the CLI's run flags (apps/attend/flags.h: the root command, `train` and
// `test`'s checkpoint data flags) and applied to a RunConfig. Byte 0 odd: each line `NAME VALUE`
// goes through the library's set_option (VALUE as JSON when it parses, else as a string). Either
// way the config is then validated, named and written as config.json is. The normal answers to a
// bad command line are attend::Error and the CLI's usage errors (UsageError, CLI::ParseError: exit
// code 2); anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attend/base/error.h"
#include "flags.h"

using namespace attend;

namespace {

struct Cli {
  CLI::App app{"attend", "attend"};
  cli::Bindings root, train, test;
  CLI::App* train_cmd = nullptr;
  CLI::App* test_cmd = nullptr;
  int threads = 0;
  bool resume = false;
  std::string checkpoint;

  Cli() {
    app.require_subcommand(0, 1);
    cli::add_flags(app, root);
    app.add_option("--threads", threads);
    train_cmd = app.add_subcommand("train");
    cli::add_flags(*train_cmd, train);
    train_cmd->add_option("--threads", threads);
    train_cmd->add_flag("--resume", resume);
    test_cmd = app.add_subcommand("test");
    test_cmd->add_option("--checkpoint", checkpoint)->required();
    cli::add_flags(*test_cmd, test, cli::checkpoint_data_option, "Options", "the checkpoint's");
  }
};

train::RunConfig from_command_line(std::string_view text) {
  static Cli cli;  // CLI11 clears an App's results when it parses again
  std::vector<std::string> args;
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = text.find_first_not_of(" \t\n\r", pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(text.find_first_of(" \t\n\r", start), text.size());
    args.emplace_back(text.substr(start, end - start));
    pos = end;
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector last argument first
  cli.app.parse(args);
  train::RunConfig cfg;
  (void)cli::apply_flags(cli.train_cmd->parsed()  ? cli.train
                         : cli.test_cmd->parsed() ? cli.test
                                                  : cli.root,
                         cfg);
  return cfg;
}

train::RunConfig from_set_option(std::string_view text) {
  train::RunConfig cfg;
  for (size_t pos = 0; pos <= text.size();) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t space = std::min(line.find(' '), line.size());
    const std::string name(line.substr(0, space));
    const std::string value(line.substr(std::min(space + 1, line.size())));
    nlohmann::json v = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded()) v = value;
    train::set_option(cfg, name, v, "--" + name);
  }
  return cfg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const train::ValidConfig cfg(data[0] % 2 == 0 ? from_command_line(text)
                                                  : from_set_option(text));
    (void)train::setting_name(*cfg);
    (void)train::run_config_to_json(*cfg).dump(1);
  } catch (const Error&) {
  } catch (const cli::UsageError&) {
  } catch (const CLI::ParseError&) {
  }
  return 0;
}
