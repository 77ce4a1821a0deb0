#pragma once
// SIMD row operations of the fused attention kernel (Highway, dispatched at run time).
#include <cstdint>

namespace attend::kernels::detail {

// The *_rows functions below read every row in whole vectors, up to cols rounded up to a multiple
// of 16 floats (the widest vector); the row stride and the buffer must extend that far (lanes past
// cols are read but never written). The attention kernel's tiles have lds = kRowPad-rounded cols.
constexpr int64_t kRowPad = 16;
constexpr int64_t padded_cols(int64_t cols) {
  return (cols + kRowPad - 1) / kRowPad * kRowPad;
}

// Online-softmax update of a block of score rows s (rows × cols, row stride lds), in place:
//   m' = max(m, max_j s_ij);  s_ij ← exp(s_ij − m');  alpha_i = exp(m_i − m');
//   l_i ← alpha_i · l_i + Σ_j s_ij;  m_i ← m'.
// A row that is still entirely −inf stays at m = −inf, l = 0, alpha = 1, s = 0.
void online_softmax_rows(float* s, int64_t rows, int64_t cols, int64_t lds, float* m, float* l,
                         float* alpha);

// s_ij ← exp(s_ij − lse_i) (0 where lse_i = −inf): the probabilities recomputed in the backward.
void exp_minus_rows(float* s, int64_t rows, int64_t cols, int64_t lds, const float* lse);

// dp_ij ← p_ij · (dp_ij − di_i): the score gradient dS from dP (in place).
void softmax_grad_rows(float* dp, const float* p, int64_t rows, int64_t cols, int64_t ld,
                       const float* di);

// y_i ← a_i · y_i for rows i < rows of n elements (row stride ld); rows with a_i = 1 untouched.
void scale_rows(float* y, int64_t rows, int64_t n, int64_t ld, const float* a);

// Σ_i x_i · y_i.
float dot(const float* x, const float* y, int64_t n);

// Informer's sparsity measure for one head: for each query i, over its sampled keys
// idx[i·n_sample + j], m_i = max_j(q_i·k_idx) − Σ_j(q_i·k_idx) / len_k.
void sparsity_measure(const float* q, int64_t q_ld, const float* k, int64_t k_ld,
                      const int64_t* idx, int64_t len_q, int64_t n_sample, int64_t dim,
                      int64_t len_k, float* m);

// One (b, h) head of the row-wise kernel (short sequences). K and V are transposed into
// (dim, ldk) scratch so every per-row step is a vector across keys: scores, softmax, P·V (as dots
// over keys for small Dv), and in the backward the rank-1 updates of dKᵀ and dVᵀ.
struct RowsHead {
  const float* q;
  int64_t q_ld;  // (lq, dim)
  const float* k;
  int64_t k_ld;  // (lk, dim)
  const float* v;
  int64_t v_ld;  // (lk, dim_v)
  const float* o;
  int64_t o_ld;  // forward output (read by the backward)
  float* out;
  int64_t out_ld;               // forward: O rows
  float* lse;                   // (lq); forward: may be null (not needed)
  const float* mask = nullptr;  // additive, already offset to this (b, h)
  int64_t mask_q = 0, mask_k = 0;
  const float* dropout = nullptr;  // (lq, lk) multipliers keep/(1 − p) or 0; null = none
  int64_t lq = 0, lk = 0, dim = 0, dim_v = 0;
  float scale = 1.0f;
  bool causal = false;
  int64_t causal_offset = 0;  // key j is masked for query i when j > i + causal_offset
  // backward
  const float* dout = nullptr;
  int64_t dout_ld = 0;
  float* dq = nullptr;
  int64_t dq_ld = 0;
  float* dk = nullptr;
  int64_t dk_ld = 0;
  float* dv = nullptr;
  int64_t dv_ld = 0;
};

// Scratch floats a head needs: forward and backward.
int64_t rows_head_scratch(int64_t lk, int64_t dim, int64_t dim_v);
void rows_head_forward(const RowsHead& h, float* scratch);
void rows_head_backward(const RowsHead& h, float* scratch);

}  // namespace attend::kernels::detail
