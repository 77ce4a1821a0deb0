#pragma once
// Fused scaled dot-product attention on the CPU (flash-attention style), forward and backward:
//   S = scale · Q Kᵀ + mask,  P = softmax_rows(S),  O = dropout(P) V
// Tiles of queries × keys with an online softmax; the forward saves only the per-row log-sum-exp
// (B, H, Lq), and the backward recomputes P from it. The Lq × Lk matrix is never stored whole.
//
// Layout: every tensor is addressed by element strides over (b, h, l) with the last (feature)
// dimension contiguous, so (B, L, H, D) projections are read in place, without a permute copy.
//   q: (B, H, Lq, D), k: (B, H, Lk, D), v: (B, H, Lk, Dv), o: (B, H, Lq, Dv), lse: (B, H, Lq) dense
#include <cstdint>

namespace attend::kernels {

struct AttentionDims {
  int64_t batch = 0, heads = 0, len_q = 0, len_k = 0, dim = 0, dim_v = 0;
};

// Strides (in elements) of dims b, h and l; the feature dim has stride 1.
struct AttentionStrides {
  int64_t b = 0, h = 0, l = 0;
};

// An additive float mask broadcast to (B, H, Lq, Lk) by strides (0 on broadcast dims);
// -inf marks a masked position. data == nullptr: no mask.
struct AttentionMask {
  const float* data = nullptr;
  int64_t stride_b = 0, stride_h = 0, stride_q = 0, stride_k = 0;
};

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
// masked row, whose output is zero); lse may be null when no backward follows.
void attention_forward(const AttentionDims& d, const float* q, AttentionStrides qs, const float* k,
                       AttentionStrides ks, const float* v, AttentionStrides vs,
                       const AttentionMask& mask, const AttentionParams& p, float* o,
                       AttentionStrides os, float* lse, int threads);

// Backward. dout has the layout `dos`; dq, dk, dv are written (not accumulated) with their own
// strides. o and lse are the forward's outputs.
void attention_backward(const AttentionDims& d, const float* q, AttentionStrides qs, const float* k,
                        AttentionStrides ks, const float* v, AttentionStrides vs,
                        const AttentionMask& mask, const AttentionParams& p, const float* o,
                        AttentionStrides os, const float* lse, const float* dout,
                        AttentionStrides dos, float* dq, AttentionStrides dqs, float* dk,
                        AttentionStrides dks, float* dv, AttentionStrides dvs, int threads);

// Reference twin: materialises P (B, H, Lq, Lk) row by row with plain loops, float or double.
// Same conventions (mask, causal, dropout stream, zero output for fully masked rows).
template <typename T>
void attention_forward_reference(const AttentionDims& d, const T* q, AttentionStrides qs,
                                 const T* k, AttentionStrides ks, const T* v, AttentionStrides vs,
                                 const AttentionMask& mask, const AttentionParams& p, T* o,
                                 AttentionStrides os, T* lse);
template <typename T>
void attention_backward_reference(const AttentionDims& d, const T* q, AttentionStrides qs,
                                  const T* k, AttentionStrides ks, const T* v, AttentionStrides vs,
                                  const AttentionMask& mask, const AttentionParams& p,
                                  const T* dout, AttentionStrides dos, T* dq, AttentionStrides dqs,
                                  T* dk, AttentionStrides dks, T* dv, AttentionStrides dvs);

// Whether attention weight (b, h, i, j) survives dropout (the stream both paths share).
bool attention_dropout_keep(const AttentionParams& p, const AttentionDims& d, int64_t b, int64_t h,
                            int64_t i, int64_t j);

}  // namespace attend::kernels
