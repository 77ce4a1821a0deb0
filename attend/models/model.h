#pragma once
// The forecasting model interface and the registry from --model name to constructor.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attend/models/config.h"
#include "attend/nn/module.h"

namespace attend::models {

class ForecastModel : public nn::Module {
 public:
  // x_enc (B, seq_len, enc_in), x_mark_enc (B, seq_len, F), x_dec (B, label_len + pred_len,
  // dec_in), x_mark_dec (B, label_len + pred_len, F) -> (B, pred_len, c_out).
  // Models that ignore an input accept an undefined Tensor for it.
  virtual Tensor forecast(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                          const Tensor& x_mark_dec) = 0;
  // Whether the model has attention layers to explain.
  virtual bool has_attention() const { return false; }
  // Which inputs the model reads (the trainer skips building the others).
  virtual bool uses_decoder_input() const { return false; }
  virtual bool uses_time_marks() const { return false; }
  const ModelConfig& config() const { return config_; }

 protected:
  explicit ForecastModel(const ModelConfig& config) : config_(config) {}
  ModelConfig config_;
};

using ModelFactory =
    std::function<std::shared_ptr<ForecastModel>(const ModelConfig&, Context&, DType)>;

// The registry name of `name`, which may be a short alias ("TFT" -> "TemporalFusionTransformer");
// an unknown name is an error "<what> '<name>' is not a known model; known: ..." listing them.
std::string canonical_model_name(const std::string& name, std::string_view what = "--model");

// Builds config.model (a registry name or an alias); an unknown name is an error listing the
// known ones.
std::shared_ptr<ForecastModel> make_model(const ModelConfig& config,
                                          Context& ctx = default_context(),
                                          DType dtype = DType::F32);
std::vector<std::string> model_names();

// The checks of config.model's own options: attention models need d_model divisible by n_heads;
// quantiles and covariate columns (`has_covariates`: static or known columns are named) are
// TFT's; --cross_attention is Informer's. Throws attend::Error naming the flag.
void check_model_options(const ModelConfig& config, bool has_covariates);

}  // namespace attend::models
