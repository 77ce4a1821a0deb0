#include "attend/models/transformer_models.h"

#include "attend/models/common.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/nn_functional.h"
#include "attend/ops/shape.h"

namespace attend::models {

namespace {

using nn::AttentionLayer;
using nn::AttentionRole;
using nn::InnerAttentionConfig;

std::shared_ptr<AttentionLayer> make_attention(const ModelConfig& c, bool prob_sparse,
                                               bool mask_flag, AttentionRole role, Context& ctx,
                                               DType dtype) {
  InnerAttentionConfig inner;
  inner.kind =
      prob_sparse ? InnerAttentionConfig::Kind::ProbSparse : InnerAttentionConfig::Kind::Full;
  inner.mask_flag = mask_flag;
  inner.factor = c.factor;
  inner.attention_dropout = c.dropout;
  return std::make_shared<AttentionLayer>(inner, c.d_model, c.n_heads, role, ctx, dtype);
}

// e_layers encoder layers of full (or ProbSparse) self-attention.
std::vector<std::shared_ptr<nn::EncoderLayer>> encoder_layers(const ModelConfig& c,
                                                              bool prob_sparse, Context& ctx,
                                                              DType dtype) {
  ATTEND_CHECK(c.e_layers > 0, "--e_layers must be positive, got {}", c.e_layers);
  std::vector<std::shared_ptr<nn::EncoderLayer>> layers;
  nn::Activation act = nn::parse_activation(c.activation);
  for (int64_t i = 0; i < c.e_layers; ++i)
    layers.push_back(std::make_shared<nn::EncoderLayer>(
        make_attention(c, prob_sparse, false, AttentionRole::EncoderSelf, ctx, dtype), c.d_model,
        nn::TransformerLayerOptions{.d_ff = c.d_ff, .dropout = c.dropout, .activation = act}, ctx,
        dtype));
  return layers;
}

void check_common(const ModelConfig& c) {
  ATTEND_CHECK(c.seq_len > 0 && c.pred_len > 0, "--seq_len {} and --pred_len {} must be positive",
               c.seq_len, c.pred_len);
  ATTEND_CHECK(c.d_model > 0 && c.n_heads > 0 && c.d_model % c.n_heads == 0,
               "--d_model {} must be a positive multiple of --n_heads {}", c.d_model, c.n_heads);
  ATTEND_CHECK(c.enc_in > 0 && c.c_out > 0, "--enc_in {} and --c_out {} must be positive", c.enc_in,
               c.c_out);
}

void check_input(const Tensor& x, int64_t len, int64_t vars, const char* model, const char* what) {
  ATTEND_CHECK(x.defined() && x.ndim() == 3 && x.size(1) == len && x.size(2) == vars,
               "[{}] expected {} of shape (B, {}, {}), got {}", model, what, len, vars,
               x.defined() ? x.shape().str() : "none");
}

}  // namespace

// ---- Transformer / Informer
// ------------------------------------------------------------------------

Transformer::Transformer(const ModelConfig& c, Context& ctx, DType dtype)
    : Transformer(c, ctx, dtype, false) {}

Transformer::Transformer(const ModelConfig& c, Context& ctx, DType dtype, bool informer)
    : ForecastModel(c) {
  check_common(c);
  ATTEND_CHECK(c.d_layers > 0, "--d_layers must be positive, got {}", c.d_layers);
  ATTEND_CHECK(c.label_len >= 0, "--label_len must not be negative, got {}", c.label_len);
  enc_embedding_ = register_module(
      "enc_embedding",
      std::make_shared<DataEmbedding>(c.enc_in, c.d_model, c.embed, c.freq, c.dropout, ctx, dtype));
  std::vector<std::shared_ptr<nn::ConvLayer>> convs;
  if (informer && c.distil)
    for (int64_t i = 0; i + 1 < c.e_layers; ++i)
      convs.push_back(std::make_shared<nn::ConvLayer>(c.d_model, ctx, dtype));
  encoder_ = register_module(
      "encoder",
      std::make_shared<nn::Encoder>(encoder_layers(c, informer, ctx, dtype), convs,
                                    std::make_shared<nn::LayerNorm>(c.d_model, ctx, dtype)));
  dec_embedding_ = register_module(
      "dec_embedding",
      std::make_shared<DataEmbedding>(c.dec_in, c.d_model, c.embed, c.freq, c.dropout, ctx, dtype));
  std::vector<std::shared_ptr<nn::DecoderLayer>> layers;
  nn::Activation act = nn::parse_activation(c.activation);
  for (int64_t i = 0; i < c.d_layers; ++i)
    layers.push_back(std::make_shared<nn::DecoderLayer>(
        make_attention(c, informer, true, AttentionRole::DecoderSelf, ctx, dtype),
        make_attention(c, informer && c.cross_attention == "prob", false, AttentionRole::Cross, ctx,
                       dtype),
        c.d_model,
        nn::TransformerLayerOptions{.d_ff = c.d_ff, .dropout = c.dropout, .activation = act}, ctx,
        dtype));
  decoder_ = register_module(
      "decoder", std::make_shared<nn::Decoder>(
                     layers, std::make_shared<nn::LayerNorm>(c.d_model, ctx, dtype),
                     std::make_shared<nn::Linear>(c.d_model, c.c_out * n_quantiles(), ctx, dtype)));
}

Tensor Transformer::forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc,
                                       const Tensor& x_dec, const Tensor& x_mark_dec) {
  const ModelConfig& c = config_;
  const std::string name = type_name();
  check_input(x_enc, c.seq_len, c.enc_in, name.c_str(), "x_enc");
  check_input(x_dec, c.label_len + c.pred_len, c.dec_in, name.c_str(), "x_dec");
  Tensor enc_out = enc_embedding_->forward(x_enc, x_mark_enc);
  Tensor dec_out = dec_embedding_->forward(x_dec, x_mark_dec);
  enc_out = encoder_->forward(enc_out, Tensor());
  // Only the last pred_len decoder rows are read: the decoder computes just those (its first
  // label_len rows remain the self-attention's keys and values); ProbSparse decoders keep all.
  dec_out = decoder_->forward(dec_out, enc_out, Tensor(), Tensor(), c.pred_len);
  // (B, pred_len, c_out·Q) -> (B, pred_len, c_out, Q)
  dec_out = slice(dec_out, 1, -c.pred_len, dec_out.size(1));
  return reshape(dec_out, {dec_out.size(0), c.pred_len, c.c_out, n_quantiles()});
}

