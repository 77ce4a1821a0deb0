// The run configuration's option table and what comes from it: setting options from flags and
// config.json, writing config.json, the checks and the resolution against the data.
#include "attend/train/run_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

#include "attend/base/error.h"
#include "attend/base/utf8.h"
#include "attend/data/csv.h"
#include "attend/data/time_features.h"
#include "attend/models/model.h"

namespace attend::train {

namespace {

using nlohmann::json;
using Check = std::function<void(const json&, const std::string&)>;

// ---- checks of one value -----------------------------------------------------------------------

Check at_least(int64_t min) {
  return [min](const json& v, const std::string& flag) {
    ATTEND_CHECK(v.get<int64_t>() >= min, "{} must be >= {}, got {}", flag, min, v.dump());
  };
}

// "--features 'X' must be M, S or MS"
Check one_of(std::vector<std::string> choices) {
  return [choices](const json& v, const std::string& flag) {
    const std::string s = v.get<std::string>();
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return;
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i)
      list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
    fail("{} '{}' must be {}", flag, s, list);
  };
}

Check one_of_ints(std::vector<int64_t> choices) {
  return [choices](const json& v, const std::string& flag) {
    const int64_t x = v.get<int64_t>();
    if (std::find(choices.begin(), choices.end(), x) != choices.end()) return;
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i)
      list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + std::to_string(choices[i]);
    fail("{} must be {}, got {}", flag, list, x);
  };
}

Check not_empty() {
  return [](const json& v, const std::string& flag) {
    ATTEND_CHECK(!v.get<std::string>().empty(), "{} must not be empty", flag);
  };
}

Check task_name_check() {
  return [](const json& v, const std::string& flag) {
    ATTEND_CHECK(v.get<std::string>() == "long_term_forecast",
                 "{} '{}' is not supported (attend runs long_term_forecast)", flag,
                 v.get<std::string>());
  };
}

Check freq_check() {
  return [](const json& v, const std::string& flag) {
    const std::string f = v.get<std::string>();
    if (f.empty() || f == "auto") return;
    try {
      (void)data::parse_freq(f);
    } catch (const Error&) {
      fail(
          "{} '{}' is not a frequency (s, t, h, d, b, w, m, pandas' 15min, D, B, W-TUE, MS, ME, "
          "QS, QE, YS, YE, ... or auto)",
          flag, f);
    }
  };
}

// A timestamp the data layer reads ("" for none).
// A date in any --date_format order; validate() reads it in the configured one.
Check date_check() {
  return [](const json& v, const std::string& flag) {
    const std::string text = v.get<std::string>();
    int64_t t = 0;
    const bool date = text.empty() || data::parse_timestamp(text, &t) ||
                      data::parse_timestamp(text, data::DateOrder::DayFirst, &t) ||
                      data::parse_timestamp(text, data::DateOrder::MonthFirst, &t);
    ATTEND_CHECK(date, "{} '{}' is not a date (e.g. 2017-06-01 or 2017-06-01 00:00:00)", flag,
                 text);
  };
}

Check probability_check() {
  return [](const json& v, const std::string& flag) {
    const double p = v.get<double>();
    ATTEND_CHECK(p >= 0.0 && p < 1.0, "{} must be in [0, 1), got {}", flag, p);
  };
}

Check positive_check() {
  return [](const json& v, const std::string& flag) {
    const double x = v.get<double>();
    ATTEND_CHECK(x > 0.0 && std::isfinite(x), "{} must be > 0, got {}", flag, x);
  };
}

// Levels in (0, 1), strictly increasing.
Check quantiles_check() {
  return [](const json& v, const std::string& flag) {
    const auto q = v.get<std::vector<double>>();
    for (size_t i = 0; i < q.size(); ++i) {
      ATTEND_CHECK(q[i] > 0.0 && q[i] < 1.0, "{}: {} is not in (0, 1)", flag, q[i]);
      ATTEND_CHECK(i == 0 || q[i] > q[i - 1], "{} must be strictly increasing", flag);
    }
  };
}

std::string canonical_model(const std::string& name, const std::string& flag) {
  return models::canonical_model_name(name, flag);
}

