#include "flags.h"

#include <cerrno>
#include <cstdlib>
#include <set>

#include <nlohmann/json.hpp>

namespace attend::cli {

using train::FlagKind;
using train::Option;
using train::OptionGroup;
using train::RunConfig;

namespace {

nlohmann::json parse_int(const std::string& flag, const std::string& s) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != 0 || errno) throw UsageError(flag + ": '" + s + "' is not an integer");
  return static_cast<int64_t>(v);
}

}  // namespace

void add_flags(CLI::App& app, Bindings& out, const std::function<bool(const Option&)>& keep,
               const std::string& used_group, const std::string& default_text) {
  for (const auto& f : attend::train::run_options()) {
    if (keep && !keep(f)) continue;
    Binding& b = out.emplace_back();
    b.spec = &f;
    const std::string name = std::string("--") + f.name;
    const std::string help = attend::train::option_help(f);
    const std::string deflt =
        " [default: " +
        (default_text.empty() ? attend::train::option_default_text(f) : default_text) + "]";
    const bool used = f.group != OptionGroup::Ignored;
    const std::string group = used ? used_group : "run.py options (accepted, ignored)";
    switch (f.kind) {
      case FlagKind::StoreTrue:
      case FlagKind::StoreFalse:
        b.option = app.add_flag(name, b.flag, help);
        break;
      case FlagKind::IntList:
        b.option = app.add_option(name, b.texts, help + deflt);
        b.option->expected(1, CLI::detail::expected_max_vector_size);
        break;
      default:
        b.option = app.add_option(name, b.text, help + deflt);
        b.option->type_name(f.kind == FlagKind::Int     ? "INT"
                            : f.kind == FlagKind::Float ? "FLOAT"
                                                        : "TEXT");
        b.option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // argparse: last wins
    }
    b.option->group(group);
  }
}

// Applies the flags given on the command line to cfg; returns the run.py flags without effect.
std::vector<std::string> apply_flags(const Bindings& bs, RunConfig& cfg) {
  std::vector<std::string> ignored;
  for (const auto& b : bs) {
    if (b.option->count() == 0) continue;
    const std::string flag = std::string("--") + b.spec->name;
    nlohmann::json v;
    switch (b.spec->kind) {
      case FlagKind::Str:
      case FlagKind::StrList:
      case FlagKind::FloatList:
        v = b.text;
        break;
      case FlagKind::Int:
        v = parse_int(flag, b.text);
        break;
      case FlagKind::Float: {
        char* end = nullptr;
        double d = std::strtod(b.text.c_str(), &end);
        if (b.text.empty() || *end != 0)
          throw UsageError(flag + ": '" + b.text + "' is not a number");
        v = d;
        break;
      }
      case FlagKind::StoreTrue:
        v = true;
        break;
      case FlagKind::StoreFalse:
        v = false;
        break;
      case FlagKind::IntList:
        v = nlohmann::json::array();
        for (const auto& t : b.texts) v.push_back(parse_int(flag, t));
        break;
    }
    try {
      attend::train::set_option(cfg, b.spec->name, v, flag);
    } catch (const attend::Error& e) {
      throw UsageError(e.what());
    }
    if (b.spec->group == OptionGroup::Ignored)
      ignored.push_back(flag);
    else if (std::string(b.spec->name) == "des")
      ignored.push_back("--des (names the run folder only)");
  }
  return ignored;
}

bool checkpoint_data_option(const Option& o) {
  static const std::set<std::string> names = {
      "root_path", "data_path", "data",     "target",    "freq",       "batch_size", "inverse",
      "missing",   "id_col",    "time_col", "val_start", "test_start", "skip_short", "date_format"};
  return names.count(o.name) > 0;
}

bool given(const Bindings& bs, const std::string& name) {
  for (const auto& b : bs)
    if (b.spec->name == name) return b.option->count() > 0;
  return false;
}

namespace {

// A validator that accepts a number x with ok(x); otherwise "must be <what>, got <text>".
CLI::Validator number_check(const char* name, const char* what, bool (*ok)(double)) {
  return CLI::Validator(
      [what, ok](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double x = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || errno == ERANGE)
          return "'" + text + "' is not a number";
        return ok(x) ? std::string() : "must be " + std::string(what) + ", got " + text;
      },
      name);
}

}  // namespace

CLI::Validator positive() {
  return number_check("POSITIVE", "> 0", [](double x) { return x > 0; });
}

CLI::Validator non_negative() {
  return number_check("NONNEGATIVE", ">= 0", [](double x) { return x >= 0; });
}

}  // namespace attend::cli
