#pragma once
// Reductions over dimensions (negative dims count from the end). Differentiable.
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend {

// Sum over `dims` (all dims when empty).
Tensor sum(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
// Variance over `dims`; unbiased divides by n − 1 (torch.var's default), else by n.
Tensor var(const Tensor& x, const std::vector<int>& dims, bool unbiased = true,
           bool keepdim = false);
// Max / min over one dim; the gradient goes to the first maximal (minimal) element.
Tensor max(const Tensor& x, int dim, bool keepdim = false);
Tensor min(const Tensor& x, int dim, bool keepdim = false);
// Index (int64) of the first maximum along `dim`. Not differentiable.
Tensor argmax(const Tensor& x, int dim, bool keepdim = false);
// Cumulative sum along `dim`.
Tensor cumsum(const Tensor& x, int dim);

}  // namespace attend
