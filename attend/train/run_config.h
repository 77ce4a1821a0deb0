#pragma once
// The configuration of one forecasting run, keyed by TSLib run.py's flag names. The same names
// are the keys of a checkpoint's config.json and the CLI's flags. Every run.py flag is known
// (tslib_run_flags.json); attend reads a subset and accepts the others without effect.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attend/data/dataset.h"
#include "attend/models/config.h"

namespace attend::train {

// Value kinds of run.py's argparse options.
enum class FlagKind { Str, Int, Float, StoreTrue, StoreFalse, IntList, StrList, FloatList };

struct FlagSpec {
  const char* name;          // flag name without "--" (also the config.json key)
  const char* dest;          // argparse dest (--no_use_gpu writes use_gpu)
  FlagKind kind;             // how the value is parsed
  const char* default_json;  // run.py's default as JSON text (attend's own default may differ)
  bool used;                 // attend reads it (false: accepted and ignored)
  bool runpy = true;         // a TSLib run.py flag (false: attend's own)
};

// The 95 run.py flags in run.py's order, then attend's own config flags (static_columns,
// known_columns, quantiles).
const std::vector<FlagSpec>& run_flags();
// The spec of flag `name` (no leading dashes), or nullptr.
const FlagSpec* find_flag(std::string_view name);
// One-line help of a flag, with attend's default where it differs from run.py's.
std::string flag_help(const FlagSpec& spec);

// Format version written as "attend_format" in config.json.
inline constexpr int kFormatVersion = 1;

struct RunConfig {
  // ---- the run
  std::string task_name = "long_term_forecast";  // only long_term_forecast is supported
  int64_t is_training = 1;                       // run.py mode: 1 train then test, 0 test
  std::string model_id = "test";
  std::string model = "PatchTST";  // run.py's default Autoformer is not an attend model
  std::string des = "test";        // only names the run folder
  std::string checkpoints = "./checkpoints/";
  int64_t expand = 2, d_conv = 4;  // only name the run folder (Mamba flags)
  // ---- data
  std::string data = "ETTh1";
  std::string root_path = "./data/";  // run.py: ./data/ETT/
  std::string data_path = "ETTh1.csv";
  std::string features = "M";
  std::string target = "OT";
  std::string freq = "h";  // "auto" infers from the timestamps
  int64_t seq_len = 96, label_len = 48, pred_len = 96;
  bool inverse = false;
  // ---- model (0 for enc_in/dec_in/c_out: the selected column count of the data; run.py: 7)
  int64_t enc_in = 0, dec_in = 0, c_out = 0;
  int64_t d_model = 512, n_heads = 8, e_layers = 2, d_layers = 1, d_ff = 2048;
  int64_t moving_avg = 25, factor = 1;
  bool distil = true;
  double dropout = 0.1;
  std::string embed = "timeF";
  std::string activation = "gelu";
  int64_t use_norm = 1, patch_len = 16;
  // ---- training
  int64_t train_epochs = 10, batch_size = 32, patience = 3;
  double learning_rate = 1e-4;
  std::string loss = "MSE";     // MSE, MAE or Huber
  std::string lradj = "type1";  // type1, type2, type3, cosine, constant, TST
  int64_t seed = 2;
  // ---- TFT (attend's own flags): column names and quantile levels
  std::vector<std::string> static_columns, known_columns;
  std::vector<double> quantiles;
  // ---- Informer (attend's own flag): "prob" (TSLib) or "full" cross-attention
  std::string cross_attention = "prob";
};

// Sets one flag from a JSON value of the flag's kind (ints for Int, numbers for Float, booleans
// for the store_* kinds, arrays for lists; strings holding numbers are not accepted). run.py
// flags attend does not read are checked for type and dropped. `source` names the origin in
// messages ("config.json", "--seq_len"). Unknown names are errors naming the key.
void set_flag(RunConfig& cfg, std::string_view name, const nlohmann::json& value,
              const std::string& source);

// Builds a RunConfig from a JSON object of flag -> value (a checkpoint's config.json): attend's
// keys are read, other run.py keys ignored, "attend_format" checked; any other key is an error
// naming it. Missing keys keep RunConfig's defaults.
RunConfig run_config_from_json(const nlohmann::json& j, const std::string& source);
// Every key attend reads, plus "attend_format".
nlohmann::json run_config_to_json(const RunConfig& cfg);

// Checks values and combinations that need no data; throws attend::Error naming the flag
// ("--features 'X' must be M, S or MS").
void validate(const RunConfig& cfg);

// TSLib's setting string, the run folder's name:
// {task}_{model_id}_{model}_{data}_ft{features}_sl.._ll.._pl.._dm.._nh.._el.._dl.._df.._expand.._dc..
// _fc.._eb{embed}_dt{distil True/False}_{des}_0
std::string setting_name(const RunConfig& cfg);

// The data layer's configuration ("auto" freq becomes "" = infer).
data::ForecastDataConfig data_config(const RunConfig& cfg);
// The model's configuration; `columns` (the data's channel order) resolves TFT column names.
// `freq` is the resolved one-letter frequency.
models::ModelConfig model_config(const RunConfig& cfg, const std::vector<std::string>& columns,
                                 const std::string& freq);

}  // namespace attend::train
