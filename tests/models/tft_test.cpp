// Temporal Fusion Transformer: parity with TSLib's fixture, covariate roles, quantile outputs,
// pinball loss, explain accessors, training.
#include <gtest/gtest.h>

#include <cmath>

#include "attend/models/tft.h"
#include "attend/ops/loss.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"
#include "attend/optim/adam.h"
#include "parity.h"

namespace attend::testing {
namespace {

TEST(Parity, TemporalFusionTransformer) {
  check_parity("TemporalFusionTransformer");
}

models::ModelConfig tiny_tft() {
  models::ModelConfig c;
  c.model = "TemporalFusionTransformer";
  c.seq_len = 12;
  c.label_len = 4;
  c.pred_len = 6;
  c.enc_in = c.dec_in = c.c_out = 4;
  c.d_model = 8;
  c.n_heads = 2;
  c.dropout = 0.0;
  return c;
}

struct Batch {
  Tensor x_enc, x_mark_enc, x_dec, x_mark_dec, y;
};

Batch random_batch(const models::ModelConfig& c, Context& ctx, int64_t B = 3,
                   DType dtype = DType::F32) {
  const int64_t F = models::time_feature_count(c.freq);
  Batch b;
  b.x_enc = Tensor::normal({B, c.seq_len, c.enc_in}, 0.0, 1.0, dtype, ctx);
  b.x_mark_enc = Tensor::uniform({B, c.seq_len, F}, -0.5, 0.5, dtype, ctx);
  b.x_dec = Tensor::normal({B, c.label_len + c.pred_len, c.dec_in}, 0.0, 1.0, dtype, ctx);
  b.x_mark_dec = Tensor::uniform({B, c.label_len + c.pred_len, F}, -0.5, 0.5, dtype, ctx);
  b.y = Tensor::normal({B, c.pred_len, c.c_out}, 0.0, 1.0, dtype, ctx);
  return b;
}

std::shared_ptr<models::TemporalFusionTransformer> make_tft(const models::ModelConfig& c,
                                                            Context& ctx,
                                                            DType dtype = DType::F32) {
  return std::make_shared<models::TemporalFusionTransformer>(c, ctx, dtype);
}

// Sums over the last dim are all 1 (and every weight is in [0, 1]).
void expect_rows_sum_to_one(const Tensor& w, const std::string& what) {
  ASSERT_TRUE(w.defined()) << what;
  const int64_t n = w.size(w.ndim() - 1);
  std::vector<double> v = w.to_vector<double>();
  for (size_t r = 0; r < v.size() / n; ++r) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_GE(v[r * n + i], 0.0);
      s += v[r * n + i];
    }
    ASSERT_NEAR(s, 1.0, 1e-5) << what << " row " << r;
  }
}