std::string canonical_loss(const std::string& s, const std::string&) {
  std::string l = s;
  for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "mse") return "MSE";
  if (l == "mae") return "MAE";
  if (l == "huber") return "Huber";
  return s;
}

// A run.py flag attend accepts and ignores.
Option ignored(const char* name, FlagKind kind, const char* runpy_default,
               const char* dest = nullptr) {
  return {.name = name,
          .kind = kind,
          .group = OptionGroup::Ignored,
          .help = "",
          .runpy_default = runpy_default,
          .dest = dest};
}

#define MEMBER(path) [](RunConfig& c) -> OptionRef { return &c.path; }

}  // namespace

const std::vector<Option>& run_options() {
  static const std::vector<Option> table = {
      {.name = "task_name",
       .kind = FlagKind::Str,
       .group = OptionGroup::Run,
       .help = "task; attend supports long_term_forecast",
       .runpy_default = R"("long_term_forecast")",
       .member = MEMBER(run.task_name),
       .check = task_name_check()},
      {.name = "is_training",
       .kind = FlagKind::Int,
       .group = OptionGroup::Run,
       .help = "1: train then test; 0: test the checkpoint under --checkpoints/<setting>",
       .runpy_default = R"(1)",
       .member = MEMBER(run.is_training),
       .check = one_of_ints({0, 1})},
      {.name = "model_id",
       .kind = FlagKind::Str,
       .group = OptionGroup::Run,
       .help = "run name, part of the run folder's name",
       .runpy_default = R"("test")",
       .member = MEMBER(run.model_id),
       .check = {}},
      {.name = "model",
       .kind = FlagKind::Str,
       .group = OptionGroup::Model,
       .help = "model name (see `attend models`; default PatchTST, run.py's is Autoformer)",
       .runpy_default = R"("Autoformer")",
       .member = MEMBER(model.model),
       .check = {},
       .canonical = canonical_model},
      {.name = "data",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "data protocol: ETTh1, ETTh2, ETTm1, ETTm2 or custom",
       .runpy_default = R"("ETTh1")",
       .member = MEMBER(data.data),
       .check = one_of({"ETTh1", "ETTh2", "ETTm1", "ETTm2", "custom"})},
      {.name = "root_path",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "folder of the CSV (run.py's default: ./data/ETT/)",
       .runpy_default = R"("./data/ETT/")",
       .member = MEMBER(data.root_path),
       .check = {}},
      {.name = "data_path",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "CSV file name inside --root_path",
       .runpy_default = R"("ETTh1.csv")",
       .member = MEMBER(data.data_path),
       .check = {}},
      {.name = "features",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "M: all columns -> all; S: target -> target; MS: all -> target",
       .runpy_default = R"("M")",
       .member = MEMBER(data.features),
       .check = one_of({"M", "S", "MS"})},
      {.name = "target",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "target column for S and MS",
       .runpy_default = R"("OT")",
       .member = MEMBER(data.target),
       .check = not_empty()},
      {.name = "freq",
       .kind = FlagKind::Str,
       .group = OptionGroup::Model,
       .help = "time-feature frequency: s, t, h, d, b, w, m or a pandas alias (15min, D, W-TUE, "
               "MS, QE, YS, ...); auto: the data's spacing",
       .runpy_default = R"("h")",
       .member = MEMBER(model.freq),
       .check = freq_check(),
       .default_text = "h (TSLib's) for wide data, auto for long format"},
      {.name = "checkpoints",
       .kind = FlagKind::Str,
       .group = OptionGroup::Run,
       .help = "root folder of the run folders",
       .runpy_default = R"("./checkpoints/")",
       .member = MEMBER(run.checkpoints),
       .check = {}},
      {.name = "seq_len",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "input window length",
       .runpy_default = R"(96)",
       .member = MEMBER(model.seq_len),
       .check = at_least(1)},
      {.name = "label_len",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "decoder start-token length (<= seq_len)",
       .runpy_default = R"(48)",
       .member = MEMBER(model.label_len),
       .check = at_least(0)},
      {.name = "pred_len",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "forecast horizon",
       .runpy_default = R"(96)",
       .member = MEMBER(model.pred_len),
       .check = at_least(1)},
      ignored("seasonal_patterns", FlagKind::Str, R"("Monthly")"),
      {.name = "inverse",
       .kind = FlagKind::StoreTrue,
       .group = OptionGroup::Training,
       .help = "report test metrics in original units",
       .runpy_default = R"(false)",
       .member = MEMBER(train.inverse),
       .check = {}},
      ignored("mask_rate", FlagKind::Float, R"(0.25)"),
      ignored("anomaly_ratio", FlagKind::Float, R"(0.25)"),
      {.name = "expand",
       .kind = FlagKind::Int,
       .group = OptionGroup::Run,
       .help = "Mamba expand (only names the run folder)",
       .runpy_default = R"(2)",
       .member = MEMBER(run.expand),
       .check = {}},
      {.name = "d_conv",
       .kind = FlagKind::Int,
       .group = OptionGroup::Run,
       .help = "Mamba d_conv (only names the run folder)",
       .runpy_default = R"(4)",
       .member = MEMBER(run.d_conv),
       .check = {}},
      ignored("tv_dt", FlagKind::Int, R"(0)"),
      ignored("tv_B", FlagKind::Int, R"(0)"),
      ignored("tv_C", FlagKind::Int, R"(0)"),
      ignored("use_D", FlagKind::Int, R"(0)"),
      ignored("top_k", FlagKind::Int, R"(5)"),
      ignored("num_kernels", FlagKind::Int, R"(6)"),
      {.name = "enc_in",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "encoder input size (default: the selected column count)",
       .runpy_default = R"(7)",
       .member = MEMBER(model.enc_in),
       .check = at_least(0),
       .default_text = "columns of the data"},
      {.name = "dec_in",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "decoder input size (default: the selected column count)",
       .runpy_default = R"(7)",
       .member = MEMBER(model.dec_in),
       .check = at_least(0),
       .default_text = "columns of the data"},
      {.name = "c_out",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "output size (default: the selected column count)",
       .runpy_default = R"(7)",
       .member = MEMBER(model.c_out),
       .check = at_least(0),
       .default_text = "columns of the data"},
      {.name = "d_model",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "model width",
       .runpy_default = R"(512)",
       .member = MEMBER(model.d_model),
       .check = at_least(1)},
      {.name = "n_heads",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "attention heads",
       .runpy_default = R"(8)",
       .member = MEMBER(model.n_heads),
       .check = at_least(1)},
      {.name = "e_layers",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "encoder layers",
       .runpy_default = R"(2)",
       .member = MEMBER(model.e_layers),
       .check = at_least(1)},
      {.name = "d_layers",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "decoder layers",
       .runpy_default = R"(1)",
       .member = MEMBER(model.d_layers),
       .check = at_least(0)},
      {.name = "d_ff",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "feed-forward width",
       .runpy_default = R"(2048)",
       .member = MEMBER(model.d_ff),
       .check = at_least(1)},
      {.name = "moving_avg",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "moving-average window (DLinear)",
       .runpy_default = R"(25)",
       .member = MEMBER(model.moving_avg),
       .check = at_least(1)},
      {.name = "factor",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "ProbSparse attention factor (Informer)",
       .runpy_default = R"(1)",
       .member = MEMBER(model.factor),
       .check = at_least(1)},
      {.name = "distil",
       .kind = FlagKind::StoreFalse,
       .group = OptionGroup::Model,
       .help = "pass to turn Informer's distilling OFF (run.py's store_false)",
       .runpy_default = R"(true)",
       .member = MEMBER(model.distil),
       .check = {}},
      {.name = "dropout",
       .kind = FlagKind::Float,
       .group = OptionGroup::Model,
       .help = "dropout probability",
       .runpy_default = R"(0.1)",
       .member = MEMBER(model.dropout),
       .check = probability_check()},
      {.name = "embed",
       .kind = FlagKind::Str,
       .group = OptionGroup::Model,
       .help = "time encoding: timeF, fixed or learned",
       .runpy_default = R"("timeF")",
       .member = MEMBER(model.embed),
       .check = one_of({"timeF", "fixed", "learned"})},
      {.name = "activation",
       .kind = FlagKind::Str,
       .group = OptionGroup::Model,
       .help = "gelu or relu",
       .runpy_default = R"("gelu")",
       .member = MEMBER(model.activation),
       .check = one_of({"gelu", "relu"})},
      ignored("channel_independence", FlagKind::Int, R"(1)"),
      ignored("decomp_method", FlagKind::Str, R"("moving_avg")"),
      {.name = "use_norm",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "iTransformer's window normalisation (1/0)",
       .runpy_default = R"(1)",
       .member = MEMBER(model.use_norm),
       .check = {}},
      ignored("down_sampling_layers", FlagKind::Int, R"(0)"),
      ignored("down_sampling_window", FlagKind::Int, R"(1)"),
      ignored("down_sampling_method", FlagKind::Str, R"(null)"),
      ignored("seg_len", FlagKind::Int, R"(96)"),
      ignored("num_workers", FlagKind::Int, R"(10)"),
      ignored("itr", FlagKind::Int, R"(1)"),
      {.name = "train_epochs",
       .kind = FlagKind::Int,
       .group = OptionGroup::Training,
       .help = "epochs",
       .runpy_default = R"(10)",
       .member = MEMBER(train.train_epochs),
       .check = at_least(1)},
      {.name = "batch_size",
       .kind = FlagKind::Int,
       .group = OptionGroup::Training,
       .help = "windows per batch",
       .runpy_default = R"(32)",
       .member = MEMBER(train.batch_size),
       .check = at_least(1)},
      {.name = "patience",
       .kind = FlagKind::Int,
       .group = OptionGroup::Training,
       .help = "early-stopping patience (epochs without a better validation loss)",
       .runpy_default = R"(3)",
       .member = MEMBER(train.patience),
       .check = at_least(0)},
      {.name = "learning_rate",
       .kind = FlagKind::Float,
       .group = OptionGroup::Training,
       .help = "Adam learning rate",
       .runpy_default = R"(0.0001)",
       .member = MEMBER(train.learning_rate),
       .check = positive_check()},
      {.name = "des",
       .kind = FlagKind::Str,
       .group = OptionGroup::Run,
       .help = "experiment description (only names the run folder)",
       .runpy_default = R"("test")",
       .member = MEMBER(run.des),
       .check = {}},
      {.name = "loss",
       .kind = FlagKind::Str,
       .group = OptionGroup::Training,
       .help = "training loss: MSE, MAE or Huber (with --quantiles: the pinball loss)",
       .runpy_default = R"("MSE")",
       .member = MEMBER(train.loss),
       .check = one_of({"MSE", "MAE", "Huber"}),
       .canonical = canonical_loss},
      {.name = "lradj",
       .kind = FlagKind::Str,
       .group = OptionGroup::Training,
       .help = "learning-rate schedule: type1, type2, type3, cosine, constant, TST",
       .runpy_default = R"("type1")",
       .member = MEMBER(train.lradj),
       .check = one_of({"type1", "type2", "type3", "cosine", "constant", "TST"})},
      ignored("use_amp", FlagKind::StoreTrue, R"(false)"),
      ignored("use_gpu", FlagKind::StoreTrue, R"(true)"),
      ignored("no_use_gpu", FlagKind::StoreFalse, R"(true)", "use_gpu"),
      ignored("gpu", FlagKind::Int, R"(0)"),
      ignored("gpu_type", FlagKind::Str, R"("cuda")"),
      ignored("use_multi_gpu", FlagKind::StoreTrue, R"(false)"),
      ignored("devices", FlagKind::Str, R"("0,1,2,3")"),
      ignored("p_hidden_dims", FlagKind::IntList, R"([128, 128])"),
      ignored("p_hidden_layers", FlagKind::Int, R"(2)"),
      ignored("use_dtw", FlagKind::StoreTrue, R"(false)"),
      ignored("augmentation_ratio", FlagKind::Int, R"(0)"),
      {.name = "seed",
       .kind = FlagKind::Int,
       .group = OptionGroup::Training,
       .help = "random seed (model init, dropout, shuffling)",
       .runpy_default = R"(2)",
       .member = MEMBER(train.seed),
       .check = at_least(0)},
      ignored("jitter", FlagKind::StoreTrue, R"(false)"),
      ignored("scaling", FlagKind::StoreTrue, R"(false)"),
      ignored("permutation", FlagKind::StoreTrue, R"(false)"),
      ignored("randompermutation", FlagKind::StoreTrue, R"(false)"),
      ignored("magwarp", FlagKind::StoreTrue, R"(false)"),
      ignored("timewarp", FlagKind::StoreTrue, R"(false)"),
      ignored("windowslice", FlagKind::StoreTrue, R"(false)"),
      ignored("windowwarp", FlagKind::StoreTrue, R"(false)"),
      ignored("rotation", FlagKind::StoreTrue, R"(false)"),
      ignored("spawner", FlagKind::StoreTrue, R"(false)"),
      ignored("dtwwarp", FlagKind::StoreTrue, R"(false)"),
      ignored("shapedtwwarp", FlagKind::StoreTrue, R"(false)"),
      ignored("wdba", FlagKind::StoreTrue, R"(false)"),
      ignored("discdtw", FlagKind::StoreTrue, R"(false)"),
      ignored("discsdtw", FlagKind::StoreTrue, R"(false)"),
      ignored("extra_tag", FlagKind::Str, R"("")"),
      {.name = "patch_len",
       .kind = FlagKind::Int,
       .group = OptionGroup::Model,
       .help = "PatchTST patch length",
       .runpy_default = R"(16)",
       .member = MEMBER(model.patch_len),
       .check = at_least(1)},
      ignored("node_dim", FlagKind::Int, R"(10)"),
      ignored("gcn_depth", FlagKind::Int, R"(2)"),
      ignored("gcn_dropout", FlagKind::Float, R"(0.3)"),
      ignored("propalpha", FlagKind::Float, R"(0.3)"),
      ignored("conv_channel", FlagKind::Int, R"(32)"),
      ignored("skip_channel", FlagKind::Int, R"(32)"),
      {.name = "individual",
       .kind = FlagKind::StoreTrue,
       .group = OptionGroup::Model,
       .help = "DLinear: one seasonal and one trend linear layer per variable (default: shared)",
       .runpy_default = R"(false)",
       .member = MEMBER(model.individual),
       .check = {}},
      ignored("alpha", FlagKind::Float, R"(0.1)"),
      ignored("top_p", FlagKind::Float, R"(0.5)"),
      ignored("pos", FlagKind::Int, R"(1)"),
      {.name = "static_columns",
       .kind = FlagKind::StrList,
       .group = OptionGroup::Data,
       .help = "TFT: comma list of static columns",
       .runpy_default = R"([])",
       .member = MEMBER(data.static_columns),
       .check = {},
       .runpy = false},
      {.name = "known_columns",
       .kind = FlagKind::StrList,
       .group = OptionGroup::Data,
       .help = "TFT: comma list of future-known columns",
       .runpy_default = R"([])",
       .member = MEMBER(data.known_columns),
       .check = {},
       .runpy = false},
      {.name = "quantiles",
       .kind = FlagKind::FloatList,
       .group = OptionGroup::Model,
       .help = "comma list of increasing quantile levels in (0, 1), e.g. 0.1,0.5,0.9: every model "
               "then forecasts each level, trained with the mean pinball loss (instead of "
               "--loss); the point forecast is the 0.5 level when listed, else the middle one",
       .runpy_default = R"([])",
       .member = MEMBER(model.quantiles),
       .check = quantiles_check(),
       .runpy = false},
      {.name = "cross_attention",
       .kind = FlagKind::Str,
       .group = OptionGroup::Model,
       .help = "Informer's decoder cross-attention: prob (TSLib's ProbSparse) or full (the "
               "Informer paper's)",
       .runpy_default = R"("prob")",
       .member = MEMBER(model.cross_attention),
       .check = one_of({"prob", "full"}),
       .runpy = false},
      {.name = "id_col",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "long format: the series-id column (\"\": unique_id when the file has it)",
       .runpy_default = R"("")",
       .member = MEMBER(data.id_col),
       .runpy = false},
      {.name = "time_col",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "the time column (\"\": date, else ds)",
       .runpy_default = R"("")",
       .member = MEMBER(data.time_col),
       .runpy = false},
      {.name = "val_start",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "first timestamp of the validation split of every series (with --test_start; "
               "\"\": a 70/10/20 split)",
       .runpy_default = R"("")",
       .member = MEMBER(data.val_start),
       .check = date_check(),
       .runpy = false},
      {.name = "test_start",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "first timestamp of the test split of every series (with --val_start)",
       .runpy_default = R"("")",
       .member = MEMBER(data.test_start),
       .check = date_check(),
       .runpy = false},
      {.name = "skip_short",
       .kind = FlagKind::StoreTrue,
       .group = OptionGroup::Data,
       .help = "long format: leave out, with a note, series too short for one window of each "
               "split (default: an error naming the series)",
       .runpy_default = R"(false)",
       .member = MEMBER(data.skip_short),
       .runpy = false},
      {.name = "missing",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "missing values and rows: error, ffill (last observed value), interpolate "
               "(linear), mask (targets left out of loss and metrics, inputs ffilled)",
       .runpy_default = R"("error")",
       .member = MEMBER(data.missing),
       .check = one_of({"error", "ffill", "interpolate", "mask"}),
       .runpy = false},
      {.name = "date_format",
       .kind = FlagKind::Str,
       .group = OptionGroup::Data,
       .help = "dates with the year last: dmy (31/12/2020, 31.12.2020 13:00) or mdy (12/31/2020); "
               "ymd reads only dates that start with the year",
       .runpy_default = R"("ymd")",
       .member = MEMBER(data.date_format),
       .check = one_of({"ymd", "dmy", "mdy"}),
       .runpy = false},

  };
  return table;
}

