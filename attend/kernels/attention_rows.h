#pragma once
// SIMD row operations of the fused attention kernel (Highway, dispatched at run time).
#include <cstdint>

namespace attend::kernels::detail {

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

// y ← a · y over n elements.
void scale_row(float* y, int64_t n, float a);

// Σ_i x_i · y_i.
float dot(const float* x, const float* y, int64_t n);

// y ← y + a · x over n elements.
void axpy(float a, const float* x, float* y, int64_t n);

// s_j = scale · Σ_d x_d · kt[d·ldk + j] for j < n: one query row against keys stored transposed
// (kt: (dim, ldk)), vectorised across keys — the short-sequence kernel's Q·Kᵀ row.
void scores_row(const float* x, const float* kt, int64_t ldk, int64_t dim, int64_t n, float scale,
                float* s);

}  // namespace attend::kernels::detail
