#pragma once
// torch.nn.Embedding: a lookup table of rows.
#include "attend/nn/module.h"

namespace attend::nn {

class Embedding : public Module {
 public:
  // weight (num_embeddings, embedding_dim) ~ N(0, 1).
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Context& ctx = default_context(),
            DType dtype = DType::F32);
  // indices: int64 of any shape -> (*indices.shape, dim)
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }
  const Tensor& weight() const { return weight_; }

 private:
  int64_t num_, dim_;
  Tensor weight_;
};

}  // namespace attend::nn