#undef MEMBER

const Option* find_option(std::string_view name) {
  for (const auto& o : run_options())
    if (name == o.name) return &o;
  return nullptr;
}

namespace {

// ---- JSON values of each kind -----------------------------------------------------------------

int64_t as_int(const json& v, const std::string& what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9e15)
      return static_cast<int64_t>(d);
  }
  fail("{}: expected an integer, got {}", what, v.dump());
}

double as_float(const json& v, const std::string& what) {
  ATTEND_CHECK(v.is_number(), "{}: expected a number, got {}", what, v.dump());
  return v.get<double>();
}

bool as_bool(const json& v, const std::string& what) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1))
    return v.get<int64_t>() == 1;
  fail("{}: expected true or false, got {}", what, v.dump());
}

std::string as_str(const json& v, const std::string& what) {
  if (v.is_null()) return "";
  ATTEND_CHECK(v.is_string(), "{}: expected a string, got {}", what, v.dump());
  return v.get<std::string>();
}

std::vector<std::string> as_str_list(const json& v, const std::string& what) {
  std::vector<std::string> out;
  if (v.is_string()) {  // "a,b,c"
    std::string s = v.get<std::string>(), cur;
    for (char c : s + ",") {
      if (c == ',') {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
      } else if (c != ' ') {
        cur += c;
      }
    }
    return out;
  }
  ATTEND_CHECK(v.is_array(), "{}: expected a list of names, got {}", what, v.dump());
  for (const auto& e : v) out.push_back(as_str(e, what));
  return out;
}

