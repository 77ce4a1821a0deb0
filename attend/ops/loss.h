#pragma once
// Regression losses, mean over all elements (PyTorch's reduction='mean'). Differentiable in pred.
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend {

Tensor mse_loss(const Tensor& pred, const Tensor& target);
// Mean absolute error (torch.nn.L1Loss).
Tensor mae_loss(const Tensor& pred, const Tensor& target);
// torch.nn.HuberLoss(delta): ½d² for |d| < delta, else delta·(|d| − ½delta).
Tensor huber_loss(const Tensor& pred, const Tensor& target, double delta = 1.0);
// Mean pinball (quantile) loss of pred_q (..., Q) at `quantiles` (Q levels in (0, 1)) against
// target (...): the mean over all elements of max(q·(y − ŷ_q), (q − 1)·(y − ŷ_q)).
Tensor pinball_loss(const Tensor& pred_q, const Tensor& target,
                    const std::vector<double>& quantiles);

}  // namespace attend
