#pragma once
// TSLib's embeddings (layers/Embed.py) with its state_dict names.
#include <memory>

#include "attend/nn/conv1d.h"
#include "attend/nn/embedding.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"

namespace attend::models {

// Fixed sinusoidal table as a persistent buffer "pe" (1, max_len, d_model), computed in float32:
// pe[p, 2i] = sin(p · e^{−2i ln(10000)/d}), pe[p, 2i+1] = cos(...).
class PositionalEmbedding : public nn::Module {
 public:
  PositionalEmbedding(int64_t d_model, int64_t max_len, Context& ctx, DType dtype);
  // x: (B, L, ·) -> (1, L, d_model)
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PositionalEmbedding"; }

 private:
  Tensor pe_;
};

// Conv1d(c_in, d_model, 3, circular padding 1, no bias) over time: (B, L, c_in) -> (B, L, d_model).
class TokenEmbedding : public nn::Module {
 public:
  TokenEmbedding(int64_t c_in, int64_t d_model, Context& ctx, DType dtype);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "TokenEmbedding"; }

 private:
  std::shared_ptr<nn::Conv1d> token_conv_;
};

// FixedEmbedding: a frozen sinusoid table looked up by integer index.
class FixedEmbedding : public nn::Module {
 public:
  FixedEmbedding(int64_t c_in, int64_t d_model, Context& ctx, DType dtype);
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "FixedEmbedding"; }

 private:
  std::shared_ptr<nn::Embedding> emb_;
};

// Calendar embeddings for embed 'fixed' / 'learned': marks (B, L, 4 or 5) hold integer
// [month, day, weekday, hour, (minute/15)].
class TemporalEmbedding : public nn::Module {
 public:
  TemporalEmbedding(int64_t d_model, bool fixed, const std::string& freq, Context& ctx,
                    DType dtype);
  Tensor forward(const Tensor& marks) override;
  std::string type_name() const override { return "TemporalEmbedding"; }

 private:
  std::shared_ptr<nn::Module> minute_, hour_, weekday_, day_, month_;
};

// embed 'timeF': Linear(F, d_model, no bias) over the continuous time features.
class TimeFeatureEmbedding : public nn::Module {
 public:
  TimeFeatureEmbedding(int64_t d_model, const std::string& freq, Context& ctx, DType dtype);
  Tensor forward(const Tensor& marks) override;
  std::string type_name() const override { return "TimeFeatureEmbedding"; }

 private:
  std::shared_ptr<nn::Linear> embed_;
};

// value (token conv) + temporal + positional, then dropout.
class DataEmbedding : public nn::Module {
 public:
  DataEmbedding(int64_t c_in, int64_t d_model, const std::string& embed, const std::string& freq,
                double dropout, Context& ctx, DType dtype);
  // x (B, L, c_in), marks (B, L, F) or undefined -> (B, L, d_model)
  Tensor forward(const Tensor& x, const Tensor& marks);
  std::string type_name() const override { return "DataEmbedding"; }

 private:
  std::shared_ptr<TokenEmbedding> value_embedding_;
  std::shared_ptr<PositionalEmbedding> position_embedding_;
  std::shared_ptr<nn::Module> temporal_embedding_;
  double dropout_;
};

// iTransformer: each variable's whole window (and each time feature) is one token:
// cat(xᵀ, marksᵀ) (B, N + F, L) -> Linear(L, d_model) -> (B, N + F, d_model).
class DataEmbeddingInverted : public nn::Module {
 public:
  DataEmbeddingInverted(int64_t c_in, int64_t d_model, double dropout, Context& ctx, DType dtype);
  Tensor forward(const Tensor& x, const Tensor& marks);
  std::string type_name() const override { return "DataEmbedding_inverted"; }

 private:
  std::shared_ptr<nn::Linear> value_embedding_;
  double dropout_;
};

// PatchTST: replicate-pad `padding` steps on the right, patches of patch_len every stride,
// Linear(patch_len, d_model, no bias) + positions: (B, C, L) -> (B·C, n_patches, d_model).
class PatchEmbedding : public nn::Module {
 public:
  PatchEmbedding(int64_t d_model, int64_t patch_len, int64_t stride, int64_t padding,
                 double dropout, Context& ctx, DType dtype);
  Tensor forward(const Tensor& x) override;
  int64_t num_patches(int64_t seq_len) const {
    return (seq_len + padding_ - patch_len_) / stride_ + 1;
  }
  std::string type_name() const override { return "PatchEmbedding"; }

 private:
  int64_t patch_len_, stride_, padding_;
  std::shared_ptr<nn::Linear> value_embedding_;
  std::shared_ptr<PositionalEmbedding> position_embedding_;
  double dropout_;
};

}  // namespace attend::models