std::vector<double> as_float_list(const json& v, const std::string& what) {
  std::vector<double> out;
  if (v.is_string()) {
    for (const auto& s : as_str_list(v, what)) {
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      ATTEND_CHECK(end && *end == 0 && !s.empty(), "{}: '{}' is not a number", what, s);
      out.push_back(d);
    }
    return out;
  }
  ATTEND_CHECK(v.is_array(), "{}: expected a list of numbers, got {}", what, v.dump());
  for (const auto& e : v) out.push_back(as_float(e, what));
  return out;
}

// Checks that `v` is a value of `kind` (for options attend ignores).
void check_kind(FlagKind kind, const json& v, const std::string& what) {
  switch (kind) {
    case FlagKind::Str:
      (void)as_str(v, what);
      break;
    case FlagKind::Int:
      (void)as_int(v, what);
      break;
    case FlagKind::Float:
      (void)as_float(v, what);
      break;
    case FlagKind::StoreTrue:
    case FlagKind::StoreFalse:
      (void)as_bool(v, what);
      break;
    case FlagKind::IntList:
      if (!v.is_array())
        (void)as_int(v, what);
      else
        for (const auto& e : v) (void)as_int(e, what);
      break;
    case FlagKind::StrList:
      (void)as_str_list(v, what);
      break;
    case FlagKind::FloatList:
      (void)as_float_list(v, what);
      break;
  }
}

