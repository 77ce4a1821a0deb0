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

}  // namespace

std::shared_ptr<ForecastModel> make_model(const ModelConfig& config, Context& ctx, DType dtype) {
  auto it = registry().find(config.model);
  if (it == registry().end()) {
    std::string known;
    for (const auto& [name, f] : registry()) known += (known.empty() ? "" : ", ") + name;
    fail("--model '{}' is not a known model; known: {}", config.model, known);
  }
  return it->second(config, ctx, dtype);
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

}  // namespace attend::models