ModelDescription Transformer::describe() const {
  ModelDescription d;
  d.attention = {
      {"encoder.", AttentionRole::EncoderSelf, TokenAxis::InputSteps, TokenAxis::InputSteps,
       /*per_variable=*/false, /*heads_averaged=*/false},
      {"decoder.", AttentionRole::DecoderSelf, TokenAxis::DecoderSteps, TokenAxis::DecoderSteps,
       /*per_variable=*/false, /*heads_averaged=*/false},
      {"decoder.", AttentionRole::Cross, TokenAxis::DecoderSteps, TokenAxis::InputSteps,
       /*per_variable=*/false, /*heads_averaged=*/false}};
  return d;
}

// ---- iTransformer
// ------------------------------------------------------------------------------------

ITransformer::ITransformer(const ModelConfig& c, Context& ctx, DType dtype) : ForecastModel(c) {
  check_common(c);
  enc_embedding_ = register_module(
      "enc_embedding",
      std::make_shared<DataEmbeddingInverted>(c.seq_len, c.d_model, c.dropout, ctx, dtype));
  encoder_ = register_module(
      "encoder",
      std::make_shared<nn::Encoder>(encoder_layers(c, false, ctx, dtype),
                                    std::vector<std::shared_ptr<nn::ConvLayer>>{},
                                    std::make_shared<nn::LayerNorm>(c.d_model, ctx, dtype)));
  projection_ = register_module(
      "projection",
      std::make_shared<nn::Linear>(c.d_model, c.pred_len * n_quantiles(), ctx, dtype));
}

Tensor ITransformer::forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc,
                                        const Tensor&, const Tensor&) {
  const ModelConfig& c = config_;
  check_input(x_enc, c.seq_len, c.enc_in, "iTransformer", "x_enc");
  WindowNorm norm;
  Tensor x = normalize_window(x_enc, norm);
  const int64_t n_vars = x.size(2);
  Tensor enc_out = encoder_->forward(enc_embedding_->forward(x, x_mark_enc), Tensor());
  const int64_t Q = n_quantiles();
  if (Q == 1) {
    // (B, N + F, pred_len) -> (B, pred_len, N): the variable tokens only.
    Tensor dec_out = slice(permute(projection_->forward(enc_out), {0, 2, 1}), 2, 0, n_vars);
    return unsqueeze(denormalize_window(dec_out, norm), 3);
  }
  // (B, N + F, pred_len·Q) -> (B, N, pred_len, Q) -> (B, pred_len, N, Q)
  Tensor y = slice(projection_->forward(enc_out), 1, 0, n_vars);
  y = permute(reshape(y, {y.size(0), n_vars, c.pred_len, Q}), {0, 2, 1, 3});
  return denormalize_window(y, norm);
}

