#pragma once
// Fused scaled dot-product attention on the CPU (flash-attention style), forward and backward:
//   S = scale · Q Kᵀ + mask,  P = softmax_rows(S),  O = dropout(P) V
// Tiles of queries × keys with an online softmax; the forward saves only the per-row log-sum-exp
// (B, H, Lq), and the backward recomputes P from it. The Lq × Lk matrix is never stored whole.
//
// Layout: q (B, H, Lq, D), k (B, H, Lk, D), v (B, H, Lk, Dv), o (B, H, Lq, Dv) are views with any
// strides over (b, h, l) and unit stride over the features, so (B, L, H, D) projections are read in
// place, without a permute copy; lse (B, H, Lq) is dense.
#include <cstdint>

#include "attend/kernels/view.h"

namespace attend::kernels {

struct AttentionDims {
  int64_t batch = 0, heads = 0, len_q = 0, len_k = 0, dim = 0, dim_v = 0;
};

// The dims of q (B, H, Lq, D), k (B, H, Lk, D) and v (B, H, Lk, Dv).
template <typename T>
AttentionDims attention_dims(const View<T, 4>& q, const View<T, 4>& k, const View<T, 4>& v) {
  return {q.shape[0], q.shape[1], q.shape[2], k.shape[2], q.shape[3], v.shape[3]};
}

// An additive float mask broadcast to (B, H, Lq, Lk) by its strides (0 on broadcast dims);
// -inf marks a masked position. data == nullptr: no mask.
using AttentionMask = View<const float, 4>;

struct AttentionParams {
  float scale = 1.0f;
  bool causal = false;        // key j is masked for query i when j > i + causal_offset
  int64_t causal_offset = 0;  // >= 0; Lk − Lq aligns the queries with the last keys
  float dropout_p = 0.0f;     // probability of zeroing an attention weight
  uint64_t seed = 0;  // dropout: keep(b,h,i,j) = uniform(seed, offset + ((b·H+h)·Lq+i)·Lk+j) >= p
  uint64_t offset = 0;
  // Which fused kernel: Auto picks Rows for short sequences (where per-tile GEMM calls cost more
  // than they compute) and Tiles otherwise. Both give the same results; tests pin each.
  enum class Kernel { Auto, Tiles, Rows } kernel = Kernel::Auto;
};

// Forward. o receives the output, lse the log-sum-exp of each score row (−inf for a fully
// masked row, whose output is zero); lse may be null when no backward follows. The float64
// overload runs the reference twin.
void attention_forward(View<const float, 4> q, View<const float, 4> k, View<const float, 4> v,
                       const AttentionMask& mask, const AttentionParams& p, View<float, 4> o,
                       float* lse, int threads);
void attention_forward(View<const double, 4> q, View<const double, 4> k, View<const double, 4> v,
                       const AttentionMask& mask, const AttentionParams& p, View<double, 4> o,
                       double* lse, int threads);

// Backward. o and lse are the forward's outputs; dq, dk, dv are written (not accumulated). The
// float64 overload runs the reference twin (which reads neither o nor lse).
void attention_backward(View<const float, 4> q, View<const float, 4> k, View<const float, 4> v,
                        const AttentionMask& mask, const AttentionParams& p, View<const float, 4> o,
                        const float* lse, View<const float, 4> dout, View<float, 4> dq,
                        View<float, 4> dk, View<float, 4> dv, int threads);
void attention_backward(View<const double, 4> q, View<const double, 4> k, View<const double, 4> v,
                        const AttentionMask& mask, const AttentionParams& p,
                        View<const double, 4> o, const double* lse, View<const double, 4> dout,
                        View<double, 4> dq, View<double, 4> dk, View<double, 4> dv, int threads);

// Reference twin: materialises P (B, H, Lq, Lk) row by row with plain loops, float or double.
// Same conventions (mask, causal, dropout stream, zero output for fully masked rows).
template <typename T>
void attention_forward_reference(View<const T, 4> q, View<const T, 4> k, View<const T, 4> v,
                                 const AttentionMask& mask, const AttentionParams& p, View<T, 4> o,
                                 T* lse);
template <typename T>
void attention_backward_reference(View<const T, 4> q, View<const T, 4> k, View<const T, 4> v,
                                  const AttentionMask& mask, const AttentionParams& p,
                                  View<const T, 4> dout, View<T, 4> dq, View<T, 4> dk,
                                  View<T, 4> dv);

// Whether attention weight (b, h, i, j) survives dropout (the stream both paths share).
bool attention_dropout_keep(const AttentionParams& p, const AttentionDims& d, int64_t b, int64_t h,
                            int64_t i, int64_t j);

}  // namespace attend::kernels
