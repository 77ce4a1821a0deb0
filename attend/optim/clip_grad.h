#pragma once
// Gradient clipping (torch.nn.utils.clip_grad_norm_).
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend::optim {

// Total norm of all defined grads, ‖(‖g₁‖, ‖g₂‖, …)‖ with the given p (infinity for max-abs);
// every grad is scaled in place by min(max_norm / (total + 1e-6), 1). Returns the total norm
// before clipping (0 when no parameter has a grad).
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

}  // namespace attend::optim