TEST(TFT, DefaultRolesMatchTSLib) {
  Context ctx({.threads = 1, .seed = 1});
  auto c = tiny_tft();
  auto m = make_tft(c, ctx);
  EXPECT_EQ(m->observed_columns(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(m->static_columns().empty());
  EXPECT_TRUE(m->known_columns().empty());
  EXPECT_EQ(m->time_feature_count(), 4);
  EXPECT_EQ(m->history_variables(),
            (std::vector<std::string>{"x0", "x1", "x2", "x3", "time0", "time1", "time2", "time3"}));
  EXPECT_TRUE(m->has_attention());
  EXPECT_TRUE(m->uses_time_marks());
  EXPECT_FALSE(m->uses_decoder_input());
  auto sd = m->state_dict();
  // GateAddNorm(d, n) projects only when n ≠ d: 8 history variables = d_model, 4 future ones.
  EXPECT_FALSE(sd.count("history_vsn.joint_grn.gate.projection.weight"));
  EXPECT_EQ(sd.at("future_vsn.joint_grn.gate.projection.weight").shape(), Shape({4, 8}));
  EXPECT_EQ(sd.at("history_vsn.joint_grn.lin_a.weight").shape(), Shape({8, 8 * 8}));
  EXPECT_EQ(sd.at("temporal_fusion_decoder.attention.qkv_linears.weight").shape(),
            Shape({(2 * 2 + 1) * 4, 8}));
  EXPECT_EQ(sd.at("temporal_fusion_decoder.attention.mask").shape(), Shape({18, 18}));
  EXPECT_FALSE(sd.count("static_encoder.static_vsn.joint_grn.lin_a.weight"));
}

TEST(TFT, SelectionAndAttentionWeights) {
  Context ctx({.threads = 1, .seed = 2});
  auto c = tiny_tft();
  c.static_columns = {1};
  c.known_columns = {3};
  auto m = make_tft(c, ctx);
  EXPECT_EQ(m->observed_columns(), (std::vector<int64_t>{0, 2}));
  EXPECT_TRUE(m->uses_decoder_input());
  EXPECT_EQ(m->history_variables(),
            (std::vector<std::string>{"x0", "x2", "time0", "time1", "time2", "time3", "x3"}));
  EXPECT_EQ(m->future_variables(),
            (std::vector<std::string>{"time0", "time1", "time2", "time3", "x3"}));
  Batch b = random_batch(c, ctx);
  Tensor out = m->forecast(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec);
  EXPECT_EQ(out.shape(), Shape({3, c.pred_len, c.c_out}));
  EXPECT_EQ(m->static_selection_weights().shape(), Shape({3, 1, 1}));
  EXPECT_EQ(m->history_selection_weights().shape(), Shape({3, c.seq_len, 7}));
  EXPECT_EQ(m->future_selection_weights().shape(), Shape({3, c.pred_len, 5}));
  expect_rows_sum_to_one(m->static_selection_weights(), "static");
  expect_rows_sum_to_one(m->history_selection_weights(), "history");
  expect_rows_sum_to_one(m->future_selection_weights(), "future");
  Tensor avg =
      models::TemporalFusionTransformer::average_selection_weights(m->history_selection_weights());
  EXPECT_EQ(avg.shape(), Shape({7}));
  expect_rows_sum_to_one(reshape(avg, {1, 7}), "average");

  // Attention (B, pred_len, T), head-averaged, causal: query of step S + i sees keys ≤ S + i.
  const Tensor& a = m->attention_weights();
  const int64_t T = c.seq_len + c.pred_len;
  ASSERT_EQ(a.shape(), Shape({3, c.pred_len, T}));
  expect_rows_sum_to_one(a, "attention");
  std::vector<double> v = a.to_vector<double>();
  for (int64_t bi = 0; bi < 3; ++bi)
    for (int64_t i = 0; i < c.pred_len; ++i)
      for (int64_t j = c.seq_len + i + 1; j < T; ++j)
        EXPECT_EQ(v[(bi * c.pred_len + i) * T + j], 0.0);

  // Backward reaches the static encoder and the context layers now that statics exist.
  Tensor loss = mse_loss(out, b.y);
  loss.backward();
  for (const auto& [name, p] : m->named_parameters()) {
    // Frozen calendar tables, and the static VSN's context layer (it is called without context).
    if (name.find("temporal_embedding") != std::string::npos ||
        name.rfind("static_encoder.static_vsn.joint_grn.lin_c", 0) == 0)
      continue;
    EXPECT_TRUE(p.grad().defined()) << name;
  }
}

TEST(TFT, KnownColumnFutureValuesMatter) {
  Context ctx({.threads = 1, .seed = 4});
  auto c = tiny_tft();
  c.known_columns = {2};
  auto m = make_tft(c, ctx);
  m->eval();
  NoGradGuard ng;
  Batch b = random_batch(c, ctx);
  Tensor o1 = m->forecast(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec);
  // Changing a non-known column of x_dec changes nothing; the known column's future does.
  Tensor d2 = b.x_dec.copy_as(DType::F32);
  d2.data<float>()[(c.label_len + 1) * c.dec_in + 0] += 3.0f;
  Tensor o2 = m->forecast(b.x_enc, b.x_mark_enc, d2, b.x_mark_dec);
  EXPECT_EQ(o1.to_vector<double>(), o2.to_vector<double>());
  Tensor d3 = b.x_dec.copy_as(DType::F32);
  d3.data<float>()[(c.label_len + 1) * c.dec_in + 2] += 3.0f;
  Tensor o3 = m->forecast(b.x_enc, b.x_mark_enc, d3, b.x_mark_dec);
  EXPECT_NE(o1.to_vector<double>(), o3.to_vector<double>());
}

TEST(TFT, QuantileOutputs) {
  Context ctx({.threads = 1, .seed = 5});
  auto c = tiny_tft();
  c.quantiles = {0.1, 0.5, 0.9};
  auto m = make_tft(c, ctx);
  EXPECT_EQ(m->median_index(), 1);
  EXPECT_EQ(m->state_dict().at("temporal_fusion_decoder.out_projection.weight").shape(),
            Shape({c.c_out * 3, c.d_model}));
  m->eval();
  NoGradGuard ng;
  Batch b = random_batch(c, ctx);
  Tensor q = m->forecast_quantiles(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec);
  ASSERT_EQ(q.shape(), Shape({3, c.pred_len, c.c_out, 3}));
  Tensor f = m->forecast(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec);
  ASSERT_EQ(f.shape(), Shape({3, c.pred_len, c.c_out}));
  // the point forecast is the middle of the sorted quantiles (the untrained heads cross)
  EXPECT_EQ(f.to_vector<double>(),
            contiguous(select(models::sorted_quantiles(q), 3, 1)).to_vector<double>());

  auto c2 = tiny_tft();
  c2.quantiles = {0.1, 0.3, 0.7, 0.9};
  EXPECT_EQ(make_tft(c2, ctx)->median_index(), 2);
  auto c3 = tiny_tft();
  c3.quantiles = {0.5, 0.9};
  EXPECT_EQ(make_tft(c3, ctx)->median_index(), 0);
}

// pred (1, 1, 2, 2), quantiles {0.25, 0.75}, target {1, -1}:
//   d = y − ŷ: var 0: 1 − 0 = 1, 1 − 2 = −1; var 1: −1 − (−3) = 2, −1 − 1 = −2.
//   losses: 0.25·1 = 0.25; (0.75 − 1)·(−1) = 0.25; 0.25·2 = 0.5; (0.75 − 1)·(−2) = 0.5 -> mean
//   0.375.
TEST(TFT, PinballLossHandComputed) {
  Context ctx({.threads = 1, .seed = 6});
  Tensor pred = Tensor::from_vector<double>({0, 2, -3, 1}, Shape({1, 1, 2, 2}), ctx);
  pred.set_requires_grad(true);
  Tensor y = Tensor::from_vector<double>({1, -1}, Shape({1, 1, 2}), ctx);
  Tensor loss = attend::pinball_loss(pred, y, {0.25, 0.75});
  EXPECT_NEAR(loss.item(), 0.375, 1e-12);
  loss.backward();
  // dL/dŷ = (−q if d > 0 else 1 − q) / 4
  std::vector<double> g = pred.grad().to_vector<double>();
  std::vector<double> expect = {-0.25 / 4, 0.25 / 4, -0.25 / 4, 0.25 / 4};
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], expect[i], 1e-12) << i;
  // Median pinball loss = MAE / 2.
  Tensor p1 = Tensor::from_vector<double>({0.5, 3}, Shape({1, 2, 1}), ctx);
  Tensor y1 = Tensor::from_vector<double>({1.5, 1}, Shape({1, 2}), ctx);
  EXPECT_NEAR(attend::pinball_loss(p1, y1, {0.5}).item(), 0.5 * (1.0 + 2.0) / 2, 1e-12);
}

