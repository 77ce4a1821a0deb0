#pragma once
// Scaled dot-product attention: softmax(Q Kᵀ · scale + mask) V, differentiable.
//   q: (B, H, Lq, D), k: (B, H, Lk, D), v: (B, H, Lk, Dv) -> output (B, H, Lq, Dv)
// Self-attention passes q, k, v from one sequence; cross-attention takes k, v from another (Lq ≠
// Lk).
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
  bool causal = false;          // query i sees keys j ≤ i + causal_offset
  int64_t causal_offset = 0;    // >= 0 (0: top-left aligned); Lk − Lq: the queries are the last
                                // Lk − offset positions (a decoder computing only its last rows)
  Tensor mask;                  // broadcastable to (B, H, Lq, Lk); undefined = none
  MaskType mask_type = MaskType::Boolean;
  double dropout_p = 0.0;       // on the weights, drawn from q's context generator (pass 0 in eval)
  bool return_weights = false;  // also return the weights (B, H, Lq, Lk): takes the reference path
  AttentionPath path = AttentionPath::Auto;
  // Fused path only: which kernel (benchmarks pin one; Auto picks by shape).
  enum class FusedKernel { Auto, Tiles, Rows } fused_kernel = FusedKernel::Auto;
};

struct AttentionResult {
  Tensor output;   // (B, H, Lq, Dv); the fused path returns a view of a (B, Lq, H, Dv) buffer
  Tensor weights;  // (B, H, Lq, Lk) when return_weights, else undefined
};

// Rows whose keys are all masked give zeros (not NaN) on both paths.
AttentionResult scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const AttentionOptions& options = {});

}  // namespace attend

namespace attend {

// Informer's ProbSparse self-attention, exactly as TSLib's ProbAttention computes it:
//   U = min(factor·⌈ln Lk⌉, Lk) keys sampled per query (index_sample, shared over B and H);
//   M_q = max_j(q·k_j) − Σ_j(q·k_j)/Lk over the sampled keys (divided by Lk, not U);
//   the u = min(factor·⌈ln Lq⌉, Lq) queries with the largest M get softmax(scale·q Kᵀ) V (causal:
//   keys j ≤ the query's position); every other query gets mean(V) or, causal, cumsum(V).
// Selection is per (batch, head) — TSLib's `.squeeze()` mixes batch elements when n_heads is 1; we
// do not reproduce that (docs/architecture.md).
struct ProbSparseOptions {
  int64_t factor = 5;
  std::optional<double> scale;  // default 1/√D
  bool causal = false;          // TSLib's mask_flag (decoder self-attention); needs Lq == Lk
  Tensor index_sample;          // int64 (Lq, U) to inject; undefined = draw from q's generator
  bool return_weights = false;  // TSLib's output_attention: 1/Lk rows, selected rows real
};

struct ProbSparseResult {
  Tensor output;        // (B, H, Lq, Dv), contiguous (TSLib returns this layout)
  Tensor weights;       // (B, H, Lq, Lk) when return_weights
  Tensor selected;      // int64 (B, H, u): the queries that attended fully, ascending
  Tensor index_sample;  // int64 (Lq, U): the key sample used
};

ProbSparseResult prob_sparse_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                       const ProbSparseOptions& options = {});

}  // namespace attend
