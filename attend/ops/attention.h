#pragma once
// Scaled dot-product attention: softmax(Q Kᵀ · scale + mask) V, differentiable.
//   q: (B, H, Lq, D), k: (B, H, Lk, D), v: (B, H, Lk, Dv) -> output (B, H, Lq, Dv)
// Self-attention passes q, k, v from one sequence; cross-attention takes k, v from another (Lq ≠ Lk).
#include <optional>

#include "attend/tensor/tensor.h"

namespace attend {

enum class MaskType {
  Boolean,   // non-zero = may attend (PyTorch's bool attn_mask)
  Additive,  // added to the scores; −inf masks
};

enum class AttentionPath {
  Auto,       // fused, unless weights are requested
  Fused,      // one fused kernel forward and backward; never stores the Lq × Lk matrix
  Reference,  // matmul → scale → mask → softmax → matmul, built from ops (materialises weights)
};

struct AttentionOptions {
  std::optional<double> scale;  // default 1/√D
  bool causal = false;          // query i sees keys j ≤ i (top-left aligned when Lq ≠ Lk)
  Tensor mask;                  // broadcastable to (B, H, Lq, Lk); undefined = none
  MaskType mask_type = MaskType::Boolean;
  double dropout_p = 0.0;       // on the weights, drawn from q's context generator (pass 0 in eval)
  bool return_weights = false;  // also return the weights (B, H, Lq, Lk): takes the reference path
  AttentionPath path = AttentionPath::Auto;
};

struct AttentionResult {
  Tensor output;   // (B, H, Lq, Dv); the fused path returns a view of a (B, Lq, H, Dv) buffer
  Tensor weights;  // (B, H, Lq, Lk) when return_weights, else undefined
};

// Rows whose keys are all masked give zeros (not NaN) on both paths.
AttentionResult scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const AttentionOptions& options = {});

}  // namespace attend