TEST(TFT, PinballLossGradcheck) {
  Context ctx({.threads = 1, .seed = 7});
  Tensor pred = random_leaf({2, 3, 2, 3}, ctx);
  Tensor y = Tensor::uniform({2, 3, 2}, -1.0, 1.0, DType::F64, ctx);
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Tensor>& in) {
        return attend::pinball_loss(in[0], y, {0.1, 0.5, 0.9});
      },
      {pred}));
}

TEST(TFT, PinballLossErrors) {
  Context ctx({.threads = 1, .seed = 8});
  Tensor pred = Tensor::zeros({1, 2, 3, 2}, DType::F32, ctx);
  EXPECT_THROW(attend::pinball_loss(pred, Tensor::zeros({1, 2, 3}, DType::F32, ctx), {0.5}), Error);
  EXPECT_THROW(attend::pinball_loss(pred, Tensor::zeros({1, 2, 4}, DType::F32, ctx), {0.1, 0.9}),
               Error);
  EXPECT_THROW(attend::pinball_loss(pred, Tensor::zeros({1, 2, 3}, DType::F32, ctx), {0.1, 1.5}),
               Error);
}

// Gradient of the whole model (float64, small): a few parameters by central differences.
TEST(TFT, ModelGradcheckFloat64) {
  Context ctx({.threads = 1, .seed = 9});
  auto c = tiny_tft();
  c.seq_len = 5;
  c.pred_len = 3;
  c.enc_in = c.c_out = 3;
  c.d_model = 4;
  c.static_columns = {1};
  auto m = make_tft(c, ctx, DType::F64);
  Batch b = random_batch(c, ctx, 2, DType::F64);
  for (const char* name : {"temporal_fusion_decoder.attention.qkv_linears.weight",
                           "history_vsn.variable_grns.1.gate.layer_norm.weight",
                           "history_vsn.joint_grn.lin_c.weight", "static_encoder.grns.1.lin_a.bias",
                           "embedding.observed_embedding.0.value_embedding.tokenConv.weight"}) {
    Tensor p;
    for (const auto& [n, t] : m->named_parameters())
      if (n == name) p = t;
    ASSERT_TRUE(p.defined()) << name;
    EXPECT_TRUE(gradcheck(
        [&](const std::vector<Tensor>&) {
          return m->forecast(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec);
        },
        {p}, 1e-6, 1e-6, 1e-4))
        << name;
  }
}

