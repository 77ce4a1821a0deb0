// Run configuration keyed by TSLib run.py's flag names.
#include "attend/train/run_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

#include "attend/base/error.h"
#include "attend/data/time_features.h"
#include "attend/models/model.h"

namespace attend::train {

const std::vector<FlagSpec>& run_flags() {
  static const std::vector<FlagSpec> table = {
      {"task_name", "task_name", FlagKind::Str, R"("long_term_forecast")", true},
      {"is_training", "is_training", FlagKind::Int, R"(1)", true},
      {"model_id", "model_id", FlagKind::Str, R"("test")", true},
      {"model", "model", FlagKind::Str, R"("Autoformer")", true},
      {"data", "data", FlagKind::Str, R"("ETTh1")", true},
      {"root_path", "root_path", FlagKind::Str, R"("./data/ETT/")", true},
      {"data_path", "data_path", FlagKind::Str, R"("ETTh1.csv")", true},
      {"features", "features", FlagKind::Str, R"("M")", true},
      {"target", "target", FlagKind::Str, R"("OT")", true},
      {"freq", "freq", FlagKind::Str, R"("h")", true},
      {"checkpoints", "checkpoints", FlagKind::Str, R"("./checkpoints/")", true},
      {"seq_len", "seq_len", FlagKind::Int, R"(96)", true},
      {"label_len", "label_len", FlagKind::Int, R"(48)", true},
      {"pred_len", "pred_len", FlagKind::Int, R"(96)", true},
      {"seasonal_patterns", "seasonal_patterns", FlagKind::Str, R"("Monthly")", false},
      {"inverse", "inverse", FlagKind::StoreTrue, R"(false)", true},
      {"mask_rate", "mask_rate", FlagKind::Float, R"(0.25)", false},
      {"anomaly_ratio", "anomaly_ratio", FlagKind::Float, R"(0.25)", false},
      {"expand", "expand", FlagKind::Int, R"(2)", true},
      {"d_conv", "d_conv", FlagKind::Int, R"(4)", true},
      {"tv_dt", "tv_dt", FlagKind::Int, R"(0)", false},
      {"tv_B", "tv_B", FlagKind::Int, R"(0)", false},
      {"tv_C", "tv_C", FlagKind::Int, R"(0)", false},
      {"use_D", "use_D", FlagKind::Int, R"(0)", false},
      {"top_k", "top_k", FlagKind::Int, R"(5)", false},
      {"num_kernels", "num_kernels", FlagKind::Int, R"(6)", false},
      {"enc_in", "enc_in", FlagKind::Int, R"(7)", true},
      {"dec_in", "dec_in", FlagKind::Int, R"(7)", true},
      {"c_out", "c_out", FlagKind::Int, R"(7)", true},
      {"d_model", "d_model", FlagKind::Int, R"(512)", true},
      {"n_heads", "n_heads", FlagKind::Int, R"(8)", true},
      {"e_layers", "e_layers", FlagKind::Int, R"(2)", true},
      {"d_layers", "d_layers", FlagKind::Int, R"(1)", true},
      {"d_ff", "d_ff", FlagKind::Int, R"(2048)", true},
      {"moving_avg", "moving_avg", FlagKind::Int, R"(25)", true},
      {"factor", "factor", FlagKind::Int, R"(1)", true},
      {"distil", "distil", FlagKind::StoreFalse, R"(true)", true},
      {"dropout", "dropout", FlagKind::Float, R"(0.1)", true},
      {"embed", "embed", FlagKind::Str, R"("timeF")", true},
      {"activation", "activation", FlagKind::Str, R"("gelu")", true},
      {"channel_independence", "channel_independence", FlagKind::Int, R"(1)", false},
      {"decomp_method", "decomp_method", FlagKind::Str, R"("moving_avg")", false},
      {"use_norm", "use_norm", FlagKind::Int, R"(1)", true},
      {"down_sampling_layers", "down_sampling_layers", FlagKind::Int, R"(0)", false},
      {"down_sampling_window", "down_sampling_window", FlagKind::Int, R"(1)", false},
      {"down_sampling_method", "down_sampling_method", FlagKind::Str, R"(null)", false},
      {"seg_len", "seg_len", FlagKind::Int, R"(96)", false},
      {"num_workers", "num_workers", FlagKind::Int, R"(10)", false},
      {"itr", "itr", FlagKind::Int, R"(1)", false},
      {"train_epochs", "train_epochs", FlagKind::Int, R"(10)", true},
      {"batch_size", "batch_size", FlagKind::Int, R"(32)", true},
      {"patience", "patience", FlagKind::Int, R"(3)", true},
      {"learning_rate", "learning_rate", FlagKind::Float, R"(0.0001)", true},
      {"des", "des", FlagKind::Str, R"("test")", true},
      {"loss", "loss", FlagKind::Str, R"("MSE")", true},
      {"lradj", "lradj", FlagKind::Str, R"("type1")", true},
      {"use_amp", "use_amp", FlagKind::StoreTrue, R"(false)", false},
      {"use_gpu", "use_gpu", FlagKind::StoreTrue, R"(true)", false},
      {"no_use_gpu", "use_gpu", FlagKind::StoreFalse, R"(true)", false},
      {"gpu", "gpu", FlagKind::Int, R"(0)", false},
      {"gpu_type", "gpu_type", FlagKind::Str, R"("cuda")", false},
      {"use_multi_gpu", "use_multi_gpu", FlagKind::StoreTrue, R"(false)", false},
      {"devices", "devices", FlagKind::Str, R"("0,1,2,3")", false},
      {"p_hidden_dims", "p_hidden_dims", FlagKind::IntList, R"([128, 128])", false},
      {"p_hidden_layers", "p_hidden_layers", FlagKind::Int, R"(2)", false},
      {"use_dtw", "use_dtw", FlagKind::StoreTrue, R"(false)", false},
      {"augmentation_ratio", "augmentation_ratio", FlagKind::Int, R"(0)", false},
      {"seed", "seed", FlagKind::Int, R"(2)", true},
      {"jitter", "jitter", FlagKind::StoreTrue, R"(false)", false},
      {"scaling", "scaling", FlagKind::StoreTrue, R"(false)", false},
      {"permutation", "permutation", FlagKind::StoreTrue, R"(false)", false},
      {"randompermutation", "randompermutation", FlagKind::StoreTrue, R"(false)", false},
      {"magwarp", "magwarp", FlagKind::StoreTrue, R"(false)", false},
      {"timewarp", "timewarp", FlagKind::StoreTrue, R"(false)", false},
      {"windowslice", "windowslice", FlagKind::StoreTrue, R"(false)", false},
      {"windowwarp", "windowwarp", FlagKind::StoreTrue, R"(false)", false},
      {"rotation", "rotation", FlagKind::StoreTrue, R"(false)", false},
      {"spawner", "spawner", FlagKind::StoreTrue, R"(false)", false},
      {"dtwwarp", "dtwwarp", FlagKind::StoreTrue, R"(false)", false},
      {"shapedtwwarp", "shapedtwwarp", FlagKind::StoreTrue, R"(false)", false},
      {"wdba", "wdba", FlagKind::StoreTrue, R"(false)", false},
      {"discdtw", "discdtw", FlagKind::StoreTrue, R"(false)", false},
      {"discsdtw", "discsdtw", FlagKind::StoreTrue, R"(false)", false},
      {"extra_tag", "extra_tag", FlagKind::Str, R"("")", false},
      {"patch_len", "patch_len", FlagKind::Int, R"(16)", true},
      {"node_dim", "node_dim", FlagKind::Int, R"(10)", false},
      {"gcn_depth", "gcn_depth", FlagKind::Int, R"(2)", false},
      {"gcn_dropout", "gcn_dropout", FlagKind::Float, R"(0.3)", false},
      {"propalpha", "propalpha", FlagKind::Float, R"(0.3)", false},
      {"conv_channel", "conv_channel", FlagKind::Int, R"(32)", false},
      {"skip_channel", "skip_channel", FlagKind::Int, R"(32)", false},
      {"individual", "individual", FlagKind::StoreTrue, R"(false)", false},
      {"alpha", "alpha", FlagKind::Float, R"(0.1)", false},
      {"top_p", "top_p", FlagKind::Float, R"(0.5)", false},
      {"pos", "pos", FlagKind::Int, R"(1)", false},
      {"static_columns", "static_columns", FlagKind::StrList, R"([])", true, false},
      {"known_columns", "known_columns", FlagKind::StrList, R"([])", true, false},
      {"quantiles", "quantiles", FlagKind::FloatList, R"([])", true, false},
      {"cross_attention", "cross_attention", FlagKind::Str, R"("prob")", true, false},
  };
  return table;
}

const FlagSpec* find_flag(std::string_view name) {
  for (const auto& f : run_flags())
    if (name == f.name) return &f;
  return nullptr;
}

namespace {

const std::map<std::string, std::string>& help_texts() {
  static const std::map<std::string, std::string> h = {
      {"task_name", "task; attend supports long_term_forecast"},
      {"is_training", "1: train then test; 0: test the checkpoint under --checkpoints/<setting>"},
      {"model_id", "run name, part of the run folder's name"},
      {"model", "model name (see `attend models`; default PatchTST, run.py's is Autoformer)"},
      {"data", "data protocol: ETTh1, ETTh2, ETTm1, ETTm2 or custom"},
      {"root_path", "folder of the CSV (default ./data/; run.py's is ./data/ETT/)"},
      {"data_path", "CSV file name inside --root_path"},
      {"features", "M: all columns -> all; S: target -> target; MS: all -> target"},
      {"target", "target column for S and MS"},
      {"freq", "time-feature frequency: s, t, h, d, b, w, m or e.g. 15min; auto infers it"},
      {"checkpoints", "root folder of the run folders"},
      {"seq_len", "input window length"},
      {"label_len", "decoder start-token length (<= seq_len)"},
      {"pred_len", "forecast horizon"},
      {"inverse", "report test metrics in original units"},
      {"expand", "Mamba expand (only names the run folder)"},
      {"d_conv", "Mamba d_conv (only names the run folder)"},
      {"enc_in", "encoder input size (default: the selected column count)"},
      {"dec_in", "decoder input size (default: the selected column count)"},
      {"c_out", "output size (default: the selected column count)"},
      {"d_model", "model width"},
      {"n_heads", "attention heads"},
      {"e_layers", "encoder layers"},
      {"d_layers", "decoder layers"},
      {"d_ff", "feed-forward width"},
      {"moving_avg", "moving-average window (DLinear)"},
      {"factor", "ProbSparse attention factor (Informer)"},
      {"distil", "pass to turn Informer's distilling OFF (run.py's store_false)"},
      {"dropout", "dropout probability"},
      {"embed", "time encoding: timeF, fixed or learned"},
      {"activation", "gelu or relu"},
      {"use_norm", "iTransformer's window normalisation (1/0)"},
      {"train_epochs", "epochs"},
      {"batch_size", "windows per batch"},
      {"patience", "early-stopping patience (epochs without a better validation loss)"},
      {"learning_rate", "Adam learning rate"},
      {"des", "experiment description (only names the run folder)"},
      {"loss", "training loss: MSE, MAE or Huber"},
      {"lradj", "learning-rate schedule: type1, type2, type3, cosine, constant, TST"},
      {"seed", "random seed (model init, dropout, shuffling)"},
      {"patch_len", "PatchTST patch length"},
      {"static_columns", "TFT: comma list of static columns"},
      {"known_columns", "TFT: comma list of future-known columns"},
      {"quantiles", "TFT: comma list of quantile levels, e.g. 0.1,0.5,0.9"},
      {"cross_attention",
       "Informer's decoder cross-attention: prob (TSLib's ProbSparse) or full (the Informer "
       "paper's)"},
  };
  return h;
}

std::string flag_name(const std::string& source, std::string_view name) {
  return source.empty() ? "--" + std::string(name) : source;
}

int64_t as_int(const nlohmann::json& v, const std::string& what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9e15)
      return static_cast<int64_t>(d);
  }
  fail("{}: expected an integer, got {}", what, v.dump());
}

