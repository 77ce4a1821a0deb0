// --model name -> constructor and what is known of the model without building it.
#include <algorithm>

#include "attend/kernels/gemm.h"
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

// One row per model, in the order messages list models (the attention models first).
// clang-format off
const std::vector<ModelInfo>& registry() {
  static const std::vector<ModelInfo> table = {
      // name                       alias  attention static known  cross_attention individual
      {"Transformer",               "",    true,     false,  true,  false,          false,
       factory<Transformer>()},
      {"Informer",                  "",    true,     false,  true,  true,           false,
       factory<Informer>()},
      {"PatchTST",                  "",    true,     false,  false, false,          false,
       factory<PatchTST>()},
      {"iTransformer",              "",    true,     false,  false, false,          false,
       factory<ITransformer>()},
      {"TemporalFusionTransformer", "TFT", true,     true,   true,  false,          false,
       factory<TemporalFusionTransformer>()},
      {"DLinear",                   "",    false,    false,  false, false,          true,
       factory<DLinear>()},
      {"LSTM",                      "",    false,    false,  false, false,          false,
       factory<LSTMModel>()},
      {"TCN",                       "",    false,    false,  false, false,          false,
       factory<TCN>()},
  };
  return table;
}
// clang-format on

const ModelInfo* find_model(const std::string& name) {
  for (const ModelInfo& m : registry())
    if (m.name == name || (!m.alias.empty() && m.alias == name)) return &m;
  return nullptr;
}

// The registry names of the models for which `accepts` holds, joined by ", ".
template <typename F>
std::string names_where(F accepts) {
  std::string names;
  for (const ModelInfo& m : registry())
    if (accepts(m)) names += (names.empty() ? "" : ", ") + m.name;
  return names;
}

}  // namespace

std::string canonical_model_name(const std::string& name, std::string_view what) {
  if (const ModelInfo* m = find_model(name)) return m->name;
  std::string known;
  for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  std::string short_names;
  for (const ModelInfo& m : registry())
    if (!m.alias.empty())
      short_names += (short_names.empty() ? "" : ", ") + m.alias + " = " + m.name;
  fail("{} '{}' is not a known model; known: {} ({})", what, name, known, short_names);
}

const ModelInfo& model_info(const std::string& name) {
  if (const ModelInfo* m = find_model(name)) return *m;
  canonical_model_name(name, "--model");  // throws the error listing the known models
  fail("--model '{}' is not a known model", name);
}

const std::vector<ModelInfo>& model_infos() {
  return registry();
}

std::shared_ptr<ForecastModel> make_model(const ModelConfig& config, Context& ctx, DType dtype) {
  kernels::warm_up_gemm();  // the GEMM backend's one-time set-up here, not in the first forward
  return model_info(config.model).make(config, ctx, dtype);
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const ModelInfo& m : registry()) names.push_back(m.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> models_with_attention() {
  std::vector<std::string> names;
  for (const ModelInfo& m : registry())
    if (m.has_attention) names.push_back(m.name);
  return names;
}

void check_model_options(const ModelConfig& c, bool has_static, bool has_known) {
  const ModelInfo& m = model_info(c.model);
  ATTEND_CHECK(!m.has_attention || (c.n_heads > 0 && c.d_model % c.n_heads == 0),
               "--d_model {} is not divisible by --n_heads {}", c.d_model, c.n_heads);
  ATTEND_CHECK(!has_static || m.accepts_static,
               "--static_columns apply only to --model {} (a model with a static input path)",
               names_where([](const ModelInfo& i) { return i.accepts_static; }));
  ATTEND_CHECK(!has_known || m.accepts_known,
               "--known_columns apply only to --model {} (models that read future inputs)",
               names_where([](const ModelInfo& i) { return i.accepts_known; }));
  ATTEND_CHECK(c.cross_attention == "prob" || m.accepts_cross_attention,
               "--cross_attention applies only to --model {}",
               names_where([](const ModelInfo& i) { return i.accepts_cross_attention; }));
  ATTEND_CHECK(!c.individual || m.accepts_individual, "--individual applies only to --model {}",
               names_where([](const ModelInfo& i) { return i.accepts_individual; }));
}

}  // namespace attend::models
