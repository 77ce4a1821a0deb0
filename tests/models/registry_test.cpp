// The registry: names and aliases, ModelInfo against the built models, the descriptions against
// the captured attention, and the model-specific option checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "attend/autograd/node.h"
#include "attend/models/model.h"
#include "attend/nn/attention.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/loss.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"

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

// Every model with --quantiles: Q outputs per target from one forward, all of them trained by the
// pinball loss (each level's output has a gradient), and the point forecast is the median level
// of the sorted outputs. Q = 1 keeps the point model's parameter shapes.
TEST(Registry, EveryModelForecastsQuantiles) {
  for (const models::ModelInfo& info : models::model_infos()) {
    Context ctx({.threads = 1, .seed = 5});
    models::ModelConfig c = tiny_config(info.name);
    const size_t point_params = models::make_model(c, ctx)->parameters().size();
    c.quantiles = {0.1, 0.5, 0.9};
    auto m = models::make_model(c, ctx);
    EXPECT_EQ(m->parameters().size(), point_params) << info.name;
    EXPECT_EQ(m->n_quantiles(), 3);
    EXPECT_EQ(m->median_index(), 1);
    const int64_t B = 2, F = models::time_feature_count(c.freq), Ly = c.label_len + c.pred_len;
    const Tensor x = Tensor::normal({B, c.seq_len, c.enc_in}, 0.0, 1.0, DType::F32, ctx);
    const Tensor xm = Tensor::normal({B, c.seq_len, F}, 0.0, 0.5, DType::F32, ctx);
    const Tensor xd = Tensor::normal({B, Ly, c.dec_in}, 0.0, 1.0, DType::F32, ctx);
    const Tensor ym = Tensor::normal({B, Ly, F}, 0.0, 0.5, DType::F32, ctx);
    Tensor q = m->forecast_quantiles(x, xm, xd, ym);
    ASSERT_EQ(q.ndim(), 4) << info.name;
    EXPECT_EQ(q.size(0), B);
    EXPECT_GE(q.size(1), c.pred_len) << info.name;
    EXPECT_EQ(q.size(2), c.c_out) << info.name;
    EXPECT_EQ(q.size(3), 3) << info.name;
    // Each level's slice reaches the parameters: the gradient of the pinball loss is not zero
    // through any one level alone.
    q = slice(q, 1, q.size(1) - c.pred_len, q.size(1));
    const Tensor y = Tensor::normal({B, c.pred_len, c.c_out}, 0.0, 1.0, DType::F32, ctx);
    for (int64_t level = 0; level < 3; ++level) {
      m->zero_grad();
      sum(abs(select(q, 3, level))).backward(Tensor(), /*retain_graph=*/true);
      double norm = 0;
      for (const Tensor& p : m->parameters())
        if (p.grad().defined())
          for (float g : p.grad().contiguous_data().to_vector<float>()) norm += std::abs(g);
      EXPECT_GT(norm, 0) << info.name << " level " << level;
    }
    EXPECT_TRUE(std::isfinite(pinball_loss(q, y, c.quantiles).item()));
    NoGradGuard ng;
    // (Informer's ProbSparse attention samples keys: the same seed for both forwards)
    ctx.generator().manual_seed(7);
    const Tensor sorted = models::sorted_quantiles(m->forecast_quantiles(x, xm, xd, ym));
    ctx.generator().manual_seed(7);
    const Tensor point = m->forecast(x, xm, xd, ym);
    EXPECT_EQ(point.to_vector<float>(), contiguous(select(sorted, 3, 1)).to_vector<float>())
        << info.name;
    const std::vector<float> v = sorted.contiguous_data().to_vector<float>();
    for (size_t i = 0; i < v.size(); i += 3)
      EXPECT_TRUE(v[i] <= v[i + 1] && v[i + 1] <= v[i + 2]) << info.name;
  }
}

TEST(Registry, CheckModelOptions) {
  // `covariates`: the run names static or known columns.
  auto message = [](const models::ModelConfig& c, bool covariates = false) {
    return error_of([&] { models::check_model_options(c, covariates, covariates); });
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
            "--static_columns apply only to --model TemporalFusionTransformer (a model with a "
            "static input path)");
  EXPECT_EQ(error_of([&] { models::check_model_options(c, false, true); }), "no error");
  c.model = "PatchTST";
  EXPECT_EQ(error_of([&] { models::check_model_options(c, false, true); }),
            "--known_columns apply only to --model Transformer, Informer, "
            "TemporalFusionTransformer (models that read future inputs)");
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
    EXPECT_EQ(error_of([&] { models::check_model_options(c, false, false); }),
              info.name == "DLinear" ? "no error" : "--individual applies only to --model DLinear")
        << info.name;
  }
}

}  // namespace
}  // namespace attend::testing
