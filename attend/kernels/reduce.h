#pragma once
// Reduction kernels over a contiguous x viewed as (outer, n, inner): the reduced axis is the middle
// one. The fast float32 sum uses Highway; the *_reference templates are the plain twins (and the
// float64 path). max/min/argmax and cumsum are plain loops (no fast twin).
#include <cstdint>

namespace attend::kernels {

// out[o, i] = Σ_r x[o, r, i]; x: (outer, n, inner), out: (outer, inner).
void sum_reduce(const float* x, float* out, int64_t outer, int64_t n, int64_t inner, int threads);
template <typename T>
void sum_reduce_reference(const T* x, T* out, int64_t outer, int64_t n, int64_t inner);

// out[o, i] = max_r x[o, r, i] (min when is_min); idx (may be null) gets the first extremum's r.
// NaN wins, as in PyTorch.
template <typename T>
void extremum_reduce(const T* x, T* out, int64_t* idx, int64_t outer, int64_t n, int64_t inner,
                     bool is_min);

// out[o, r, i] = Σ_{k ≤ r} x[o, k, i] (Σ_{k ≥ r} when reverse).
template <typename T>
void cumsum(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, bool reverse);

// out[o, r, i] = g[o, i] (backward of a reduction: broadcast over the reduced axis).
template <typename T>
void broadcast_middle(const T* g, T* out, int64_t outer, int64_t n, int64_t inner);

}  // namespace attend::kernels