// Reads `v` into the member `ref` points at, by the member's type.
void assign(const OptionRef& ref, const json& v, const std::string& what) {
  std::visit(
      [&](auto* m) {
        using T = std::remove_pointer_t<decltype(m)>;
        if constexpr (std::is_same_v<T, std::string>)
          *m = as_str(v, what);
        else if constexpr (std::is_same_v<T, int64_t>)
          *m = as_int(v, what);
        else if constexpr (std::is_same_v<T, double>)
          *m = as_float(v, what);
        else if constexpr (std::is_same_v<T, bool>)
          *m = as_bool(v, what);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>)
          *m = as_str_list(v, what);
        else
          *m = as_float_list(v, what);
      },
      ref);
}

// Applies the option's canonical spelling to its string member.
void make_canonical(const Option& o, RunConfig& c, const std::string& flag) {
  if (!o.canonical) return;
  std::string* s = std::get<std::string*>(o.member(c));
  *s = o.canonical(*s, flag);
}

}  // namespace

json option_value(const Option& o, const RunConfig& cfg) {
  if (!o.member) return nullptr;
  // The accessor only forms a pointer; the value is read, never written.
  const OptionRef ref = o.member(const_cast<RunConfig&>(cfg));
  return std::visit([](auto* m) { return json(*m); }, ref);
}

