#pragma once
// 1-d max and average pooling over rows: x (R, L_in) -> y (R, L_out), R = N·C, contiguous,
// L_out = (L_in + 2·padding − K) / stride + 1. Plain loops (each is its own reference).
#include <cstdint>

namespace attend::kernels {

// y[r][t] = max over the window [t·s − p, t·s − p + K) ∩ [0, L_in) (padding acts as −inf; NaN
// propagates); argmax[r][t] = position in [0, L_in) of the chosen element.
template <typename T>
void max_pool1d_forward(const T* x, int64_t rows, int64_t l_in, int64_t k, int64_t stride,
                        int64_t padding, int64_t l_out, T* y, int64_t* argmax, int threads);
// dx (R, L_in) = 0, then dx[r][argmax[r][t]] += dy[r][t].
template <typename T>
void max_pool1d_backward(const T* dy, const int64_t* argmax, int64_t rows, int64_t l_in,
                         int64_t l_out, T* dx);
// y[r][t] = (1/K) · Σ over the window (zeros outside [0, L_in) counted: count_include_pad).
template <typename T>
void avg_pool1d_forward(const T* x, int64_t rows, int64_t l_in, int64_t k, int64_t stride,
                        int64_t padding, int64_t l_out, T* y, int threads);
// dx (R, L_in) = adjoint of avg_pool1d_forward applied to dy.
template <typename T>
void avg_pool1d_backward(const T* dy, int64_t rows, int64_t l_in, int64_t k, int64_t stride,
                         int64_t padding, int64_t l_out, T* dx);

}  // namespace attend::kernels
