#include "attend/nn/embedding.h"

#include "attend/nn/init.h"
#include "attend/ops/conv.h"

namespace attend::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Context& ctx, DType dtype)
    : num_(num_embeddings), dim_(embedding_dim) {
  ATTEND_CHECK(num_ > 0 && dim_ > 0,
               "[Embedding] num_embeddings and embedding_dim must be positive, got {} and {}", num_,
               dim_);
  weight_ = register_parameter("weight", Tensor::empty({num_, dim_}, dtype, ctx));
  init::normal_(weight_, 0.0, 1.0);
}

Tensor Embedding::forward(const Tensor& indices) {
  ATTEND_CHECK(indices.defined() && indices.dtype() == DType::I64,
               "[Embedding] expected int64 indices, got {}",
               indices.defined() ? std::string(dtype_name(indices.dtype())) : "undefined");
  return embedding(indices, weight_);
}

}  // namespace attend::nn
