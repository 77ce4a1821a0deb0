#pragma once
// Regression losses, mean over all elements (PyTorch's reduction='mean'). Differentiable in pred.
#include "attend/tensor/tensor.h"

namespace attend {

Tensor mse_loss(const Tensor& pred, const Tensor& target);
// Mean absolute error (torch.nn.L1Loss).
Tensor mae_loss(const Tensor& pred, const Tensor& target);
// torch.nn.HuberLoss(delta): ½d² for |d| < delta, else delta·(|d| − ½delta).
Tensor huber_loss(const Tensor& pred, const Tensor& target, double delta = 1.0);

}  // namespace attend
