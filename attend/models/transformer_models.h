#pragma once
// TSLib's attention models: Transformer, Informer, iTransformer, PatchTST (long-term forecasting).
#include <memory>

#include "attend/models/embed.h"
#include "attend/models/model.h"
#include "attend/nn/transformer.h"

namespace attend::models {

// Encoder–decoder Transformer (Vaswani et al.) as TSLib: DataEmbedding on both sides, full
// self-attention in the encoder, causal self-attention then cross-attention in the decoder.
class Transformer : public ForecastModel {
 public:
  Transformer(const ModelConfig& c, Context& ctx, DType dtype);
  Tensor forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                            const Tensor& x_mark_dec) override;
  bool uses_decoder_input() const override { return true; }
  bool uses_time_marks() const override { return true; }
  // Encoder self-attention over input steps, decoder self-attention over decoder steps,
  // cross-attention from decoder steps to input steps.
  ModelDescription describe() const override;
  std::string type_name() const override { return "Transformer"; }

 protected:
  Transformer(const ModelConfig& c, Context& ctx, DType dtype, bool informer);

 private:
  std::shared_ptr<DataEmbedding> enc_embedding_, dec_embedding_;
  std::shared_ptr<nn::Encoder> encoder_;
  std::shared_ptr<nn::Decoder> decoder_;
};

// Informer (Zhou et al.): ProbSparse attention everywhere (decoder self-attention causal), the
// distilling ConvLayer between encoder layers when distil.
class Informer : public Transformer {
 public:
  Informer(const ModelConfig& c, Context& ctx, DType dtype) : Transformer(c, ctx, dtype, true) {}
  std::string type_name() const override { return "Informer"; }
};

// iTransformer (Liu et al.): variables as tokens — attention across variables.
class ITransformer : public ForecastModel {
 public:
  ITransformer(const ModelConfig& c, Context& ctx, DType dtype);
  Tensor forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                            const Tensor& x_mark_dec) override;
  bool uses_time_marks() const override { return true; }
  // Encoder self-attention among variable tokens.
  ModelDescription describe() const override;
  std::string type_name() const override { return "iTransformer"; }

 private:
  std::shared_ptr<DataEmbeddingInverted> enc_embedding_;
  std::shared_ptr<nn::Encoder> encoder_;
  std::shared_ptr<nn::Linear> projection_;
};

// PatchTST (Nie et al.): channel-independent patches as tokens, BatchNorm encoder norm, flatten
// head.
class PatchTST : public ForecastModel {
 public:
  PatchTST(const ModelConfig& c, Context& ctx, DType dtype);
  Tensor forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                            const Tensor& x_mark_dec) override;
  // Encoder self-attention among each variable's patches.
  ModelDescription describe() const override;
  std::string type_name() const override { return "PatchTST"; }
  int64_t num_patches() const { return num_patches_; }

 private:
  std::shared_ptr<PatchEmbedding> patch_embedding_;
  std::shared_ptr<nn::Encoder> encoder_;
  std::shared_ptr<nn::Module> head_;
  std::shared_ptr<nn::Linear> head_linear_;
  int64_t num_patches_;
};

}  // namespace attend::models
