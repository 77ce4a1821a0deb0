#pragma once
// Matrix products through kernels::gemm. Differentiable.
#include "attend/tensor/tensor.h"

namespace attend {

// torch.matmul: 1-d and 2-d operands and batched N-d products with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x · Wᵀ + b: x (..., in), weight (out, in), bias (out) or undefined. Fused (one GEMM, bias
// folded in; the backward is three GEMM-shaped steps).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace attend
