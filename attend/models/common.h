#pragma once
// Pieces shared by several models.
#include "attend/tensor/tensor.h"

namespace attend::models {

// Non-stationary Transformer's per-window normalisation (TSLib's PatchTST, iTransformer, ...):
//   means = mean_t x (detached), stdev = sqrt(var_t(x − means, biased) + 1e-5) (not detached),
//   x̂ = (x − means) / stdev; the forecast is de-normalised as y · stdev + means per variable.
struct WindowNorm {
  Tensor means;  // (B, 1, C)
  Tensor stdev;  // (B, 1, C)
};
// x: (B, L, C) -> normalised x̂ (B, L, C), with the statistics in `norm`.
Tensor normalize_window(const Tensor& x, WindowNorm& norm);
// y: (B, P, C) or (B, P, C, Q) -> y · stdev + means, per variable C.
Tensor denormalize_window(const Tensor& y, const WindowNorm& norm);

}  // namespace attend::models
