#pragma once
// Model configuration: the TSLib run.py flags that shape a model, with run.py's names and defaults.
#include <cstdint>
#include <string>
#include <vector>

namespace attend::models {

struct ModelConfig {
  std::string model = "PatchTST";  // --model
  std::string task_name = "long_term_forecast";
  int64_t seq_len = 96;    // input window length
  int64_t label_len = 48;  // known decoder-input prefix (Transformer, Informer)
  int64_t pred_len = 96;   // forecast horizon
  int64_t enc_in = 7;      // encoder input variables
  int64_t dec_in = 7;      // decoder input variables
  int64_t c_out = 7;       // output variables
  int64_t d_model = 512;
  int64_t n_heads = 8;
  int64_t e_layers = 2;
  int64_t d_layers = 1;
  int64_t d_ff = 2048;
  int64_t moving_avg = 25;  // DLinear's moving-average window (odd)
  int64_t factor = 1;       // ProbSparse sampling factor (Informer)
  bool distil = true;       // Informer's distilling conv layers
  double dropout = 0.1;
  std::string embed = "timeF";  // timeF | fixed | learned
  std::string freq = "h";       // time-feature frequency letter
  std::string activation = "gelu";
  int64_t use_norm = 1;    // iTransformer (ignored by TSLib at the pinned commit; see docs)
  int64_t patch_len = 16;  // PatchTST patch length (TSLib's model ignores the flag: fixed 16)
  int64_t stride = 8;      // PatchTST patch stride (fixed 8 in TSLib)
  // TFT (beyond TSLib: roles set by flags, not dataset names)
  std::vector<int64_t> static_columns;  // indices into the enc_in variables
  std::vector<int64_t> known_columns;   // future-known inputs besides the time features
  std::vector<double> quantiles;        // empty: point forecast
  // Informer's decoder cross-attention: "prob" (TSLib's ProbAttention) or "full" (FullAttention, as
  // in the Informer paper's code); the parameters are the same either way.
  std::string cross_attention = "prob";
};

// Number of timeF features for a frequency letter (TSLib's freq_map).
int64_t time_feature_count(const std::string& freq);

}  // namespace attend::models
