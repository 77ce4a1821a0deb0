#include "attend/models/tft.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "attend/autograd/node.h"
#include "attend/models/common.h"
#include "attend/nn/embedding.h"
#include "attend/ops/conv.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/linalg.h"
#include "attend/ops/nn_functional.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"

namespace attend::models {

namespace {

// A named grouping of children (TSLib's wrapper modules that own no tensors of their own).
class Container : public nn::Module {
 public:
  explicit Container(std::string name) : name_(std::move(name)) {}
  template <typename M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
  Tensor add_buffer(const std::string& name, Tensor t) { return register_buffer(name, t); }
  std::string type_name() const override { return name_; }

 private:
  std::string name_;
};

Tensor maybe_dropout(const Tensor& x, double p, bool training) {
  return p > 0.0 && training ? dropout(x, p, true) : x;
}

// Shape of x without its last `drop` dims, followed by `tail`.
Shape leading_shape(const Tensor& x, int drop, std::initializer_list<int64_t> tail) {
  std::vector<int64_t> dims;
  for (int i = 0; i < x.ndim() - drop; ++i) dims.push_back(x.size(i));
  for (int64_t t : tail) dims.push_back(t);
  return Shape(dims);
}

Tensor index_tensor(const std::vector<int64_t>& idx, Context& ctx) {
  return Tensor::from_vector<int64_t>(idx, Shape({static_cast<int64_t>(idx.size())}), ctx);
}

// Columns `idx` of x (B, L, C) along the last dim; x itself when idx is 0..C−1.
Tensor take_columns(const Tensor& x, const std::vector<int64_t>& idx) {
  bool identity = static_cast<int64_t>(idx.size()) == x.size(2);
  for (size_t i = 0; identity && i < idx.size(); ++i) identity = idx[i] == static_cast<int64_t>(i);
  return identity ? x : index_select(x, 2, index_tensor(idx, x.context()));
}

}  // namespace

namespace tft {

// ---- GLU / GateAddNorm / GRN --------------------------------------------------------------------

GLU::GLU(int64_t input_size, int64_t output_size, Context& ctx, DType dtype) {
  fc1 = register_module("fc1", std::make_shared<nn::Linear>(input_size, output_size, ctx, dtype));
  fc2 = register_module("fc2", std::make_shared<nn::Linear>(input_size, output_size, ctx, dtype));
  // [W1; W2] and [b1; b2] as views in forward(), not copies
  pack_adjacent({fc1->weight(), fc2->weight()});
  pack_adjacent({fc1->bias(), fc2->bias()});
}

Tensor GLU::forward(const Tensor& x) {
  return forward(x, Tensor());
}

Tensor GLU::forward(const Tensor& x, const Tensor& residual) {
  // [a | b] = x·[W1; W2]ᵀ + [b1; b2];  a ⊙ σ(b) (+ residual) in one fused pass
  Tensor g = linear(x, concat_params({fc1->weight(), fc2->weight()}),
                    concat_params({fc1->bias(), fc2->bias()}));
  return glu(g, residual);
}

GateAddNorm::GateAddNorm(int64_t input_size, int64_t output_size, Context& ctx, DType dtype) {
  glu = register_module("glu", std::make_shared<GLU>(input_size, input_size, ctx, dtype));
  if (input_size != output_size)
    projection = register_module("projection",
                                 std::make_shared<nn::Linear>(input_size, output_size, ctx, dtype));
  layer_norm =
      register_module("layer_norm", std::make_shared<nn::LayerNorm>(output_size, ctx, dtype));
}

Tensor GateAddNorm::forward(const Tensor& x, const Tensor& skip) {
  Tensor y = glu->forward(x, skip);
  if (projection) y = projection->forward(y);
  return layer_norm->forward(y);
}

GRN::GRN(int64_t input_size, int64_t output_size, int64_t hidden_size, int64_t context_size,
         double dropout_p, Context& ctx, DType dtype)
    : dropout(dropout_p) {
  const int64_t hidden = hidden_size > 0 ? hidden_size : input_size;
  lin_a = register_module("lin_a", std::make_shared<nn::Linear>(input_size, hidden, ctx, dtype));
  if (context_size > 0)
    lin_c =
        register_module("lin_c", std::make_shared<nn::Linear>(context_size, hidden, ctx, dtype));
  lin_i = register_module("lin_i", std::make_shared<nn::Linear>(hidden, hidden, ctx, dtype));
  if (hidden != input_size)
    project_a =
        register_module("project_a", std::make_shared<nn::Linear>(input_size, hidden, ctx, dtype));
  gate = register_module("gate", std::make_shared<GateAddNorm>(hidden, output_size, ctx, dtype));
  if (project_a) {  // [W_a; W_p] and [b_a; b_p] as views in forward(), not copies
    pack_adjacent({lin_a->weight(), project_a->weight()});
    pack_adjacent({lin_a->bias(), project_a->bias()});
  }
}

Tensor GRN::forward(const Tensor& a, const Tensor& c) {
  Tensor x, skip;
  if (project_a) {
    // lin_a and project_a read the same input: one GEMM, [x | skip].
    const int64_t h = lin_a->out_features();
    const int last = a.ndim() - 1;
    Tensor both = linear(a, concat_params({lin_a->weight(), project_a->weight()}),
                         concat_params({lin_a->bias(), project_a->bias()}));
    std::vector<Tensor> parts = split(both, std::vector<int64_t>{h, h}, last);
    x = parts[0];
    skip = parts[1];
  } else {
    x = lin_a->forward(a);
    skip = a;
  }
  if (c.defined()) {
    ATTEND_CHECK(lin_c != nullptr, "[GRN] a context was given to a GRN without a context layer");
    Tensor ctx_term = lin_c->forward(c);                   // (B, hidden)
    if (a.ndim() == 3) ctx_term = unsqueeze(ctx_term, 1);  // (B, 1, hidden)
    x = add(x, ctx_term);
  }
  x = lin_i->forward(elu(x));
  x = maybe_dropout(x, dropout, is_training());
  return gate->forward(x, skip);
}

// ---- VariableSelectionNetwork ----------------------------------------------------------------

VariableSelectionNetwork::VariableSelectionNetwork(int64_t d_model, int64_t variable_num,
                                                   double dropout_p, Context& ctx, DType dtype)
    : d_(d_model), n_(variable_num) {
  joint_grn_ =
      register_module("joint_grn", std::make_shared<GRN>(d_model * variable_num, variable_num,
                                                         d_model, d_model, dropout_p, ctx, dtype));
  auto list = register_module("variable_grns", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < variable_num; ++i) {
    auto g = std::make_shared<GRN>(d_model, d_model, 0, 0, dropout_p, ctx, dtype);
    list->push_back(g);
    variable_grns_.push_back(g);
  }
  // Each kind of the n GRNs' weights back to back, so that forward() stacks them as views: W_a,
  // W_i, [W1; W2] of the GLUs (variable-major), their biases, the LayerNorms' scales and shifts.
  auto each = [&](auto get) {
    std::vector<Tensor> ts;
    for (const auto& g : variable_grns_) get(*g, ts);
    pack_adjacent(ts);
  };
  each([](GRN& g, std::vector<Tensor>& ts) { ts.push_back(g.lin_a->weight()); });
  each([](GRN& g, std::vector<Tensor>& ts) { ts.push_back(g.lin_a->bias()); });
  each([](GRN& g, std::vector<Tensor>& ts) { ts.push_back(g.lin_i->weight()); });
  each([](GRN& g, std::vector<Tensor>& ts) { ts.push_back(g.lin_i->bias()); });
  each([](GRN& g, std::vector<Tensor>& ts) {
    ts.push_back(g.gate->glu->fc1->weight());
    ts.push_back(g.gate->glu->fc2->weight());
  });
  each([](GRN& g, std::vector<Tensor>& ts) {
    ts.push_back(g.gate->glu->fc1->bias());
    ts.push_back(g.gate->glu->fc2->bias());
  });
  each([](GRN& g, std::vector<Tensor>& ts) { ts.push_back(g.gate->layer_norm->weight()); });
  each([](GRN& g, std::vector<Tensor>& ts) { ts.push_back(g.gate->layer_norm->bias()); });
}

Tensor VariableSelectionNetwork::forward(const Tensor& x, const Tensor& c, Tensor* weights) {
  ATTEND_CHECK(x.ndim() >= 3 && x.size(x.ndim() - 2) == n_ && x.size(x.ndim() - 1) == d_,
               "[VariableSelectionNetwork] expected (..., {}, {}), got {}", n_, d_,
               x.shape().str());
  const int64_t n = n_, d = d_;
  // w = softmax(joint_grn(flatten(x))) over variables: (..., n)
  Tensor w = softmax(joint_grn_->forward(reshape(x, leading_shape(x, 2, {n * d})), c), -1);
  if (weights) *weights = w.detach();

  // All n variable GRNs as batched products over rows: xr (n, N, d).
  const int64_t N = x.numel() / (n * d);
  Tensor xr = permute(reshape(x, {N, n, d}), {1, 0, 2});
  std::vector<Tensor> wa, ba, wi, bi, wg, bg, lw, lb;
  for (const auto& g : variable_grns_) {
    wa.push_back(g->lin_a->weight());
    ba.push_back(g->lin_a->bias());
    wi.push_back(g->lin_i->weight());
    bi.push_back(g->lin_i->bias());
    wg.push_back(concat_params({g->gate->glu->fc1->weight(), g->gate->glu->fc2->weight()}));
    bg.push_back(concat_params({g->gate->glu->fc1->bias(), g->gate->glu->fc2->bias()}));
    lw.push_back(g->gate->layer_norm->weight());
    lb.push_back(g->gate->layer_norm->bias());
  }
  // h (n, N, in) · W_iᵀ (n, in, out) + b_i (n, 1, out)
  auto affine = [](const Tensor& h, const std::vector<Tensor>& w_list,
                   const std::vector<Tensor>& b_list) {
    return add(matmul(h, transpose(stack_params(w_list), 1, 2)),
               unsqueeze(stack_params(b_list), 1));
  };
  Tensor h = elu(affine(xr, wa, ba));
  h = maybe_dropout(affine(h, wi, bi), variable_grns_[0]->dropout, is_training());
  Tensor g = affine(h, wg, bg);  // (n, N, 2d)
  Tensor y = glu(g, xr);
  y = layer_norm(y, Tensor(), Tensor(), 1e-5);
  y = add(mul(y, unsqueeze(stack_params(lw), 1)), unsqueeze(stack_params(lb), 1));  // (n, N, d)

  // Σ_i w[·, i] · y_i: (N, 1, n) · (N, n, d) -> (N, d)
  Tensor out = matmul(reshape(w, {N, 1, n}), permute(y, {1, 0, 2}));
  return reshape(out, leading_shape(x, 2, {d}));
}

// ---- InterpretableMultiHeadAttention ---------------------------------------------------------

InterpretableMultiHeadAttention::InterpretableMultiHeadAttention(int64_t d_model, int64_t n_heads,
                                                                 int64_t example_len,
                                                                 double dropout_p, Context& ctx,
                                                                 DType dtype)
    : n_heads_(n_heads), d_head_(d_model / n_heads), dropout_(dropout_p) {
  ATTEND_CHECK(n_heads > 0 && d_model % n_heads == 0,
               "[TemporalFusionTransformer] --d_model {} must be a multiple of --n_heads {}",
               d_model, n_heads);
  Tensor mask = Tensor::zeros({example_len, example_len}, DType::F32, ctx);
  float* m = mask.data<float>();
  for (int64_t i = 0; i < example_len; ++i)
    for (int64_t j = i + 1; j < example_len; ++j)
      m[i * example_len + j] = -std::numeric_limits<float>::infinity();
  mask_ = register_buffer("mask", dtype == DType::F32 ? mask : mask.copy_as(dtype));
  qkv_linears_ = register_module(
      "qkv_linears", std::make_shared<nn::Linear>(d_model, (2 * n_heads + 1) * d_head_,
                                                  nn::LinearOptions{.bias = false}, ctx, dtype));
  out_projection_ = register_module(
      "out_projection",
      std::make_shared<nn::Linear>(d_head_, d_model, nn::LinearOptions{.bias = false}, ctx, dtype));
}

Tensor InterpretableMultiHeadAttention::forward(const Tensor& x, int64_t n_queries,
                                                Tensor* weights) {
  const int64_t B = x.size(0), T = x.size(1), H = n_heads_, dh = d_head_;
  ATTEND_CHECK(T == mask_.size(0) && n_queries > 0 && n_queries <= T,
               "[InterpretableMultiHeadAttention] expected {} steps, got {}", mask_.size(0), T);
  const Tensor& W = qkv_linears_->weight();  // ((2H + 1)·dh, d): q heads, k heads, shared v
  // q for the last n_queries steps only: (B, H, Lq, dh)
  // q · dh^−½ (the scale folded into the smaller operand).
  std::vector<Tensor> w_qkv = split(W, std::vector<int64_t>{H * dh, (H + 1) * dh}, 0);
  Tensor q = linear(slice(x, 1, T - n_queries, T), w_qkv[0]);
  q = permute(reshape(mul(q, 1.0 / std::sqrt(static_cast<double>(dh))), {B, n_queries, H, dh}),
              {0, 2, 1, 3});
  Tensor kv = linear(x, w_qkv[1]);  // (B, T, (H + 1)·dh)
  std::vector<Tensor> k_v = split(kv, std::vector<int64_t>{H * dh, dh}, 2);
  Tensor kt = permute(reshape(k_v[0], {B, T, H, dh}), {0, 2, 3, 1});  // (B, H, dh, T)
  Tensor v = k_v[1];                                                  // (B, T, dh)
  // p_h = softmax(q_h k_hᵀ · dh^−½ + mask); the heads share V, so mean_h(p_h V) = (mean_h p_h) V.
  Tensor scores = add(matmul(q, kt), slice(mask_, 0, T - n_queries, T));
  Tensor p = mean(softmax(scores, 3), {1});  // (B, Lq, T)
  if (weights) *weights = p.detach();
  Tensor out = out_projection_->forward(matmul(p, v));  // (B, Lq, d)
  return maybe_dropout(out, dropout_, is_training());
}

}  // namespace tft

// ---- TemporalFusionTransformer ---------------------------------------------------------------

namespace {

// TSLib's TFTTemporalEmbedding children: calendar tables stacked as variables.
std::shared_ptr<nn::Module> calendar_table(int64_t n, int64_t d, bool fixed, Context& ctx,
                                           DType dtype) {
  if (fixed) return std::make_shared<FixedEmbedding>(n, d, ctx, dtype);
  return std::make_shared<nn::Embedding>(n, d, ctx, dtype);
}

}  // namespace

TemporalFusionTransformer::TemporalFusionTransformer(const ModelConfig& c, Context& ctx,
                                                     DType dtype)
    : ForecastModel(c) {
  ATTEND_CHECK(c.seq_len > 0 && c.pred_len > 0, "--seq_len {} and --pred_len {} must be positive",
               c.seq_len, c.pred_len);
  ATTEND_CHECK(c.enc_in > 0 && c.c_out > 0 && c.d_model > 0,
               "[TemporalFusionTransformer] --enc_in {}, --c_out {} and --d_model {} must be "
               "positive",
               c.enc_in, c.c_out, c.d_model);
  ATTEND_CHECK(c.c_out == c.enc_in || c.c_out == 1,
               "[TemporalFusionTransformer] --c_out must equal --enc_in ({}) or be 1 (the last "
               "variable's scale), got {}",
               c.enc_in, c.c_out);
  ATTEND_CHECK(c.seq_len + c.pred_len <= 5000,
               "[TemporalFusionTransformer] --seq_len + --pred_len {} exceeds the positional table "
               "of 5000",
               c.seq_len + c.pred_len);
  // Roles: static and known columns from the config; every other column is observed.
  std::set<int64_t> seen;
  for (const auto* list : {&c.static_columns, &c.known_columns})
    for (int64_t col : *list) {
      ATTEND_CHECK(col >= 0 && col < c.enc_in,
                   "[TemporalFusionTransformer] covariate column {} is outside 0..{}", col,
                   c.enc_in - 1);
      ATTEND_CHECK(seen.insert(col).second,
                   "[TemporalFusionTransformer] column {} is given more than one role", col);
    }
  static_pos_ = c.static_columns;
  known_pos_ = c.known_columns;
  for (int64_t col = 0; col < c.enc_in; ++col)
    if (!seen.count(col)) observed_pos_.push_back(col);
  time_features_continuous_ = c.embed == "timeF";
  if (time_features_continuous_) {
    known_len_ = models::time_feature_count(c.freq);
  } else {
    ATTEND_CHECK(c.embed == "fixed" || c.embed == "learned",
                 "--embed must be timeF, fixed or learned, got '{}'", c.embed);
    known_len_ = time_feature_letter(c.freq) == "t" ? 5 : 4;
  }

  const int64_t d = c.d_model;
  const int64_t n_static = static_cast<int64_t>(static_pos_.size());
  const int64_t n_known = known_len_ + static_cast<int64_t>(known_pos_.size());
  const int64_t n_history = static_cast<int64_t>(observed_pos_.size()) + n_known;

  // embedding.*
  auto embedding = register_module("embedding", std::make_shared<Container>("TFTEmbedding"));
  if (n_static > 0) {
    auto list = embedding->add("static_embedding", std::make_shared<nn::ModuleList>());
    for (int64_t i = 0; i < n_static; ++i) {
      auto e = std::make_shared<DataEmbedding>(1, d, "fixed", "h", c.dropout, ctx, dtype);
      list->push_back(e);
      static_embedding_.push_back(e);
    }
  }
  {
    auto list = embedding->add("observed_embedding", std::make_shared<nn::ModuleList>());
    for (size_t i = 0; i < observed_pos_.size(); ++i) {
      auto e = std::make_shared<DataEmbedding>(1, d, "fixed", "h", c.dropout, ctx, dtype);
      list->push_back(e);
      observed_embedding_.push_back(e);
      for (const auto& [name, t] : e->named_parameters())
        if (name == "value_embedding.tokenConv.weight") observed_conv_weights_.push_back(t);
      for (const auto& [name, t] : e->named_buffers())
        if (name == "position_embedding.pe") observed_pe_.push_back(t);
    }
    ATTEND_CHECK(observed_conv_weights_.size() == observed_pos_.size() &&
                     observed_pe_.size() == observed_pos_.size(),
                 "[TemporalFusionTransformer] DataEmbedding has unexpected tensor names");
  }
  {
    auto known = embedding->add(
        "known_embedding",
        std::make_shared<Container>(time_features_continuous_ ? "TFTTimeFeatureEmbedding"
                                                              : "TFTTemporalEmbedding"));
    if (time_features_continuous_) {
      auto list = known->add("embed", std::make_shared<nn::ModuleList>());
      for (int64_t i = 0; i < known_len_; ++i) {
        auto l = std::make_shared<nn::Linear>(1, d, nn::LinearOptions{.bias = false}, ctx, dtype);
        list->push_back(l);
        known_time_linear_.push_back(l);
      }
    } else {
      // TemporalEmbedding's registration order; stacked as month, day, weekday, hour, (minute).
      const bool fixed = c.embed == "fixed";
      std::shared_ptr<nn::Module> minute;
      if (time_feature_letter(c.freq) == "t")
        minute = known->add("minute_embed", calendar_table(4, d, fixed, ctx, dtype));
      auto hour = known->add("hour_embed", calendar_table(24, d, fixed, ctx, dtype));
      auto weekday = known->add("weekday_embed", calendar_table(7, d, fixed, ctx, dtype));
      auto day = known->add("day_embed", calendar_table(32, d, fixed, ctx, dtype));
      auto month = known->add("month_embed", calendar_table(13, d, fixed, ctx, dtype));
      known_calendar_ = {month, day, weekday, hour};
      if (minute) known_calendar_.push_back(minute);
    }
  }
  if (!known_pos_.empty()) {
    auto list = embedding->add("known_value_embedding", std::make_shared<nn::ModuleList>());
    for (size_t i = 0; i < known_pos_.size(); ++i) {
      auto l = std::make_shared<nn::Linear>(1, d, nn::LinearOptions{.bias = false}, ctx, dtype);
      list->push_back(l);
      known_value_linear_.push_back(l);
    }
  }

  // static_encoder.*
  auto static_encoder =
      register_module("static_encoder", std::make_shared<Container>("StaticCovariateEncoder"));
  if (n_static > 0)
    static_vsn_ = static_encoder->add("static_vsn", std::make_shared<tft::VariableSelectionNetwork>(
                                                        d, n_static, 0.0, ctx, dtype));
  {
    auto list = static_encoder->add("grns", std::make_shared<nn::ModuleList>());
    for (int i = 0; i < 4; ++i) {
      auto g = std::make_shared<tft::GRN>(d, d, 0, 0, 0.0, ctx, dtype);
      list->push_back(g);
      static_grns_.push_back(g);
    }
  }
  history_vsn_ = register_module("history_vsn", std::make_shared<tft::VariableSelectionNetwork>(
                                                    d, n_history, 0.0, ctx, dtype));
  future_vsn_ = register_module(
      "future_vsn", std::make_shared<tft::VariableSelectionNetwork>(d, n_known, 0.0, ctx, dtype));

  // temporal_fusion_decoder.*
  auto dec = register_module("temporal_fusion_decoder",
                             std::make_shared<Container>("TemporalFusionDecoder"));
  history_encoder_ =
      dec->add("history_encoder",
               std::make_shared<nn::LSTM>(d, d, nn::LSTMOptions{.batch_first = true}, ctx, dtype));
  future_encoder_ =
      dec->add("future_encoder",
               std::make_shared<nn::LSTM>(d, d, nn::LSTMOptions{.batch_first = true}, ctx, dtype));
  gate_after_lstm_ =
      dec->add("gate_after_lstm", std::make_shared<tft::GateAddNorm>(d, d, ctx, dtype));
  enrichment_grn_ =
      dec->add("enrichment_grn", std::make_shared<tft::GRN>(d, d, 0, d, c.dropout, ctx, dtype));
  attention_ =
      dec->add("attention", std::make_shared<tft::InterpretableMultiHeadAttention>(
                                d, c.n_heads, c.seq_len + c.pred_len, c.dropout, ctx, dtype));
  gate_after_attention_ =
      dec->add("gate_after_attention", std::make_shared<tft::GateAddNorm>(d, d, ctx, dtype));
  position_wise_grn_ =
      dec->add("position_wise_grn", std::make_shared<tft::GRN>(d, d, 0, 0, c.dropout, ctx, dtype));
  gate_final_ = dec->add("gate_final", std::make_shared<tft::GateAddNorm>(d, d, ctx, dtype));
  out_projection_ = dec->add("out_projection",
                             std::make_shared<nn::Linear>(d, c.c_out * n_quantiles(), ctx, dtype));
}

std::vector<std::string> TemporalFusionTransformer::static_variables() const {
  std::vector<std::string> names;
  for (int64_t col : static_pos_) names.push_back(fmt::format("x{}", col));
  return names;
}

std::vector<std::string> TemporalFusionTransformer::future_variables() const {
  std::vector<std::string> names;
  for (int64_t j = 0; j < known_len_; ++j) names.push_back(fmt::format("time{}", j));
  for (int64_t col : known_pos_) names.push_back(fmt::format("x{}", col));
  return names;
}

std::vector<std::string> TemporalFusionTransformer::history_variables() const {
  std::vector<std::string> names;
  for (int64_t col : observed_pos_) names.push_back(fmt::format("x{}", col));
  for (auto& n : future_variables()) names.push_back(n);
  return names;
}

Tensor TemporalFusionTransformer::average_selection_weights(const Tensor& weights) {
  ATTEND_CHECK(weights.defined() && weights.ndim() == 3,
               "[TemporalFusionTransformer] expected selection weights (B, T, n), got {}",
               weights.defined() ? weights.shape().str() : "none");
  NoGradGuard ng;
  return mean(weights, {0, 1});
}

ModelDescription TemporalFusionTransformer::describe() const {
  ModelDescription d;
  d.attention = {{"temporal_fusion_decoder.attention", nn::AttentionRole::DecoderSelf,
                  TokenAxis::ForecastSteps, TokenAxis::WindowSteps, /*per_variable=*/false,
                  /*heads_averaged=*/true}};
  return d;
}

std::vector<nn::CapturedAttention> TemporalFusionTransformer::attention_maps(
    const nn::AttentionCapture&) const {
  const Tensor& a = attention_weights_;  // (B, P, T)
  return {{"temporal_fusion_decoder.attention", nn::AttentionRole::DecoderSelf,
           reshape(a, {a.size(0), 1, a.size(1), a.size(2)})}};
}

std::vector<VariableSelection> TemporalFusionTransformer::variable_selection() const {
  return {{"static", static_variables(), static_weights_},
          {"history", history_variables(), history_weights_},
          {"future", future_variables(), future_weights_}};
}

Tensor TemporalFusionTransformer::forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc,
                                                     const Tensor& x_dec,
                                                     const Tensor& x_mark_dec) {
  const ModelConfig& c = config_;
  const int64_t S = c.seq_len, P = c.pred_len, T = S + P, d = c.d_model;
  ATTEND_CHECK(
      x_enc.defined() && x_enc.ndim() == 3 && x_enc.size(1) == S && x_enc.size(2) == c.enc_in,
      "[TemporalFusionTransformer] expected x_enc of shape (B, {}, {}), got {}", S, c.enc_in,
      x_enc.defined() ? x_enc.shape().str() : "none");
  const int64_t B = x_enc.size(0);
  ATTEND_CHECK(x_mark_enc.defined() && x_mark_enc.ndim() == 3 && x_mark_enc.size(0) == B &&
                   x_mark_enc.size(1) == S && x_mark_enc.size(2) >= known_len_,
               "[TemporalFusionTransformer] expected x_mark_enc of shape ({}, {}, {}), got {}", B,
               S, known_len_, x_mark_enc.defined() ? x_mark_enc.shape().str() : "none");
  ATTEND_CHECK(x_mark_dec.defined() && x_mark_dec.ndim() == 3 && x_mark_dec.size(0) == B &&
                   x_mark_dec.size(1) >= P && x_mark_dec.size(2) == x_mark_enc.size(2),
               "[TemporalFusionTransformer] expected x_mark_dec of shape ({}, >= {}, {}), got {}",
               B, P, x_mark_enc.size(2), x_mark_dec.defined() ? x_mark_dec.shape().str() : "none");
  if (!known_pos_.empty())
    ATTEND_CHECK(x_dec.defined() && x_dec.ndim() == 3 && x_dec.size(0) == B && x_dec.size(1) >= P &&
                     x_dec.size(2) == c.enc_in,
                 "[TemporalFusionTransformer] known columns need x_dec of shape ({}, >= {}, {}) "
                 "with their future values, got {}",
                 B, P, c.enc_in, x_dec.defined() ? x_dec.shape().str() : "none");
  const bool training = is_training();

  WindowNorm norm;
  Tensor x = normalize_window(x_enc, norm);  // (B, S, C)

  // Static inputs (B, n_static, d): each column's first step through its DataEmbedding(1, d).
  Tensor static_input;
  if (!static_pos_.empty()) {
    std::vector<Tensor> parts;
    for (size_t i = 0; i < static_pos_.size(); ++i) {
      Tensor col = slice(slice(x, 1, 0, 1), 2, static_pos_[i], static_pos_[i] + 1);  // (B, 1, 1)
      parts.push_back(squeeze(static_embedding_[i]->forward(col, Tensor()), 1));
    }
    static_input = stack(parts, 1);
  }

  // Observed inputs (B, S, n_obs, d): each column's TokenEmbedding (circular conv, 1 → d) as one
  // grouped conv, plus its positional table.
  Tensor observed_input;
  const int64_t n_obs = static_cast<int64_t>(observed_pos_.size());
  if (n_obs > 0) {
    Tensor xo = permute(take_columns(x, observed_pos_), {0, 2, 1});  // (B, n_obs, S)
    Conv1dOptions opt;
    opt.padding = 1;
    opt.groups = n_obs;
    opt.padding_mode = PaddingMode::Circular;
    Tensor emb = conv1d(xo, concat(observed_conv_weights_, 0), Tensor(), opt);  // (B, n_obs·d, S)
    emb = permute(reshape(emb, {B, n_obs, d, S}), {0, 3, 1, 2});                // (B, S, n_obs, d)
    std::vector<Tensor> pes;
    for (const Tensor& pe : observed_pe_) pes.push_back(slice(pe, 1, 0, S));  // (1, S, d)
    emb = add(emb, stack(pes, 2));
    observed_input = maybe_dropout(emb, c.dropout, training);
  }

  // Known inputs (B, T, n_known, d): time features of cat(x_mark_enc, x_mark_dec[:, −P:]), then
  // the known columns (history from x_enc, future from x_dec, scaled with the window statistics).
  Tensor x_mark =
      concat({x_mark_enc, slice(x_mark_dec, 1, x_mark_dec.size(1) - P, x_mark_dec.size(1))},
             1);  // (B, T, F)
  Tensor known_input;
  if (time_features_continuous_) {
    // Linear(1, d, no bias) per feature: x_f · w_f
    std::vector<Tensor> ws;
    for (const auto& l : known_time_linear_) ws.push_back(reshape(l->weight(), {d}));
    known_input = mul(unsqueeze(slice(x_mark, 2, 0, known_len_), 3), stack(ws, 0));
  } else {
    Tensor idx = x_mark.detach().copy_as(DType::I64);
    std::vector<Tensor> parts;
    for (size_t i = 0; i < known_calendar_.size(); ++i)
      parts.push_back(known_calendar_[i]->forward(select(idx, 2, static_cast<int64_t>(i))));
    known_input = stack(parts, 2);
  }
  if (!known_pos_.empty()) {
    Tensor idx = index_tensor(known_pos_, x.context());
    Tensor hist = index_select(x, 2, idx);  // (B, S, K)
    Tensor fut = index_select(slice(x_dec, 1, x_dec.size(1) - P, x_dec.size(1)), 2, idx);
    fut = div(sub(fut, index_select(norm.means, 2, idx)), index_select(norm.stdev, 2, idx));
    std::vector<Tensor> ws;
    for (const auto& l : known_value_linear_) ws.push_back(reshape(l->weight(), {d}));
    Tensor kv = mul(unsqueeze(concat({hist, fut}, 1), 3), stack(ws, 0));  // (B, T, K, d)
    known_input = concat({known_input, kv}, 2);
  }

  // Static contexts c_s (selection), c_c, c_h (LSTM state), c_e (enrichment): (B, d) or none.
  Tensor c_s, c_c, c_h, c_e;
  static_weights_ = Tensor();
  if (static_vsn_) {
    Tensor sw;
    Tensor static_features = static_vsn_->forward(static_input, Tensor(), &sw);  // (B, d)
    static_weights_ = unsqueeze(sw, 1);
    c_s = static_grns_[0]->forward(static_features);
    c_c = static_grns_[1]->forward(static_features);
    c_h = static_grns_[2]->forward(static_features);
    c_e = static_grns_[3]->forward(static_features);
  }

  // Variable selection.
  Tensor history_input = slice(known_input, 1, 0, S);
  if (observed_input.defined()) history_input = concat({observed_input, history_input}, 2);
  Tensor history = history_vsn_->forward(history_input, c_s, &history_weights_);  // (B, S, d)
  Tensor future =
      future_vsn_->forward(slice(known_input, 1, S, T), c_s, &future_weights_);  // (B, P, d)

  // Temporal fusion decoder. TSLib's LSTM state from the static encoder: (h0, c0) = (c_c, c_h).
  nn::LSTMOutput hr =
      history_encoder_->forward_all(history, c_c.defined() ? unsqueeze(c_c, 0) : Tensor(),
                                    c_h.defined() ? unsqueeze(c_h, 0) : Tensor());
  nn::LSTMOutput fr = future_encoder_->forward_all(future, hr.h_n, hr.c_n);
  Tensor temporal_input = concat({history, future}, 1);  // (B, T, d)
  Tensor temporal = gate_after_lstm_->forward(concat({hr.output, fr.output}, 1), temporal_input);
  Tensor enriched = enrichment_grn_->forward(temporal, c_e);            // (B, T, d)
  Tensor attn = attention_->forward(enriched, P, &attention_weights_);  // (B, P, d)
  attn = gate_after_attention_->forward(attn, slice(enriched, 1, S, T));
  Tensor out = position_wise_grn_->forward(attn);
  out = gate_final_->forward(out, slice(temporal, 1, S, T));
  out = out_projection_->forward(out);  // (B, P, c_out·Q)
  out = reshape(out, {B, P, c.c_out, n_quantiles()});

  // De-normalisation per variable (c_out = enc_in) or with the last variable's scale (c_out = 1,
  // TSLib's features MS: the target is the last column).
  Tensor stdev = norm.stdev, means = norm.means;  // (B, 1, C)
  if (c.c_out != c.enc_in) {
    stdev = slice(stdev, 2, c.enc_in - 1, c.enc_in);
    means = slice(means, 2, c.enc_in - 1, c.enc_in);
  }
  return add(mul(out, unsqueeze(stdev, 3)), unsqueeze(means, 3));
}

}  // namespace attend::models
