#include "attend/nn/transformer.h"

#include "attend/ops/conv.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/linalg.h"
#include "attend/ops/nn_functional.h"
#include "attend/ops/shape.h"

namespace attend::nn {

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::Relu;
  if (name == "gelu") return Activation::Gelu;
  fail("--activation must be 'relu' or 'gelu', got '{}'", name);
}

Tensor apply_activation(Activation a, const Tensor& x) {
  return a == Activation::Relu ? relu(x) : gelu(x);
}

Tensor Transpose::forward(const Tensor& x) {
  return transpose(x, dim0_, dim1_);
}

namespace {

// A kernel-size-1 Conv1d over the channel dim of (B, C, L), applied to (B, L, C) rows as one GEMM.
Tensor pointwise_conv(const Conv1d& conv, const Tensor& x) {
  const Tensor& w = conv.weight();  // (out, in, 1)
  return linear(x, reshape(w, {w.size(0), w.size(1)}), conv.bias());
}

Tensor maybe_dropout(const Tensor& x, double p, bool training) {
  return p > 0.0 && training ? dropout(x, p, true) : x;
}

}  // namespace

EncoderLayer::EncoderLayer(std::shared_ptr<AttentionLayer> attention, int64_t d_model,
                           const TransformerLayerOptions& options, Context& ctx, DType dtype)
    : d_model_(d_model),
      d_ff_(options.d_ff > 0 ? options.d_ff : 4 * d_model),
      dropout_(options.dropout),
      activation_(options.activation) {
  attention_ = register_module("attention", std::move(attention));
  conv1_ = register_module("conv1", std::make_shared<Conv1d>(d_model_, d_ff_, 1, ctx, dtype));
  conv2_ = register_module("conv2", std::make_shared<Conv1d>(d_ff_, d_model_, 1, ctx, dtype));
  norm1_ = register_module("norm1", std::make_shared<LayerNorm>(d_model_, ctx, dtype));
  norm2_ = register_module("norm2", std::make_shared<LayerNorm>(d_model_, ctx, dtype));
}

Tensor EncoderLayer::forward(const Tensor& x_in, const Tensor& attn_mask) {
  ATTEND_CHECK(x_in.ndim() == 3 && x_in.size(2) == d_model_,
               "[EncoderLayer] expected input (B, L, {}), got {}", d_model_, x_in.shape().str());
  const bool train = is_training();
  Tensor x =
      add(x_in, maybe_dropout(attention_->forward(x_in, x_in, x_in, attn_mask), dropout_, train));
  x = norm1_->forward(x);
  Tensor y =
      maybe_dropout(apply_activation(activation_, pointwise_conv(*conv1_, x)), dropout_, train);
  y = maybe_dropout(pointwise_conv(*conv2_, y), dropout_, train);
  return norm2_->forward(add(x, y));
}

DecoderLayer::DecoderLayer(std::shared_ptr<AttentionLayer> self_attention,
                           std::shared_ptr<AttentionLayer> cross_attention, int64_t d_model,
                           const TransformerLayerOptions& options, Context& ctx, DType dtype)
    : d_model_(d_model),
      d_ff_(options.d_ff > 0 ? options.d_ff : 4 * d_model),
      dropout_(options.dropout),
      activation_(options.activation) {
  self_attention_ = register_module("self_attention", std::move(self_attention));
  cross_attention_ = register_module("cross_attention", std::move(cross_attention));
  conv1_ = register_module("conv1", std::make_shared<Conv1d>(d_model_, d_ff_, 1, ctx, dtype));
  conv2_ = register_module("conv2", std::make_shared<Conv1d>(d_ff_, d_model_, 1, ctx, dtype));
  norm1_ = register_module("norm1", std::make_shared<LayerNorm>(d_model_, ctx, dtype));
  norm2_ = register_module("norm2", std::make_shared<LayerNorm>(d_model_, ctx, dtype));
  norm3_ = register_module("norm3", std::make_shared<LayerNorm>(d_model_, ctx, dtype));
}