double as_float(const nlohmann::json& v, const std::string& what) {
  ATTEND_CHECK(v.is_number(), "{}: expected a number, got {}", what, v.dump());
  return v.get<double>();
}

bool as_bool(const nlohmann::json& v, const std::string& what) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1))
    return v.get<int64_t>() == 1;
  fail("{}: expected true or false, got {}", what, v.dump());
}

std::string as_str(const nlohmann::json& v, const std::string& what) {
  if (v.is_null()) return "";
  ATTEND_CHECK(v.is_string(), "{}: expected a string, got {}", what, v.dump());
  return v.get<std::string>();
}

std::vector<std::string> as_str_list(const nlohmann::json& v, const std::string& what) {
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

std::vector<double> as_float_list(const nlohmann::json& v, const std::string& what) {
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

void check_kind(const FlagSpec& spec, const nlohmann::json& v, const std::string& what) {
  switch (spec.kind) {
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

std::string canonical_loss(std::string s) {
  std::string l = s;
  for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "mse") return "MSE";
  if (l == "mae") return "MAE";
  if (l == "huber") return "Huber";
  return s;
}

}  // namespace

std::string flag_help(const FlagSpec& spec) {
  auto it = help_texts().find(spec.name);
  if (it != help_texts().end()) return it->second;
  return "run.py flag, accepted and ignored by attend";
}

void set_flag(RunConfig& c, std::string_view name, const nlohmann::json& v,
              const std::string& source) {
  const FlagSpec* spec = find_flag(name);
  const std::string what = flag_name(source, name);
  ATTEND_CHECK(spec != nullptr, "{}: unknown key '{}' (neither an attend nor a TSLib run.py flag)",
               source.empty() ? std::string("flags") : source, name);
  check_kind(*spec, v, what);
  if (!spec->used) return;
  const std::string n(name);
  if (n == "task_name")
    c.task_name = as_str(v, what);
  else if (n == "is_training")
    c.is_training = as_int(v, what);
  else if (n == "model_id")
    c.model_id = as_str(v, what);
  else if (n == "model")
    c.model = models::canonical_model_name(as_str(v, what), what);
  else if (n == "des")
    c.des = as_str(v, what);
  else if (n == "checkpoints")
    c.checkpoints = as_str(v, what);
  else if (n == "expand")
    c.expand = as_int(v, what);
  else if (n == "d_conv")
    c.d_conv = as_int(v, what);
  else if (n == "data")
    c.data = as_str(v, what);
  else if (n == "root_path")
    c.root_path = as_str(v, what);
  else if (n == "data_path")
    c.data_path = as_str(v, what);
  else if (n == "features")
    c.features = as_str(v, what);
  else if (n == "target")
    c.target = as_str(v, what);
  else if (n == "freq")
    c.freq = as_str(v, what);
  else if (n == "seq_len")
    c.seq_len = as_int(v, what);
  else if (n == "label_len")
    c.label_len = as_int(v, what);
  else if (n == "pred_len")
    c.pred_len = as_int(v, what);
  else if (n == "inverse")
    c.inverse = as_bool(v, what);
  else if (n == "enc_in")
    c.enc_in = as_int(v, what);
  else if (n == "dec_in")
    c.dec_in = as_int(v, what);
  else if (n == "c_out")
    c.c_out = as_int(v, what);
  else if (n == "d_model")
    c.d_model = as_int(v, what);
  else if (n == "n_heads")
    c.n_heads = as_int(v, what);
  else if (n == "e_layers")
    c.e_layers = as_int(v, what);
  else if (n == "d_layers")
    c.d_layers = as_int(v, what);
  else if (n == "d_ff")
    c.d_ff = as_int(v, what);
  else if (n == "moving_avg")
    c.moving_avg = as_int(v, what);
  else if (n == "factor")
    c.factor = as_int(v, what);
  else if (n == "distil")
    c.distil = as_bool(v, what);
  else if (n == "dropout")
    c.dropout = as_float(v, what);
  else if (n == "embed")
    c.embed = as_str(v, what);
  else if (n == "activation")
    c.activation = as_str(v, what);
  else if (n == "use_norm")
    c.use_norm = as_int(v, what);
  else if (n == "patch_len")
    c.patch_len = as_int(v, what);
  else if (n == "train_epochs")
    c.train_epochs = as_int(v, what);
  else if (n == "batch_size")
    c.batch_size = as_int(v, what);
  else if (n == "patience")
    c.patience = as_int(v, what);
  else if (n == "learning_rate")
    c.learning_rate = as_float(v, what);
  else if (n == "loss")
    c.loss = canonical_loss(as_str(v, what));
  else if (n == "lradj")
    c.lradj = as_str(v, what);
  else if (n == "seed")
    c.seed = as_int(v, what);
  else if (n == "static_columns")
    c.static_columns = as_str_list(v, what);
  else if (n == "known_columns")
    c.known_columns = as_str_list(v, what);
  else if (n == "quantiles")
    c.quantiles = as_float_list(v, what);
  else if (n == "cross_attention")
    c.cross_attention = as_str(v, what);
  else
    fail("{}: flag '{}' is marked used but has no setter", what, name);
}

RunConfig run_config_from_json(const nlohmann::json& j, const std::string& source) {
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
    ATTEND_CHECK(find_flag(key) != nullptr,
                 "{}: unknown key '{}' (neither an attend nor a TSLib run.py flag)", source, key);
    set_flag(c, key, value, source + ": '" + key + "'");
  }
  return c;
}

nlohmann::json run_config_to_json(const RunConfig& c) {
  nlohmann::json j;
  j["attend_format"] = kFormatVersion;
  j["task_name"] = c.task_name;
  j["is_training"] = c.is_training;
  j["model_id"] = c.model_id;
  j["model"] = c.model;
  j["data"] = c.data;
  j["root_path"] = c.root_path;
  j["data_path"] = c.data_path;
  j["features"] = c.features;
  j["target"] = c.target;
  j["freq"] = c.freq;
  j["checkpoints"] = c.checkpoints;
  j["seq_len"] = c.seq_len;
  j["label_len"] = c.label_len;
  j["pred_len"] = c.pred_len;
  j["inverse"] = c.inverse;
  j["expand"] = c.expand;
  j["d_conv"] = c.d_conv;
  j["enc_in"] = c.enc_in;
  j["dec_in"] = c.dec_in;
  j["c_out"] = c.c_out;
  j["d_model"] = c.d_model;
  j["n_heads"] = c.n_heads;
  j["e_layers"] = c.e_layers;
  j["d_layers"] = c.d_layers;
  j["d_ff"] = c.d_ff;
  j["moving_avg"] = c.moving_avg;
  j["factor"] = c.factor;
  j["distil"] = c.distil;
  j["dropout"] = c.dropout;
  j["embed"] = c.embed;
  j["activation"] = c.activation;
  j["use_norm"] = c.use_norm;
  j["train_epochs"] = c.train_epochs;
  j["batch_size"] = c.batch_size;
  j["patience"] = c.patience;
  j["learning_rate"] = c.learning_rate;
  j["des"] = c.des;
  j["loss"] = c.loss;
  j["lradj"] = c.lradj;
  j["seed"] = c.seed;
  j["patch_len"] = c.patch_len;
  j["static_columns"] = c.static_columns;
  j["known_columns"] = c.known_columns;
  j["quantiles"] = c.quantiles;
  j["cross_attention"] = c.cross_attention;
  return j;
}

void validate(const RunConfig& c) {
  ATTEND_CHECK(c.task_name == "long_term_forecast",
               "--task_name '{}' is not supported (attend runs long_term_forecast)", c.task_name);
  ATTEND_CHECK(c.is_training == 0 || c.is_training == 1, "--is_training must be 0 or 1, got {}",
               c.is_training);
  ATTEND_CHECK(models::canonical_model_name(c.model, "--model") == c.model,
               "--model '{}': use the registry name '{}'", c.model,
               models::canonical_model_name(c.model));
  ATTEND_CHECK(c.data == "ETTh1" || c.data == "ETTh2" || c.data == "ETTm1" || c.data == "ETTm2" ||
                   c.data == "custom",
               "--data '{}' must be ETTh1, ETTh2, ETTm1, ETTm2 or custom", c.data);
  ATTEND_CHECK(c.features == "M" || c.features == "S" || c.features == "MS",
               "--features '{}' must be M, S or MS", c.features);
  ATTEND_CHECK(!c.target.empty(), "--target must not be empty");
  if (!c.freq.empty() && c.freq != "auto") {
    try {
      (void)data::parse_freq(c.freq);
    } catch (const Error&) {
      fail("--freq '{}' is not a frequency (s, t, h, d, b, w, m, 15min, ... or auto)", c.freq);
    }
  }
  ATTEND_CHECK(c.seq_len >= 1, "--seq_len must be >= 1, got {}", c.seq_len);
  ATTEND_CHECK(c.pred_len >= 1, "--pred_len must be >= 1, got {}", c.pred_len);
  ATTEND_CHECK(c.label_len >= 0, "--label_len must be >= 0, got {}", c.label_len);
  ATTEND_CHECK(c.label_len <= c.seq_len, "--label_len {} must not exceed --seq_len {}", c.label_len,
               c.seq_len);
  for (auto [name, v] : {std::pair<const char*, int64_t>{"enc_in", c.enc_in},
                         {"dec_in", c.dec_in},
                         {"c_out", c.c_out}})
    ATTEND_CHECK(v >= 0, "--{} must be >= 1, got {}", name, v);
  for (auto [name, v] : {std::pair<const char*, int64_t>{"d_model", c.d_model},
                         {"n_heads", c.n_heads},
                         {"e_layers", c.e_layers},
                         {"d_ff", c.d_ff},
                         {"moving_avg", c.moving_avg},
                         {"factor", c.factor},
                         {"patch_len", c.patch_len},
                         {"train_epochs", c.train_epochs},
                         {"batch_size", c.batch_size}})
    ATTEND_CHECK(v >= 1, "--{} must be >= 1, got {}", name, v);
  ATTEND_CHECK(c.d_layers >= 0, "--d_layers must be >= 0, got {}", c.d_layers);
  ATTEND_CHECK(c.patience >= 0, "--patience must be >= 0, got {}", c.patience);
  ATTEND_CHECK(c.seed >= 0, "--seed must be >= 0, got {}", c.seed);
  const bool attention = c.model == "Transformer" || c.model == "Informer" ||
                         c.model == "PatchTST" || c.model == "iTransformer" ||
                         c.model == "TemporalFusionTransformer";
  ATTEND_CHECK(!attention || c.d_model % c.n_heads == 0,
               "--d_model {} is not divisible by --n_heads {}", c.d_model, c.n_heads);
  ATTEND_CHECK(c.dropout >= 0.0 && c.dropout < 1.0, "--dropout must be in [0, 1), got {}",
               c.dropout);
  ATTEND_CHECK(c.learning_rate > 0.0 && std::isfinite(c.learning_rate),
               "--learning_rate must be > 0, got {}", c.learning_rate);
  ATTEND_CHECK(c.embed == "timeF" || c.embed == "fixed" || c.embed == "learned",
               "--embed '{}' must be timeF, fixed or learned", c.embed);
  ATTEND_CHECK(c.activation == "gelu" || c.activation == "relu",
               "--activation '{}' must be gelu or relu", c.activation);
  ATTEND_CHECK(c.loss == "MSE" || c.loss == "MAE" || c.loss == "Huber",
               "--loss '{}' must be MSE, MAE or Huber", c.loss);
  ATTEND_CHECK(c.lradj == "type1" || c.lradj == "type2" || c.lradj == "type3" ||
                   c.lradj == "cosine" || c.lradj == "constant" || c.lradj == "TST",
               "--lradj '{}' must be type1, type2, type3, cosine, constant or TST", c.lradj);
  ATTEND_CHECK(c.features != "S" || c.enc_in <= 1 || c.enc_in == 0,
               "--enc_in {} contradicts --features S (one input column)", c.enc_in);
  for (size_t i = 0; i < c.quantiles.size(); ++i) {
    ATTEND_CHECK(c.quantiles[i] > 0.0 && c.quantiles[i] < 1.0, "--quantiles: {} is not in (0, 1)",
                 c.quantiles[i]);
    ATTEND_CHECK(i == 0 || c.quantiles[i] > c.quantiles[i - 1],
                 "--quantiles must be strictly increasing");
  }
  const bool tft = c.model == "TemporalFusionTransformer";
  ATTEND_CHECK(tft || (c.static_columns.empty() && c.known_columns.empty() && c.quantiles.empty()),
               "--static_columns, --known_columns and --quantiles apply only to --model "
               "TemporalFusionTransformer");
  // A column has one role: static, known, or (unnamed) observed.
  std::map<std::string, std::string> role_flag;  // column -> the flag that named it first
  auto claim = [&](const std::string& column, const std::string& flag) {
    const auto [it, fresh] = role_flag.emplace(column, flag);
    ATTEND_CHECK(fresh, "column '{}' is named twice ({})", column,
                 it->second == flag ? flag : it->second + " and " + flag);
  };
  for (const auto& s : c.static_columns) claim(s, "--static_columns");
  for (const auto& s : c.known_columns) claim(s, "--known_columns");
  ATTEND_CHECK(c.cross_attention == "prob" || c.cross_attention == "full",
               "--cross_attention '{}' must be prob or full", c.cross_attention);
  ATTEND_CHECK(c.cross_attention == "prob" || c.model == "Informer",
               "--cross_attention applies only to --model Informer");
}

std::string setting_name(const RunConfig& c) {
  return fmt::format(
      "{}_{}_{}_{}_ft{}_sl{}_ll{}_pl{}_dm{}_nh{}_el{}_dl{}_df{}_expand{}_dc{}_fc{}_eb{}_dt{}_{}_0",
      c.task_name, c.model_id, c.model, c.data, c.features, c.seq_len, c.label_len, c.pred_len,
      c.d_model, c.n_heads, c.e_layers, c.d_layers, c.d_ff, c.expand, c.d_conv, c.factor, c.embed,
      c.distil ? "True" : "False", c.des);
}

data::ForecastDataConfig data_config(const RunConfig& c) {
  data::ForecastDataConfig d;
  d.data = c.data;
  d.root_path = c.root_path;
  d.data_path = c.data_path;
  d.features = c.features;
  d.target = c.target;
  d.freq = c.freq == "auto" ? "" : c.freq;
  d.seq_len = c.seq_len;
  d.label_len = c.label_len;
  d.pred_len = c.pred_len;
  d.embed = c.embed;
  d.scale = true;
  return d;
}

models::ModelConfig model_config(const RunConfig& c, const std::vector<std::string>& columns,
                                 const std::string& freq) {
  models::ModelConfig m;
  m.model = c.model;
  m.task_name = c.task_name;
  m.seq_len = c.seq_len;
  m.label_len = c.label_len;
  m.pred_len = c.pred_len;
  m.enc_in = c.enc_in;
  m.dec_in = c.dec_in;
  m.c_out = c.c_out;
  m.d_model = c.d_model;
  m.n_heads = c.n_heads;
  m.e_layers = c.e_layers;
  m.d_layers = c.d_layers;
  m.d_ff = c.d_ff;
  m.moving_avg = c.moving_avg;
  m.factor = c.factor;
  m.distil = c.distil;
  m.dropout = c.dropout;
  m.embed = c.embed;
  m.freq = freq;
  m.activation = c.activation;
  m.use_norm = c.use_norm;
  m.patch_len = c.patch_len;
  auto index_of = [&](const std::string& name, const char* flag) -> int64_t {
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return static_cast<int64_t>(i);
    std::string known;
    for (const auto& col : columns) known += (known.empty() ? "" : ", ") + col;
    fail("--{}: column '{}' is not among the model's columns ({})", flag, name, known);
  };
  for (const auto& s : c.static_columns) m.static_columns.push_back(index_of(s, "static_columns"));
  for (const auto& s : c.known_columns) m.known_columns.push_back(index_of(s, "known_columns"));
  m.quantiles = c.quantiles;
  m.cross_attention = c.cross_attention;
  return m;
}

}  // namespace attend::train
