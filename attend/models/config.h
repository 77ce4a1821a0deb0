#pragma once
// Model configuration: the TSLib run.py flags that shape a model, with run.py's names and defaults.
#include <cstdint>
#include <string>
#include <vector>

#include "attend/data/dataset.h"

namespace attend::models {

// The model's part of the run configuration: the sample shape it reads (window lengths, time
// encoding and frequency, shared with the data layer) plus its own options, with run.py's names.
struct ModelConfig : data::SampleConfig {
  std::string model =
      "PatchTST";      // registry name (run.py's default Autoformer is not an attend model)
  int64_t enc_in = 0;  // encoder input variables (0: the data's column count)
  int64_t dec_in = 0;  // decoder input variables (0: the data's column count)
  int64_t c_out = 0;   // output variables (0: the data's column count)
  int64_t d_model = 512;
  int64_t n_heads = 8;
  int64_t e_layers = 2;
  int64_t d_layers = 1;
  int64_t d_ff = 2048;
  int64_t moving_avg = 25;  // DLinear's moving-average window (odd)
  bool individual = false;  // DLinear: seasonal and trend linear layers per variable, not shared
  int64_t factor = 1;       // ProbSparse sampling factor (Informer)
  bool distil = true;       // Informer's distilling conv layers
  double dropout = 0.1;
  std::string activation = "gelu";
  int64_t use_norm = 1;    // iTransformer (ignored by TSLib at the pinned commit; see docs)
  int64_t patch_len = 16;  // PatchTST patch length (TSLib's model ignores the flag: fixed 16)
  int64_t stride = 8;      // PatchTST patch stride (fixed 8 in TSLib; not an option)
  std::vector<double> quantiles;  // TFT's quantile levels; empty: point forecast
  // Informer's decoder cross-attention: "prob" (TSLib's ProbAttention) or "full" (FullAttention, as
  // in the Informer paper's code); the parameters are the same either way.
  std::string cross_attention = "prob";
  // Resolved from the data's columns (not options; the run options name them in
  // data::DataConfig): indices into the enc_in variables.
  std::vector<int64_t> static_columns;  // static covariates (TFT)
  std::vector<int64_t> known_columns;   // future-known inputs besides the time features (TFT)
};

// The one-letter frequency that decides the time features: "15min" -> "t", "H" -> "h"; "" and
// "auto" (not resolved against data) -> "h"; text that is not a frequency is returned as is (and
// refused by time_feature_count).
std::string time_feature_letter(const std::string& freq);

// Number of timeF features for a frequency (TSLib's freq_map, keyed by time_feature_letter).
int64_t time_feature_count(const std::string& freq);

}  // namespace attend::models
