// The registry: names and aliases, ModelInfo against the built models, the descriptions against
// the captured attention, and the model-specific option checks.
#include <gtest/gtest.h>

#include <algorithm>

#include "attend/autograd/node.h"
#include "attend/models/model.h"
#include "attend/nn/attention.h"

namespace attend::testing {
namespace {

models::ModelConfig tiny_config(const std::string& name) {
  models::ModelConfig c;
  c.model = name;
  c.seq_len = 24;
  c.label_len = 8;
  c.pred_len = 8;
  c.enc_in = c.dec_in = c.c_out = 3;
  c.d_model = 8;
  c.n_heads = 2;
  c.e_layers = 2;
  c.d_ff = 16;
  c.dropout = 0.0;
  return c;
}

// The message of the attend::Error that f throws ("no error" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Registry, NamesAndAliases) {
  const auto names = models::model_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names.size(), models::model_infos().size());
  EXPECT_EQ(models::model_info("TFT").name, "TemporalFusionTransformer");
  EXPECT_EQ(models::model_info("TemporalFusionTransformer").short_name(), "TFT");
  EXPECT_EQ(models::model_info("PatchTST").short_name(), "PatchTST");
  EXPECT_EQ(models::models_with_attention(),
            (std::vector<std::string>{"Transformer", "Informer", "PatchTST", "iTransformer",
                                      "TemporalFusionTransformer"}));
  const std::string unknown = error_of([] { models::model_info("Autoformer"); });
  EXPECT_NE(unknown.find("--model 'Autoformer' is not a known model; known: DLinear, "),
            std::string::npos)
      << unknown;
  EXPECT_NE(unknown.find("(TFT = TemporalFusionTransformer)"), std::string::npos) << unknown;
}

// Each row's facts hold for the model it builds, and every attention map a forward records is
// one its description names.
TEST(Registry, InfoAndDescriptionMatchTheModels) {
  Context ctx({.threads = 1, .seed = 5});
  for (const models::ModelInfo& info : models::model_infos()) {
    const models::ModelConfig c = tiny_config(info.name);
    auto m = models::make_model(c, ctx);
    EXPECT_EQ(m->type_name(), info.name);
    EXPECT_EQ(m->has_attention(), info.has_attention) << info.name;
    const models::ModelDescription d = m->describe();
    m->eval();
    nn::AttentionCapture capture;
    nn::set_attention_capture(*m, &capture);
    const int64_t B = 2, F = models::time_feature_count(c.freq), Ly = c.label_len + c.pred_len;
    NoGradGuard ng;
    m->forecast(Tensor::normal({B, c.seq_len, c.enc_in}, 0.0, 1.0, DType::F32, ctx),
                Tensor::normal({B, c.seq_len, F}, 0.0, 0.5, DType::F32, ctx),
                Tensor::normal({B, Ly, c.dec_in}, 0.0, 1.0, DType::F32, ctx),
                Tensor::normal({B, Ly, F}, 0.0, 0.5, DType::F32, ctx));
    const auto maps = m->attention_maps(capture);
    nn::set_attention_capture(*m, nullptr);
    EXPECT_EQ(maps.empty(), !info.has_attention) << info.name;
    for (const auto& map : maps) {
      EXPECT_EQ(map.weights.ndim(), 4) << info.name << " " << map.layer;
      const bool described =
          std::any_of(d.attention.begin(), d.attention.end(), [&](const auto& layer) {
            return layer.role == map.role && map.layer.rfind(layer.prefix, 0) == 0;
          });
      EXPECT_TRUE(described) << info.name << " " << map.layer;
    }
    for (const auto& layer : d.attention)
      if (layer.queries == models::TokenAxis::Patches || layer.keys == models::TokenAxis::Patches)
        EXPECT_TRUE(d.patch_len > 0 && d.patch_stride > 0) << info.name;
  }
}

TEST(Registry, CheckModelOptions) {
  // `covariates`: the run names static or known columns.
  auto message = [](const models::ModelConfig& c, bool covariates = false) {
    return error_of([&] { models::check_model_options(c, covariates); });
  };
  for (const models::ModelInfo& info : models::model_infos())
    EXPECT_EQ(message(tiny_config(info.name)), "no error") << info.name;

  models::ModelConfig c = tiny_config("PatchTST");
  c.d_model = 10;
  c.n_heads = 4;
  EXPECT_EQ(message(c), "--d_model 10 is not divisible by --n_heads 4");
  c.model = "DLinear";  // no attention: no heads to divide into
  EXPECT_EQ(message(c), "no error");

  // Covariates need a model with an input path for them; quantiles apply to every model.
  c = tiny_config("Transformer");
  EXPECT_EQ(message(c, true),
            "--static_columns and --known_columns apply only to --model TemporalFusionTransformer");
  c.model = "TFT";
  EXPECT_EQ(message(c, true), "no error");
  for (const models::ModelInfo& info : models::model_infos()) {
    c = tiny_config(info.name);
    c.quantiles = {0.1, 0.5, 0.9};
    EXPECT_EQ(message(c), "no error") << info.name;
  }

  c = tiny_config("iTransformer");
  c.cross_attention = "full";
  EXPECT_EQ(message(c), "--cross_attention applies only to --model Informer");
  c.model = "Informer";
  EXPECT_EQ(message(c), "no error");

  c.model = "Autoformer";
  EXPECT_NE(message(c).find("is not a known model"), std::string::npos);
}

TEST(Registry, IndividualOnlyForDLinear) {
  for (const models::ModelInfo& info : models::model_infos()) {
    models::ModelConfig c = tiny_config(info.name);
    c.individual = true;
    EXPECT_EQ(error_of([&] { models::check_model_options(c, false); }),
              info.name == "DLinear" ? "no error" : "--individual applies only to --model DLinear")
        << info.name;
  }
}

}  // namespace
}  // namespace attend::testing