std::string option_default_text(const Option& o) {
  if (o.default_text) return o.default_text;
  const json v = o.member ? option_value(o, RunConfig{}) : json::parse(o.runpy_default);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string option_help(const Option& o) {
  return o.group == OptionGroup::Ignored ? "run.py flag, accepted and ignored by attend" : o.help;
}

void set_option(RunConfig& c, std::string_view name, const json& v, const std::string& source) {
  const Option* o = find_option(name);
  const std::string what = source.empty() ? "--" + std::string(name) : source;
  ATTEND_CHECK(o != nullptr, "{}: unknown key '{}' (neither an attend nor a TSLib run.py flag)",
               source.empty() ? std::string("flags") : source, name);
  // Text from a command line may be any bytes; config.json can only hold UTF-8.
  ATTEND_CHECK(!v.is_string() || is_utf8(v.get_ref<const std::string&>()),
               "{}: the value is not UTF-8 text", what);
  check_kind(o->kind, v, what);
  if (!o->member) return;
  assign(o->member(c), v, what);
  make_canonical(*o, c, what);
}

RunConfig run_config_from_json(const json& j, const std::string& source) {
  ATTEND_CHECK(j.is_object(), "{}: expected a JSON object of flag names to values", source);
  RunConfig c;
  for (const auto& [key, value] : j.items()) {
    if (key == "attend_format") {
      ATTEND_CHECK(value.is_number_integer() && value.get<int64_t>() >= 1 &&
                       value.get<int64_t>() <= kFormatVersion,
                   "{}: attend_format {} is not supported (this attend reads 1..{})", source,
                   value.dump(), kFormatVersion);
      continue;
    }
    ATTEND_CHECK(find_option(key) != nullptr,
                 "{}: unknown key '{}' (neither an attend nor a TSLib run.py flag)", source, key);
    set_option(c, key, value, source + ": '" + key + "'");
  }
  return c;
}

json run_config_to_json(const RunConfig& c) {
  json j;
  j["attend_format"] = kFormatVersion;
  for (const auto& o : run_options())
    if (o.member) j[o.name] = option_value(o, c);
  return j;
}

void validate(const RunConfig& c) {
  for (const auto& o : run_options())
    if (o.check) o.check(option_value(o, c), std::string("--") + o.name);
  const models::ModelConfig& m = c.model;
  ATTEND_CHECK(models::canonical_model_name(m.model, "--model") == m.model,
               "--model '{}': use the registry name '{}'", m.model,
               models::canonical_model_name(m.model));
  ATTEND_CHECK(m.label_len <= m.seq_len, "--label_len {} must not exceed --seq_len {}", m.label_len,
               m.seq_len);
  ATTEND_CHECK(c.data.features != "S" || m.enc_in <= 1,
               "--enc_in {} contradicts --features S (one input column)", m.enc_in);
  models::check_model_options(m, !c.data.static_columns.empty(), !c.data.known_columns.empty());
  // A column has one role: static, known, or (unnamed) observed.
  std::map<std::string, std::string> role_flag;  // column -> the flag that named it first
  auto claim = [&](const std::string& column, const std::string& flag) {
    const auto [it, fresh] = role_flag.emplace(column, flag);
    ATTEND_CHECK(fresh, "column '{}' is named twice ({})", column,
                 it->second == flag ? flag : it->second + " and " + flag);
  };
  ATTEND_CHECK(c.data.val_start.empty() == c.data.test_start.empty(),
               "--val_start and --test_start go together (got only {})",
               c.data.val_start.empty() ? "--test_start" : "--val_start");
  const data::DateOrder order = data::parse_date_order(c.data.date_format);
  for (const auto& [flag, text] :
       {std::pair<const char*, const std::string&>{"--val_start", c.data.val_start},
        {"--test_start", c.data.test_start}}) {
    int64_t t = 0;
    ATTEND_CHECK(text.empty() || data::parse_timestamp(text, order, &t),
                 "{} '{}' is not a date read with --date_format {}", flag, text,
                 c.data.date_format);
  }
  for (const auto& s : c.data.static_columns) claim(s, "--static_columns");
  for (const auto& s : c.data.known_columns) claim(s, "--known_columns");
}

namespace {

RunConfig canonical(RunConfig c) {
  for (const auto& o : run_options()) make_canonical(o, c, std::string("--") + o.name);
  return c;
}

}  // namespace

ValidConfig::ValidConfig(const RunConfig& cfg) : cfg_(canonical(cfg)) {
  validate(cfg_);
}

std::string setting_name(const RunConfig& c) {
  const models::ModelConfig& m = c.model;
  return fmt::format(
      "{}_{}_{}_{}_ft{}_sl{}_ll{}_pl{}_dm{}_nh{}_el{}_dl{}_df{}_expand{}_dc{}_fc{}_eb{}_dt{}_{}_0",
      c.run.task_name, c.run.model_id, m.model, c.data.data, c.data.features, m.seq_len,
      m.label_len, m.pred_len, m.d_model, m.n_heads, m.e_layers, m.d_layers, m.d_ff, c.run.expand,
      c.run.d_conv, m.factor, m.embed, m.distil ? "True" : "False", c.run.des);
}

RunConfig resolve(RunConfig c, const std::vector<std::string>& columns, const std::string& freq,
                  const std::string& source) {
  models::ModelConfig& m = c.model;
  const auto C = static_cast<int64_t>(columns.size());
  if (m.enc_in == 0) m.enc_in = C;
  if (m.dec_in == 0) m.dec_in = C;
  if (m.c_out == 0) m.c_out = C;
  ATTEND_CHECK(m.enc_in == C,
               "--enc_in {} does not match the {} column(s) that --features {} selects from {}",
               m.enc_in, C, c.data.features, source);
  if (m.freq == "auto" || m.freq.empty()) m.freq = freq;
  auto index_of = [&](const std::string& name, const char* flag) -> int64_t {
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return static_cast<int64_t>(i);
    std::string known;
    for (const auto& col : columns) known += (known.empty() ? "" : ", ") + col;
    fail("--{}: column '{}' is not among the model's columns ({})", flag, name, known);
  };
  m.static_columns.clear();
  m.known_columns.clear();
  for (const auto& s : c.data.static_columns)
    m.static_columns.push_back(index_of(s, "static_columns"));
  for (const auto& s : c.data.known_columns)
    m.known_columns.push_back(index_of(s, "known_columns"));
  return c;
}

}  // namespace attend::train
