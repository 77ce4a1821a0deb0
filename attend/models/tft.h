#pragma once
// Temporal Fusion Transformer (Lim et al. 2021) as TSLib's models/TemporalFusionTransformer.py:
// per-window normalisation; static / observed / known input embeddings; variable selection
// networks (GRN + softmax over variables); LSTM encoder (history) and decoder (future) with a gated
// skip; static enrichment GRN; interpretable multi-head self-attention (one V head shared by all
// heads, heads averaged, causal); position-wise GRN; gated skip; Linear to c_out (·Q quantiles).
// Beyond TSLib: covariate roles come from ModelConfig (static_columns, known_columns; TSLib ties
// them to dataset names), and `quantiles` adds quantile outputs.
#include <memory>
#include <string>
#include <vector>

#include "attend/models/embed.h"
#include "attend/models/model.h"
#include "attend/nn/layer_norm.h"
#include "attend/nn/linear.h"
#include "attend/nn/lstm.h"

namespace attend::models {

namespace tft {

// GLU: fc1(x) ⊙ sigmoid(fc2(x)) (one GEMM for both).
class GLU : public nn::Module {
 public:
  GLU(int64_t input_size, int64_t output_size, Context& ctx, DType dtype);
  Tensor forward(const Tensor& x) override;
  // fc1(x) ⊙ sigmoid(fc2(x)) + residual, fused (residual may be undefined)
  Tensor forward(const Tensor& x, const Tensor& residual);
  std::string type_name() const override { return "GLU"; }
  std::shared_ptr<nn::Linear> fc1, fc2;
};

// LayerNorm(projection(GLU(x) + skip)); projection only when input_size ≠ output_size.
class GateAddNorm : public nn::Module {
 public:
  GateAddNorm(int64_t input_size, int64_t output_size, Context& ctx, DType dtype);
  // x, skip: (..., input_size) -> (..., output_size)
  Tensor forward(const Tensor& x, const Tensor& skip);
  std::string type_name() const override { return "GateAddNorm"; }
  std::shared_ptr<GLU> glu;
  std::shared_ptr<nn::Linear> projection;  // null = identity
  std::shared_ptr<nn::LayerNorm> layer_norm;
};

// Gated residual network: gate(dropout(lin_i(elu(lin_a(a) + lin_c(c)))), project_a(a)).
class GRN : public nn::Module {
 public:
  // hidden_size 0 = input_size; context_size 0 = no context layer.
  GRN(int64_t input_size, int64_t output_size, int64_t hidden_size, int64_t context_size,
      double dropout, Context& ctx, DType dtype);
  // a: (B, T, input) or (B, input); c: (B, context) or undefined -> (..., output)
  Tensor forward(const Tensor& a, const Tensor& c);
  Tensor forward(const Tensor& a) override { return forward(a, Tensor()); }
  std::string type_name() const override { return "GRN"; }
  std::shared_ptr<nn::Linear> lin_a, lin_c, lin_i, project_a;  // lin_c, project_a may be null
  std::shared_ptr<GateAddNorm> gate;
  double dropout;
};

// Variable selection: w = softmax(joint_grn(flatten(x), c)) over the n variables; each variable
// through its own GRN(d, d) (all n evaluated as one batched product); result Σ_i w_i · grn_i(x_i).
class VariableSelectionNetwork : public nn::Module {
 public:
  VariableSelectionNetwork(int64_t d_model, int64_t variable_num, double dropout, Context& ctx,
                           DType dtype);
  // x: (B, T, n, d) or (B, n, d); c: (B, d) or undefined -> (B, T, d) or (B, d); the
  // selection weights (B, T, n) or (B, n) go to `weights` when non-null.
  Tensor forward(const Tensor& x, const Tensor& c, Tensor* weights);
  std::string type_name() const override { return "VariableSelectionNetwork"; }

 private:
  int64_t d_, n_;
  std::shared_ptr<GRN> joint_grn_;
  std::vector<std::shared_ptr<GRN>> variable_grns_;
};

// TSLib's InterpretableMultiHeadAttention: qkv_linears (d → (2H + 1)·d_head, no bias), causal
// softmax(q_h k_hᵀ/√d_head + mask) per head, heads averaged, times the shared V, out_projection
// (d_head → d, no bias). Only the last `n_queries` query positions are evaluated (TFT uses no
// more).
class InterpretableMultiHeadAttention : public nn::Module {
 public:
  InterpretableMultiHeadAttention(int64_t d_model, int64_t n_heads, int64_t example_len,
                                  double dropout, Context& ctx, DType dtype);
  // x: (B, T, d) -> (B, n_queries, d); the head-averaged weights (B, n_queries, T) go to
  // `weights` when non-null.
  Tensor forward(const Tensor& x, int64_t n_queries, Tensor* weights);
  std::string type_name() const override { return "InterpretableMultiHeadAttention"; }

