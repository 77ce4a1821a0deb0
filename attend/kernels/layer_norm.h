#pragma once
// Fused layer norm over the last axis (biased variance, eps inside the square root, as PyTorch).
// Fast float32 rows use Highway; the *_reference templates are the plain twins (and the float64
// overloads run them). x, y, dy, dx: (rows, D) views with any row stride and unit column stride.
#include <cstdint>

#include "attend/kernels/view.h"

namespace attend::kernels {

// weight, bias: (D) or null; mean, rstd: (rows) outputs.
// y = (x − mean) · rstd · weight + bias, rstd = 1 / sqrt(var + eps).
void layer_norm_forward(View<const float, 2> x, const float* weight, const float* bias, float eps,
                        View<float, 2> y, float* mean, float* rstd, int threads);
void layer_norm_forward(View<const double, 2> x, const double* weight, const double* bias,
                        double eps, View<double, 2> y, double* mean, double* rstd, int threads);
// One pass giving dx (rows, D) and, when non-null, dweight, dbias: (D) (overwritten).
// x̂ = (x − mean)·rstd, ĝ = dy·weight: dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂));
// dweight = Σ_rows dy·x̂, dbias = Σ_rows dy.
void layer_norm_backward(View<const float, 2> x, const float* weight, const float* mean,
                         const float* rstd, View<const float, 2> dy, View<float, 2> dx,
                         float* dweight, float* dbias, int threads);
void layer_norm_backward(View<const double, 2> x, const double* weight, const double* mean,
                         const double* rstd, View<const double, 2> dy, View<double, 2> dx,
                         double* dweight, double* dbias, int threads);

template <typename T>
void layer_norm_forward_reference(View<const T, 2> x, const T* weight, const T* bias, T eps,
                                  View<T, 2> y, T* mean, T* rstd);
template <typename T>
void layer_norm_backward_reference(View<const T, 2> x, const T* weight, const T* mean,
                                   const T* rstd, View<const T, 2> dy, View<T, 2> dx, T* dweight,
                                   T* dbias);

}  // namespace attend::kernels