ModelDescription ITransformer::describe() const {
  ModelDescription d;
  d.attention = {{"encoder.", AttentionRole::EncoderSelf, TokenAxis::Variables,
                  TokenAxis::Variables, /*per_variable=*/false, /*heads_averaged=*/false}};
  return d;
}

// ---- PatchTST ---------------------------------------------------------------------------------

namespace {
// TSLib's FlattenHead; only its Linear has parameters ("head.linear.*").
struct FlattenHead : nn::Module {
  FlattenHead(int64_t nf, int64_t target_window, Context& ctx, DType dtype) {
    linear = register_module("linear", std::make_shared<nn::Linear>(nf, target_window, ctx, dtype));
  }
  std::string type_name() const override { return "FlattenHead"; }
  std::shared_ptr<nn::Linear> linear;
};
}  // namespace

PatchTST::PatchTST(const ModelConfig& c, Context& ctx, DType dtype) : ForecastModel(c) {
  check_common(c);
  // TSLib: Model(configs, patch_len=16, stride=8) with padding = stride.
  patch_embedding_ = register_module(
      "patch_embedding", std::make_shared<PatchEmbedding>(c.d_model, c.patch_len, c.stride,
                                                          c.stride, c.dropout, ctx, dtype));
  num_patches_ = patch_embedding_->num_patches(c.seq_len);
  auto norm = std::make_shared<nn::Sequential>();
  norm->push_back(std::make_shared<nn::Transpose>(1, 2));
  norm->push_back(std::make_shared<nn::BatchNorm1d>(c.d_model, ctx, dtype));
  norm->push_back(std::make_shared<nn::Transpose>(1, 2));
  encoder_ = register_module("encoder", std::make_shared<nn::Encoder>(
                                            encoder_layers(c, false, ctx, dtype),
                                            std::vector<std::shared_ptr<nn::ConvLayer>>{}, norm));
  // FlattenHead: head.linear (pred_len·Q, d_model · patch_num)
  auto head = std::make_shared<FlattenHead>(c.d_model * num_patches_, c.pred_len * n_quantiles(),
                                            ctx, dtype);
  head_linear_ = head->linear;
  head_ = register_module("head", head);
}

Tensor PatchTST::forecast_quantiles(const Tensor& x_enc, const Tensor&, const Tensor&,
                                    const Tensor&) {
  const ModelConfig& c = config_;
  check_input(x_enc, c.seq_len, c.enc_in, "PatchTST", "x_enc");
  WindowNorm norm;
  Tensor x = normalize_window(x_enc, norm);
  const int64_t B = x.size(0), C = x.size(2);
  Tensor enc_out = patch_embedding_->forward(permute(x, {0, 2, 1}));  // (B·C, n, d)
  enc_out = encoder_->forward(enc_out, Tensor());
  // (B, C, n, d) -> (B, C, d, n) -> flatten (B, C, d·n) -> (B, C, pred_len)
  Tensor z = permute(reshape(enc_out, {B, C, num_patches_, c.d_model}), {0, 1, 3, 2});
  Tensor y = head_linear_->forward(reshape(z, {B, C, c.d_model * num_patches_}));
  if (c.dropout > 0 && is_training()) y = dropout(y, c.dropout, true);
  const int64_t Q = n_quantiles();
  if (Q == 1) return unsqueeze(denormalize_window(permute(y, {0, 2, 1}), norm), 3);
  // (B, C, pred_len·Q) -> (B, C, pred_len, Q) -> (B, pred_len, C, Q)
  y = permute(reshape(y, {B, C, c.pred_len, Q}), {0, 2, 1, 3});
  return denormalize_window(y, norm);
}

ModelDescription PatchTST::describe() const {
  ModelDescription d;
  d.attention = {{"encoder.", AttentionRole::EncoderSelf, TokenAxis::Patches, TokenAxis::Patches,
                  /*per_variable=*/true, /*heads_averaged=*/false}};
  d.patch_len = config_.patch_len;
  d.patch_stride = config_.stride;
  return d;
}

}  // namespace attend::models
