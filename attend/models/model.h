#pragma once
// The forecasting model interface, what a model says about itself (for explain and the CLI), and
// the registry from --model name to constructor and static facts.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attend/models/config.h"
#include "attend/nn/attention.h"
#include "attend/nn/module.h"

namespace attend::models {

// What the tokens along one side of an attention map stand for.
enum class TokenAxis {
  InputSteps,     // the seq_len input steps, oldest first; n < seq_len tokens (Informer's distilled
                  // layers) cover seq_len / n steps each
  DecoderSteps,   // the decoder's steps, ending at the last forecast step (label_len known steps,
                  // then pred_len)
  ForecastSteps,  // the pred_len forecast steps
  WindowSteps,    // the seq_len input steps, then the pred_len forecast steps
  Patches,        // patches of patch_len input steps, patch_stride steps apart
  Variables,      // the input variables, then the time features
};

// One kind of attention layer of a model: every captured map whose role is `role` and whose
// dotted module name starts with `prefix`.
struct AttentionLayerInfo {
  std::string prefix;  // e.g. "encoder." (encoder.attn_layers.<l>.attention)
  nn::AttentionRole role = nn::AttentionRole::EncoderSelf;
  TokenAxis queries = TokenAxis::InputSteps, keys = TokenAxis::InputSteps;
  bool per_variable = false;    // the weights' rows are (window, variable) pairs: each variable's
                                // tokens attend among themselves (channel independence)
  bool heads_averaged = false;  // the model averages its heads inside the layer (TFT's
                                // interpretable attention): one map (H = 1) per layer
};

// One variable selection network of the last forward: softmax weights over its variables.
struct VariableSelection {
  std::string group;                   // which inputs: "static", "history", "future"
  std::vector<std::string> variables;  // in weight order: "x<i>" = input column i, "time<j>" =
                                       // time feature j
  Tensor weights;  // (B, T, n), summing to one over n; undefined when the group has no variables
};

// What a built model says about itself.
struct ModelDescription {
  std::vector<AttentionLayerInfo> attention;  // empty: no attention to explain
  int64_t patch_len = 0, patch_stride = 0;    // TokenAxis::Patches: input steps per patch, and
                                              // between the starts of neighbouring patches
};

class ForecastModel : public nn::Module {
 public:
  // The model's forward: x_enc (B, seq_len, enc_in), x_mark_enc (B, seq_len, F), x_dec (B,
  // label_len + pred_len, dec_in), x_mark_dec (B, label_len + pred_len, F) -> (B, T, c_out, Q)
  // with T >= pred_len (the last pred_len steps are the forecast): one output per level of
  // config().quantiles (Q = n_quantiles(), 1 without them), as the last layer computes them, not
  // sorted — what the pinball loss trains. Models that ignore an input accept an undefined Tensor.
  virtual Tensor forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc,
                                    const Tensor& x_dec, const Tensor& x_mark_dec) = 0;
  // Same inputs -> (B, T, c_out): the point forecast. Without quantiles the model's one output;
  // with them, the median_index()-th of the quantiles sorted along Q (sorted_quantiles).
  Tensor forecast(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                  const Tensor& x_mark_dec);
  // Q: the number of quantile levels, 1 for a point model.
  int64_t n_quantiles() const;
  // The level the point forecast is: 0.5 when config().quantiles holds it, else the middle of the
  // (increasing) levels, Q / 2.
  int64_t median_index() const;
  // Which inputs the model reads (the trainer skips building the others).
  virtual bool uses_decoder_input() const { return false; }
  virtual bool uses_time_marks() const { return false; }
  const ModelConfig& config() const { return config_; }

  // Its attention layers and token geometry (default: none).
  virtual ModelDescription describe() const { return {}; }
  // Whether the model has attention layers to explain.
  bool has_attention() const { return !describe().attention.empty(); }
  // The attention maps (B, H, Lq, Lk) of the last forward. Default: what `capture` recorded from
  // the model's nn::AttentionLayers (attached with nn::set_attention_capture before the forward).
  virtual std::vector<nn::CapturedAttention> attention_maps(
      const nn::AttentionCapture& capture) const {
    return capture.records();
  }
  // The variable selection weights of the last forward (default: none).
  virtual std::vector<VariableSelection> variable_selection() const { return {}; }

 protected:
  // Checks the quantile levels: each in (0, 1), increasing.
  explicit ForecastModel(const ModelConfig& config);
  ModelConfig config_;
};

using ModelFactory =
    std::function<std::shared_ptr<ForecastModel>(const ModelConfig&, Context&, DType)>;

// The decoder input x_dec of a window y (B, label_len + pred_len, C): y's first label_len steps,
// then pred_len steps that are zero (TSLib's dec_inp) except in the known-future columns, which
// keep y's values there (their future is known when forecasting).
Tensor decoder_input(const Tensor& y, int64_t label_len, const std::vector<int64_t>& known_columns);

// Quantile outputs (..., Q) sorted along Q, so that no two levels cross (differentiable).
Tensor sorted_quantiles(const Tensor& q);

// What the registry knows about a model without building one (its row in registry.cpp).
struct ModelInfo {
  std::string name;                      // registry name, as --model takes it
  std::string alias;                     // a short name --model also takes ("TFT"); may be empty
  bool has_attention = false;            // = describe().attention is non-empty
  bool accepts_static = false;           // --static_columns: a per-series input path (TFT)
  bool accepts_known = false;            // --known_columns: future inputs (x_dec's future part)
  bool accepts_cross_attention = false;  // --cross_attention
  bool accepts_individual = false;       // --individual
  ModelFactory make;
  // The alias when there is one, else the name (for titles).
  const std::string& short_name() const { return alias.empty() ? name : alias; }
};

// The registry name of `name`, which may be a short alias ("TFT" -> "TemporalFusionTransformer");
// an unknown name is an error "<what> '<name>' is not a known model; known: ..." listing them.
std::string canonical_model_name(const std::string& name, std::string_view what = "--model");

// The registry row of `name` (a registry name or an alias; unknown: canonical_model_name's error).
const ModelInfo& model_info(const std::string& name);

// Every registry row, in the order messages list models.
const std::vector<ModelInfo>& model_infos();

// Builds config.model (a registry name or an alias); an unknown name is an error listing the
// known ones.
std::shared_ptr<ForecastModel> make_model(const ModelConfig& config,
                                          Context& ctx = default_context(),
                                          DType dtype = DType::F32);

// Registry names, sorted.
std::vector<std::string> model_names();

// Registry names of the models with attention, in the registry's order.
std::vector<std::string> models_with_attention();

// The model-specific option checks for config.model, each an attend::Error naming the flags:
//   attention models: d_model divisible by n_heads;
//   static and known-future columns (the run names some: `has_static`, `has_known`) only where
//   the model has an input path for them;
//   cross_attention other than "prob" and individual only where the model accepts them.
void check_model_options(const ModelConfig& config, bool has_static, bool has_known);

}  // namespace attend::models
