#pragma once
// Neural-network functions: softmax, normalisation, dropout. Differentiable; fused kernels.
#include "attend/tensor/tensor.h"

namespace attend {

Tensor softmax(const Tensor& x, int dim);
Tensor log_softmax(const Tensor& x, int dim);
// Fused layer norm over the last dimension: (x − mean) / sqrt(var + eps) · weight + bias
// (biased variance, as PyTorch). weight, bias: (D) or undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);
// Batch norm over dim 1 of x (N, C) or (N, C, L). In training, normalises with the batch
// statistics (biased variance) and, when running_mean/running_var are defined, updates them in
// place: r = (1 − momentum)·r + momentum·batch_stat, with the unbiased variance for running_var.
// In eval, normalises with the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);
// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1 − p); the
// mask comes from x's context generator. Identity when !training or p == 0.
Tensor dropout(const Tensor& x, double p, bool training);
// Gated linear unit over the last dimension, fused with an optional residual add:
// x (…, 2·d) = [a | b] -> a ⊙ σ(b) + residual, residual (…, d) or undefined.
Tensor glu(const Tensor& x, const Tensor& residual = Tensor());

}  // namespace attend