Tensor DecoderLayer::forward(const Tensor& x_in, const Tensor& cross, const Tensor& x_mask,
                             const Tensor& cross_mask, int64_t keep_last) {
  ATTEND_CHECK(x_in.ndim() == 3 && x_in.size(2) == d_model_ && cross.ndim() == 3 &&
                   cross.size(2) == d_model_,
               "[DecoderLayer] expected x (B, L, {0}) and cross (B, S, {0}), got {1} and {2}",
               d_model_, x_in.shape().str(), cross.shape().str());
  const bool train = is_training();
  const int64_t L = x_in.size(1);
  const bool rows_only = keep_last > 0 && keep_last < L && !x_mask.defined() &&
                         self_attention_->inner().kind == InnerAttentionConfig::Kind::Full &&
                         self_attention_->inner().mask_flag && !self_attention_->capturing() &&
                         !cross_attention_->capturing();
  // queries: the rows kept (the causal mask then aligns them with the last keys)
  const Tensor xq = rows_only ? slice(x_in, 1, L - keep_last, L) : x_in;
  Tensor x =
      add(xq, maybe_dropout(self_attention_->forward(xq, x_in, x_in, x_mask), dropout_, train));
  x = norm1_->forward(x);
  x = add(x,
          maybe_dropout(cross_attention_->forward(x, cross, cross, cross_mask), dropout_, train));
  x = norm2_->forward(x);
  Tensor y =
      maybe_dropout(apply_activation(activation_, pointwise_conv(*conv1_, x)), dropout_, train);
  y = maybe_dropout(pointwise_conv(*conv2_, y), dropout_, train);
  return norm3_->forward(add(x, y));
}

ConvLayer::ConvLayer(int64_t channels, Context& ctx, DType dtype) {
  down_conv_ = register_module(
      "downConv",
      std::make_shared<Conv1d>(
          channels, channels, 3,
          Conv1dModuleOptions{.padding = 2, .padding_mode = PaddingMode::Circular}, ctx, dtype));
  norm_ = register_module("norm", std::make_shared<BatchNorm1d>(channels, ctx, dtype));
}

Tensor ConvLayer::forward(const Tensor& x) {
  Tensor y = down_conv_->forward(permute(x, {0, 2, 1}));  // (B, C, L + 2)
  y = elu(norm_->forward(y));
  y = max_pool1d(y, 3, 2, 1);
  return transpose(y, 1, 2);
}

Encoder::Encoder(std::vector<std::shared_ptr<EncoderLayer>> attn_layers,
                 std::vector<std::shared_ptr<ConvLayer>> conv_layers,
                 std::shared_ptr<Module> norm) {
  attn_layers_ = register_module("attn_layers", std::make_shared<ModuleList>());
  for (auto& l : attn_layers) attn_layers_->push_back(l);
  if (!conv_layers.empty()) {
    ATTEND_CHECK(conv_layers.size() + 1 == attn_layers.size(),
                 "[Encoder] {} conv layers for {} attention layers (need one fewer)",
                 conv_layers.size(), attn_layers.size());
    conv_layers_ = register_module("conv_layers", std::make_shared<ModuleList>());
    for (auto& c : conv_layers) conv_layers_->push_back(c);
  }
  if (norm) norm_ = register_module("norm", std::move(norm));
}

Tensor Encoder::forward(const Tensor& x_in, const Tensor& attn_mask) {
  Tensor x = x_in;
  const size_t n = attn_layers_->size();
  if (conv_layers_) {
    for (size_t i = 0; i + 1 < n; ++i) {
      x = attn_layers_->at<EncoderLayer>(i).forward(x, attn_mask);
      x = conv_layers_->at<ConvLayer>(i).forward(x);
    }
    x = attn_layers_->at<EncoderLayer>(n - 1).forward(x, Tensor());
  } else {
    for (size_t i = 0; i < n; ++i) x = attn_layers_->at<EncoderLayer>(i).forward(x, attn_mask);
  }
  return norm_ ? norm_->forward(x) : x;
}

Decoder::Decoder(std::vector<std::shared_ptr<DecoderLayer>> layers, std::shared_ptr<Module> norm,
                 std::shared_ptr<Module> projection) {
  layers_ = register_module("layers", std::make_shared<ModuleList>());
  for (auto& l : layers) layers_->push_back(l);
  if (norm) norm_ = register_module("norm", std::move(norm));
  if (projection) projection_ = register_module("projection", std::move(projection));
}

Tensor Decoder::forward(const Tensor& x_in, const Tensor& cross, const Tensor& x_mask,
                        const Tensor& cross_mask, int64_t keep_last) {
  Tensor x = x_in;
  for (size_t i = 0; i < layers_->size(); ++i)
    x = layers_->at<DecoderLayer>(i).forward(x, cross, x_mask, cross_mask,
                                             i + 1 == layers_->size() ? keep_last : 0);
  if (norm_) x = norm_->forward(x);
  if (projection_) x = projection_->forward(x);
  return x;
}

}  // namespace attend::nn
