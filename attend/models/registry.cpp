// --model name -> constructor.
#include <map>

#include "attend/models/dlinear.h"
#include "attend/models/lstm_model.h"
#include "attend/models/model.h"
#include "attend/models/tcn.h"
#include "attend/models/tft.h"
#include "attend/models/transformer_models.h"

namespace attend::models {

namespace {

template <typename M>
ModelFactory factory() {
  return [](const ModelConfig& c, Context& ctx, DType dtype) -> std::shared_ptr<ForecastModel> {
    return std::make_shared<M>(c, ctx, dtype);
  };
}

const std::map<std::string, ModelFactory>& registry() {
  static const std::map<std::string, ModelFactory> table = {
      {"DLinear", factory<DLinear>()},
      {"Informer", factory<Informer>()},
      {"LSTM", factory<LSTMModel>()},
      {"PatchTST", factory<PatchTST>()},
      {"TCN", factory<TCN>()},
      {"TemporalFusionTransformer", factory<TemporalFusionTransformer>()},
      {"Transformer", factory<Transformer>()},
      {"iTransformer", factory<ITransformer>()},
  };
  return table;
}

// Short names accepted wherever a model is named.
const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> table = {
      {"TFT", "TemporalFusionTransformer"},
  };
  return table;
}

}  // namespace

std::string canonical_model_name(const std::string& name, std::string_view what) {
  if (auto a = aliases().find(name); a != aliases().end()) return a->second;
  if (registry().count(name)) return name;
  std::string known;
  for (const auto& [n, f] : registry()) known += (known.empty() ? "" : ", ") + n;
  std::string short_names;
  for (const auto& [alias, n] : aliases())
    short_names += (short_names.empty() ? "" : ", ") + alias + " = " + n;
  fail("{} '{}' is not a known model; known: {} ({})", what, name, known, short_names);
}

std::shared_ptr<ForecastModel> make_model(const ModelConfig& config, Context& ctx, DType dtype) {
  return registry().at(canonical_model_name(config.model, "--model"))(config, ctx, dtype);
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

void check_model_options(const ModelConfig& c, bool has_covariates) {
  const std::string name = canonical_model_name(c.model, "--model");
  const bool attention = name == "Transformer" || name == "Informer" || name == "PatchTST" ||
                         name == "iTransformer" || name == "TemporalFusionTransformer";
  ATTEND_CHECK(!attention || c.d_model % c.n_heads == 0,
               "--d_model {} is not divisible by --n_heads {}", c.d_model, c.n_heads);
  ATTEND_CHECK(name == "TemporalFusionTransformer" || (!has_covariates && c.quantiles.empty()),
               "--static_columns, --known_columns and --quantiles apply only to --model "
               "TemporalFusionTransformer");
  ATTEND_CHECK(c.cross_attention == "prob" || name == "Informer",
               "--cross_attention applies only to --model Informer");
}

}  // namespace attend::models
