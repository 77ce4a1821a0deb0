#pragma once
// Fused layer norm over the last axis (biased variance, eps inside the square root, as PyTorch).
// Fast float32 rows use Highway; the *_reference templates are the plain twins (and float64).
#include <cstdint>

namespace attend::kernels {

// x, y: (rows, d); weight, bias: (d) or null; mean, rstd: (rows).
// y = (x − mean) · rstd · weight + bias, rstd = 1 / sqrt(var + eps).
void layer_norm_forward(const float* x, const float* weight, const float* bias, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t d, float eps, int threads);
// One pass giving dx: (rows, d) and, when non-null, dweight, dbias: (d) (overwritten).
// x̂ = (x − mean)·rstd, ĝ = dy·weight: dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂));
// dweight = Σ_rows dy·x̂, dbias = Σ_rows dy.
void layer_norm_backward(const float* x, const float* weight, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dweight, float* dbias, int64_t rows,
                         int64_t d, int threads);

template <typename T>
void layer_norm_forward_reference(const T* x, const T* weight, const T* bias, T* y, T* mean,
                                  T* rstd, int64_t rows, int64_t d, T eps);
template <typename T>
void layer_norm_backward_reference(const T* x, const T* weight, const T* mean, const T* rstd,
                                   const T* dy, T* dx, T* dweight, T* dbias, int64_t rows,
                                   int64_t d);

}  // namespace attend::kernels