 private:
  int64_t n_heads_, d_head_;
  double dropout_;
  Tensor mask_;  // (T, T): 0 on and below the diagonal, −inf above
  std::shared_ptr<nn::Linear> qkv_linears_, out_projection_;
};

}  // namespace tft

class TemporalFusionTransformer : public ForecastModel {
 public:
  TemporalFusionTransformer(const ModelConfig& c, Context& ctx, DType dtype);
  // x_enc (B, seq_len, enc_in), x_mark_enc (B, seq_len, F), x_dec (B, ·, enc_in) (read only for
  // known_columns: its last pred_len steps hold their future values), x_mark_dec (B, ≥pred_len, F)
  // -> (B, pred_len, c_out, Q) (Q = 1 without quantiles).
  Tensor forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                            const Tensor& x_mark_dec) override;
  bool uses_decoder_input() const override { return !config_.known_columns.empty(); }
  bool uses_time_marks() const override { return true; }
  std::string type_name() const override { return "TemporalFusionTransformer"; }

  // Variable roles: x_enc column indices.
  const std::vector<int64_t>& static_columns() const { return static_pos_; }
  const std::vector<int64_t>& observed_columns() const { return observed_pos_; }
  const std::vector<int64_t>& known_columns() const { return known_pos_; }
  int64_t time_feature_count() const { return known_len_; }
  // Names of the selection variables in weight order: history = observed "x<i>", then time
  // features "time<j>", then known columns "x<i>"; future = time features, then known columns.
  std::vector<std::string> history_variables() const;
  std::vector<std::string> future_variables() const;
  std::vector<std::string> static_variables() const;

  // Explain, from the last forward (detached): selection weights (B, T, n_vars), each summing to
  // one over variables — static (B, 1, n_static) (undefined without static columns), history
  // (B, seq_len, n_history), future (B, pred_len, n_future); attention weights averaged over heads
  // (B, pred_len, seq_len + pred_len) for the forecast steps' queries.
  const Tensor& static_selection_weights() const { return static_weights_; }
  const Tensor& history_selection_weights() const { return history_weights_; }
  const Tensor& future_selection_weights() const { return future_weights_; }
  const Tensor& attention_weights() const { return attention_weights_; }
  // Selection weights averaged over batch and time: (n_vars).
  static Tensor average_selection_weights(const Tensor& weights);
  const std::vector<double>& quantiles() const { return config_.quantiles; }

  // One attention layer, heads averaged: forecast-step queries, keys over history then future.
  ModelDescription describe() const override;
  // attention_weights() as (B, 1, pred_len, seq_len + pred_len) ("temporal_fusion_decoder.
  // attention", decoder self-attention); `capture` is not used.
  std::vector<nn::CapturedAttention> attention_maps(
      const nn::AttentionCapture& capture) const override;
  // The static, history and future selection weights with static_/history_/future_variables().
  std::vector<VariableSelection> variable_selection() const override;

 private:
  std::vector<int64_t> static_pos_, observed_pos_, known_pos_;
  int64_t known_len_ = 0;
  bool time_features_continuous_ = true;  // embed timeF

  // embedding.*
  std::vector<std::shared_ptr<DataEmbedding>> static_embedding_, observed_embedding_;
  std::vector<Tensor> observed_conv_weights_, observed_pe_;
  std::vector<std::shared_ptr<nn::Linear>> known_time_linear_;  // timeF: Linear(1, d) each
  std::vector<std::shared_ptr<nn::Module>>
      known_calendar_;  // else month, day, weekday, hour, (minute)
  std::vector<std::shared_ptr<nn::Linear>> known_value_linear_;  // known columns: Linear(1, d)
  // static_encoder.*
  std::shared_ptr<tft::VariableSelectionNetwork> static_vsn_;
  std::vector<std::shared_ptr<tft::GRN>> static_grns_;
  std::shared_ptr<tft::VariableSelectionNetwork> history_vsn_, future_vsn_;
  // temporal_fusion_decoder.*
  std::shared_ptr<nn::LSTM> history_encoder_, future_encoder_;
  std::shared_ptr<tft::GateAddNorm> gate_after_lstm_, gate_after_attention_, gate_final_;
  std::shared_ptr<tft::GRN> enrichment_grn_, position_wise_grn_;
  std::shared_ptr<tft::InterpretableMultiHeadAttention> attention_;
  std::shared_ptr<nn::Linear> out_projection_;

  Tensor static_weights_, history_weights_, future_weights_, attention_weights_;
};

}  // namespace attend::models
