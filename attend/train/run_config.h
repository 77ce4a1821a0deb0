#pragma once
// The configuration of one forecasting run and its one option table.
//
// A RunConfig is made of parts that the layers below take directly: data::DataConfig (the data
// layer), models::ModelConfig (the model registry; it carries the sample shape the data layer
// reads too) and TrainConfig (the trainer), plus RunInfo (naming and mode). Every option — a CLI
// flag, a config.json key, with TSLib run.py's names — is one row of `run_options()`: its name,
// the member it sets, its kind, help, group and check. The flags, their help, config.json reading
// and writing and the checks all come from that table; the default is the member's initializer.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "attend/data/dataset.h"
#include "attend/models/config.h"

namespace attend::train {

// Naming and mode of a run.
struct RunInfo {
  std::string task_name = "long_term_forecast";  // only long_term_forecast is supported
  int64_t is_training = 1;                       // run.py mode: 1 train then test, 0 test
  std::string model_id = "test";
  std::string des = "test";  // only names the run folder
  std::string checkpoints = "./checkpoints/";
  int64_t expand = 2, d_conv = 4;  // only name the run folder (Mamba flags)
};

// The trainer's options.
struct TrainConfig {
  int64_t train_epochs = 10, batch_size = 32, patience = 3;
  double learning_rate = 1e-4;
  std::string loss = "MSE";     // MSE, MAE or Huber
  std::string lradj = "type1";  // type1, type2, type3, cosine, constant, TST
  int64_t seed = 2;
  bool inverse = false;  // test metrics in original units
};

struct RunConfig {
  RunInfo run;
  data::DataConfig data;
  models::ModelConfig model;
  TrainConfig train;
};

// ---- the option table ------------------------------------------------------------------------

// Value kinds of run.py's argparse options.
enum class FlagKind { Str, Int, Float, StoreTrue, StoreFalse, IntList, StrList, FloatList };

// Where an option belongs; Ignored: a run.py flag attend accepts without effect.
enum class OptionGroup { Run, Data, Model, Training, Ignored };

// The member an option sets.
using OptionRef = std::variant<std::string*, int64_t*, double*, bool*, std::vector<std::string>*,
                               std::vector<double>*>;

struct Option {
  const char* name;   // flag name without "--", also the config.json key
  FlagKind kind;      // how a value is parsed
  OptionGroup group;  // part of the configuration (or Ignored)
  const char* help;   // one line; "" for Ignored options
  const char*
      runpy_default;  // run.py's default as JSON text (attend's is the member's initializer)
  OptionRef (*member)(RunConfig&) = nullptr;  // the member it sets; null for Ignored options
  // Checks the value alone, throwing attend::Error that starts with `flag` ("--seq_len ..."); the
  // checks across options live in validate().
  std::function<void(const nlohmann::json& value, const std::string& flag)> check = {};
  // Maps a string value to its canonical spelling ("TFT" -> "TemporalFusionTransformer").
  std::string (*canonical)(const std::string& value, const std::string& flag) = nullptr;
  const char* default_text = nullptr;  // shown in help instead of the default value
  const char* dest = nullptr;          // argparse dest when not the name (--no_use_gpu: use_gpu)
  bool runpy = true;                   // a TSLib run.py flag (false: attend's own)
};

// The 95 run.py flags in run.py's order, then attend's own.
const std::vector<Option>& run_options();
// The option named `name` (no leading dashes), or nullptr.
const Option* find_option(std::string_view name);
// One-line help of an option, with attend's default where it differs from run.py's.
std::string option_help(const Option& option);
// The option's current value in `cfg` as JSON (null for Ignored options).
nlohmann::json option_value(const Option& option, const RunConfig& cfg);
// The option's default (its value in a default RunConfig, or run.py's for Ignored ones) as text.
std::string option_default_text(const Option& option);

// Format version written as "attend_format" in config.json.
inline constexpr int kFormatVersion = 1;

// Sets one option from a JSON value of its kind (ints for Int, numbers for Float, booleans for
// the store_* kinds, arrays or "a,b" strings for lists; strings holding numbers are not
// accepted). Ignored options are checked for type and dropped. `source` names the origin in
// messages ("config.json: 'seq_len'", "--seq_len"); unknown names are errors naming the key.
void set_option(RunConfig& cfg, std::string_view name, const nlohmann::json& value,
                const std::string& source);

// Builds a RunConfig from a JSON object of option -> value (a checkpoint's config.json): attend's
// keys are read, other run.py keys ignored, "attend_format" checked; any other key is an error
// naming it. Missing keys keep the defaults.
RunConfig run_config_from_json(const nlohmann::json& j, const std::string& source);
// Every option attend reads, plus "attend_format".
nlohmann::json run_config_to_json(const RunConfig& cfg);

// A RunConfig that passed validate(). The library's entry points take one: converting a RunConfig
// validates it once, passing a ValidConfig on checks nothing again.
class ValidConfig {
 public:
  ValidConfig(const RunConfig& cfg);  // NOLINT: implicit, validates
  const RunConfig& operator*() const { return cfg_; }
  const RunConfig* operator->() const { return &cfg_; }
  const RunConfig& get() const { return cfg_; }

 private:
  RunConfig cfg_;
};

// Runs every option's check, then the checks across options (label_len <= seq_len, the model's
// own checks from its registry entry, TFT column roles); throws attend::Error naming the flag
// ("--features 'X' must be M, S or MS").
void validate(const RunConfig& cfg);

// TSLib's setting string, the run folder's name:
// {task}_{model_id}_{model}_{data}_ft{features}_sl.._ll.._pl.._dm.._nh.._el.._dl.._df.._expand.._dc..
// _fc.._eb{embed}_dt{distil True/False}_{des}_0
std::string setting_name(const RunConfig& cfg);

// The configuration resolved against data with `columns` (the channel order) and frequency `freq`
// (the data's, inferred or given): enc_in/dec_in/c_out 0 become the column count (an explicit
// enc_in that disagrees is an error naming `source`), freq "auto" becomes `freq`, and the TFT
// column names of cfg.data become indices into `columns` (a name not among them is an error naming
// the flag).
RunConfig resolve(RunConfig cfg, const std::vector<std::string>& columns, const std::string& freq,
                  const std::string& source);

}  // namespace attend::train