TEST(TFT, Trains) {
  Context ctx({.threads = 1, .seed = 10});
  auto c = tiny_tft();
  auto m = models::make_model(c, ctx);
  Batch b = random_batch(c, ctx, 4);
  m->train();
  optim::AdamOptions o;
  o.lr = 1e-2;
  optim::Adam adam(m->parameters(), o);
  double first = 0, last = 0;
  for (int s = 0; s < 30; ++s) {
    m->zero_grad();
    Tensor loss = mse_loss(m->forecast(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec), b.y);
    loss.backward();
    adam.step();
    if (s == 0) first = loss.item();
    last = loss.item();
  }
  EXPECT_LT(last, 0.8 * first) << first << " -> " << last;
}

TEST(TFT, TrainsWithPinballLoss) {
  Context ctx({.threads = 1, .seed = 11});
  auto c = tiny_tft();
  c.quantiles = {0.1, 0.5, 0.9};
  auto m = make_tft(c, ctx);
  Batch b = random_batch(c, ctx, 4);
  optim::AdamOptions o;
  o.lr = 1e-2;
  optim::Adam adam(m->parameters(), o);
  double first = 0, last = 0;
  for (int s = 0; s < 30; ++s) {
    m->zero_grad();
    Tensor loss = attend::pinball_loss(
        m->forecast_quantiles(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec), b.y, c.quantiles);
    loss.backward();
    adam.step();
    if (s == 0) first = loss.item();
    last = loss.item();
  }
  EXPECT_LT(last, 0.8 * first) << first << " -> " << last;
}

// embed fixed: calendar tables (frozen) as the known inputs; c_out 1 uses the last column's scale.
TEST(TFT, CalendarEmbeddingAndSingleOutput) {
  Context ctx({.threads = 1, .seed = 13});
  auto c = tiny_tft();
  c.embed = "fixed";
  c.c_out = 1;
  auto m = make_tft(c, ctx);
  auto sd = m->state_dict();
  EXPECT_EQ(sd.at("embedding.known_embedding.hour_embed.emb.weight").shape(), Shape({24, 8}));
  EXPECT_EQ(sd.at("embedding.known_embedding.month_embed.emb.weight").shape(), Shape({13, 8}));
  Batch b = random_batch(c, ctx);
  // integer calendar marks: month, day, weekday, hour
  for (Tensor* marks : {&b.x_mark_enc, &b.x_mark_dec}) {
    float* p = marks->data<float>();
    for (int64_t i = 0; i < marks->numel(); ++i) p[i] = static_cast<float>(i % 7);
  }
  Tensor out = m->forecast(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec);
  EXPECT_EQ(out.shape(), Shape({3, c.pred_len, 1}));
  mse_loss(out, slice(b.y, 2, 0, 1)).backward();
  for (const auto& [name, p] : m->named_parameters())
    if (name.find("known_embedding") != std::string::npos) EXPECT_FALSE(p.requires_grad()) << name;
}

TEST(TFT, Errors) {
  Context ctx({.threads = 1, .seed = 12});
  auto bad_role = tiny_tft();
  bad_role.static_columns = {4};
  EXPECT_THROW(make_tft(bad_role, ctx), Error);
  auto twice = tiny_tft();
  twice.static_columns = {1};
  twice.known_columns = {1};
  EXPECT_THROW(make_tft(twice, ctx), Error);
  auto bad_q = tiny_tft();
  bad_q.quantiles = {0.0, 0.5};
  EXPECT_THROW(make_tft(bad_q, ctx), Error);
  auto heads = tiny_tft();
  heads.n_heads = 3;
  EXPECT_THROW(make_tft(heads, ctx), Error);
  auto cout = tiny_tft();
  cout.c_out = 2;
  EXPECT_THROW(make_tft(cout, ctx), Error);

  auto c = tiny_tft();
  auto m = make_tft(c, ctx);
  Batch b = random_batch(c, ctx);
  Tensor short_marks = Tensor::zeros({3, c.seq_len, 2}, DType::F32, ctx);
  EXPECT_THROW(m->forecast(b.x_enc, short_marks, b.x_dec, b.x_mark_dec), Error);
  EXPECT_THROW(m->forecast(b.x_enc, b.x_mark_enc, b.x_dec, Tensor()), Error);
  Tensor wrong = Tensor::zeros({3, c.seq_len, c.enc_in + 1}, DType::F32, ctx);
  EXPECT_THROW(m->forecast(wrong, b.x_mark_enc, b.x_dec, b.x_mark_dec), Error);
  auto known = tiny_tft();
  known.known_columns = {0};
  EXPECT_THROW(make_tft(known, ctx)->forecast(b.x_enc, b.x_mark_enc, Tensor(), b.x_mark_dec),
               Error);
}

}  // namespace
}  // namespace attend::testing
