#pragma once
// The Adam / AdamW update of one parameter tensor, elementwise (PyTorch's single-tensor path):
//   AdamW: p *= decay (decay = 1 − lr·wd);  Adam: g += wd·p
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  v̂ = amsgrad ? (vmax = max(vmax, v)) : v
//   p += neg_step · m / (sqrt(v̂) / bc2_sqrt + eps),  neg_step = −lr / (1 − β1ᵗ),
//   bc2_sqrt = sqrt(1 − β2ᵗ).
// The scalars are computed in double by the optimizer and applied in the parameter's type. The
// float32 kernel uses Highway; adam_update_reference is the plain twin (and the float64 path).
#include <cstdint>

namespace attend::kernels {

template <typename T>
struct AdamCoefficients {
  T beta1, beta2, one_minus_beta1, one_minus_beta2, eps, bc2_sqrt, neg_step;
  T weight_decay = T(0);
  T decay = T(1);          // AdamW's p multiplier
  bool decoupled = false;  // AdamW: decay p; Adam: add wd·p to the gradient
};

// p, m, v (and vmax when not null: amsgrad) of n elements are updated in place from g.
void adam_update(const AdamCoefficients<float>& c, float* p, const float* g, float* m, float* v,
                 float* vmax, int64_t n, int threads);

template <typename T>
void adam_update_reference(const AdamCoefficients<T>& c, T* p, const T* g, T* m, T* v, T* vmax,
                           int64_t n);

}  // namespace attend::kernels
