#pragma once
// TSLib's Transformer building blocks (layers/Transformer_EncDec.py), post-norm:
//   EncoderLayer: x = norm1(x + drop(attn(x))); y = drop(act(conv1(x))); out = norm2(x +
//   drop(conv2(y))) DecoderLayer: x = norm1(x + drop(self_attn(x))); x = norm2(x +
//   drop(cross_attn(x, enc)));
//                 y = drop(act(conv1(x))); out = norm3(x + drop(conv2(y)))
//   ConvLayer (Informer distilling): Conv1d(k 3, circular pad 2) → BatchNorm1d → ELU → MaxPool1d(3,
//   2, 1)
// conv1/conv2 are kernel-size-1 Conv1d parameters ([d_ff, d_model, 1]); they run as one GEMM over
// the (B·L, d_model) rows, without the transposes.
#include <memory>
#include <string>

#include "attend/nn/attention.h"
#include "attend/nn/batch_norm.h"
#include "attend/nn/conv1d.h"
#include "attend/nn/layer_norm.h"

namespace attend::nn {

enum class Activation { Relu, Gelu };
// "relu" or "gelu" (TSLib's --activation); anything else is an error.
Activation parse_activation(const std::string& name);
Tensor apply_activation(Activation a, const Tensor& x);

// Swaps two dims (TSLib's Transpose helper inside nn.Sequential norms).
class Transpose : public Module {
 public:
  Transpose(int dim0, int dim1) : dim0_(dim0), dim1_(dim1) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Transpose"; }

 private:
  int dim0_, dim1_;
};

// TSLib EncoderLayer's / DecoderLayer's keyword arguments; d_ff 0 (TSLib's None) is 4·d_model.
struct TransformerLayerOptions {
  int64_t d_ff = 0;
  double dropout = 0.1;
  Activation activation = Activation::Relu;
};

class EncoderLayer : public Module {
 public:
  EncoderLayer(std::shared_ptr<AttentionLayer> attention, int64_t d_model,
               const TransformerLayerOptions& options, Context& ctx = default_context(),
               DType dtype = DType::F32);
  EncoderLayer(std::shared_ptr<AttentionLayer> attention, int64_t d_model,
               Context& ctx = default_context(), DType dtype = DType::F32)
      : EncoderLayer(std::move(attention), d_model, TransformerLayerOptions{}, ctx, dtype) {}
  // x: (B, L, d_model) -> (B, L, d_model)
  Tensor forward(const Tensor& x, const Tensor& attn_mask);
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  std::string type_name() const override { return "EncoderLayer"; }

 private:
  std::shared_ptr<AttentionLayer> attention_;
  std::shared_ptr<Conv1d> conv1_, conv2_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  int64_t d_model_, d_ff_;
  double dropout_;
  Activation activation_;
};

class DecoderLayer : public Module {
 public:
  DecoderLayer(std::shared_ptr<AttentionLayer> self_attention,
               std::shared_ptr<AttentionLayer> cross_attention, int64_t d_model,
               const TransformerLayerOptions& options, Context& ctx = default_context(),
               DType dtype = DType::F32);
  DecoderLayer(std::shared_ptr<AttentionLayer> self_attention,
               std::shared_ptr<AttentionLayer> cross_attention, int64_t d_model,
               Context& ctx = default_context(), DType dtype = DType::F32)
      : DecoderLayer(std::move(self_attention), std::move(cross_attention), d_model,
                     TransformerLayerOptions{}, ctx, dtype) {}
  // x: (B, L, d_model), cross: (B, S, d_model) -> (B, L, d_model).
  // keep_last in (0, L): only the last keep_last rows are computed -> (B, keep_last, d_model); the
  // others are still the self-attention's keys and values. Every step after the self-attention is
  // row-wise, so these rows equal the last rows of the full output. Applies to full (not
  // ProbSparse) causal self-attention without x_mask and without capture; otherwise all L rows.
  Tensor forward(const Tensor& x, const Tensor& cross, const Tensor& x_mask = Tensor(),
                 const Tensor& cross_mask = Tensor(), int64_t keep_last = 0);
  std::string type_name() const override { return "DecoderLayer"; }

 private:
  std::shared_ptr<AttentionLayer> self_attention_, cross_attention_;
  std::shared_ptr<Conv1d> conv1_, conv2_;
  std::shared_ptr<LayerNorm> norm1_, norm2_, norm3_;
  int64_t d_model_, d_ff_;
  double dropout_;
  Activation activation_;
};

class ConvLayer : public Module {
 public:
  explicit ConvLayer(int64_t channels, Context& ctx = default_context(), DType dtype = DType::F32);
  // x: (B, L, C) -> (B, ⌊(L + 1) / 2⌋ + 1, C)
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvLayer"; }

 private:
  std::shared_ptr<Conv1d> down_conv_;
  std::shared_ptr<BatchNorm1d> norm_;
};

class Encoder : public Module {
 public:
  // conv_layers may be empty (no distilling); norm may be null.
  Encoder(std::vector<std::shared_ptr<EncoderLayer>> attn_layers,
          std::vector<std::shared_ptr<ConvLayer>> conv_layers, std::shared_ptr<Module> norm);
  Tensor forward(const Tensor& x, const Tensor& attn_mask);
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  std::string type_name() const override { return "Encoder"; }

 private:
  std::shared_ptr<ModuleList> attn_layers_, conv_layers_;
  std::shared_ptr<Module> norm_;
};

class Decoder : public Module {
 public:
  // norm and projection may be null.
  Decoder(std::vector<std::shared_ptr<DecoderLayer>> layers, std::shared_ptr<Module> norm,
          std::shared_ptr<Module> projection);
  // keep_last: passed to the last layer (the earlier layers' rows are all keys and values of the
  // next); the result may then have only the last keep_last rows.
  Tensor forward(const Tensor& x, const Tensor& cross, const Tensor& x_mask = Tensor(),
                 const Tensor& cross_mask = Tensor(), int64_t keep_last = 0);
  std::string type_name() const override { return "Decoder"; }

 private:
  std::shared_ptr<ModuleList> layers_;
  std::shared_ptr<Module> norm_, projection_;
};

}  // namespace attend::nn
