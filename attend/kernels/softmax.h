#pragma once
// Softmax and log-softmax kernels. Fast float32 rows (Highway) for the softmax over the innermost
// axis; the *_reference templates handle any (outer, n, inner) layout and are the plain twins.
#include <cstdint>

namespace attend::kernels {

// x, y: (rows, n). y = exp(x − max) / Σ exp(x − max); log: y = x − max − log Σ exp(x − max).
void softmax_forward(const float* x, float* y, int64_t rows, int64_t n, bool log, int threads);
// y, dy, dx: (rows, n). softmax: dx = y · (dy − Σ dy·y); log: dx = dy − exp(y) · Σ dy.
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t n, bool log,
                      int threads);

// Same over the middle axis of (outer, n, inner).
template <typename T>
void softmax_forward_reference(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log);
template <typename T>
void softmax_backward_reference(const T* y, const T* dy, T* dx, int64_t outer, int64_t n,
                                int64_t inner, bool log);

}  // namespace attend::kernels
