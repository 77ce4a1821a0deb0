#pragma once
// Views, layout and indexing ops. Differentiable. Views share storage with their input.
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend {

// A view when the layout allows it, else a copy. One dim may be -1 (inferred).
Tensor reshape(const Tensor& x, const Shape& shape);
// Merges dims [start, end] into one.
Tensor flatten(const Tensor& x, int start_dim = 0, int end_dim = -1);
Tensor squeeze(const Tensor& x, int dim);
Tensor unsqueeze(const Tensor& x, int dim);
Tensor permute(const Tensor& x, const std::vector<int>& dims);
Tensor transpose(const Tensor& x, int dim0, int dim1);
// Elements start, start+step, ... < end along `dim` (negative start/end count from the end; end is
// clamped to the size, as Python slicing does).
Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end, int64_t step = 1);
// x[..., index, ...] along `dim`, dropping that dim.
Tensor select(const Tensor& x, int dim, int64_t index);
// Broadcast view to `shape` (size-1 dims stretched, new leading dims added; -1 keeps a size).
Tensor expand(const Tensor& x, const Shape& shape);
// A contiguous tensor with the same values (x itself when already contiguous).
Tensor contiguous(const Tensor& x);
// Tiles x: torch.Tensor.repeat semantics.
Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats);

Tensor concat(const std::vector<Tensor>& xs, int dim);
Tensor stack(const std::vector<Tensor>& xs, int dim);
// concat(xs, 0) and stack(xs, 0) for weights: when the tensors lie back to back in one storage
// (pack_adjacent), a view of it and no copy (the same gradients); otherwise concat's and stack's
// copy. The view shares the weights' memory: do not write into it.
Tensor concat_params(const std::vector<Tensor>& xs);
Tensor stack_params(const std::vector<Tensor>& xs);
// Pieces of the given sizes along `dim` (sizes must add up to the dim).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim);
// Pieces of `size` along `dim` (the last may be smaller).
std::vector<Tensor> split(const Tensor& x, int64_t size, int dim);

// Rows of x along `dim` picked by `index` (1-d int64).
Tensor index_select(const Tensor& x, int dim, const Tensor& index);
// out[i][j][k] = x[index[i][j][k]][j][k] for dim 0, etc. (torch.gather); index is int64.
Tensor gather(const Tensor& x, int dim, const Tensor& index);
// Positions that sort x ascending along `dim` (stable; NaN last): int64 of x's shape. Not
// differentiable.
Tensor argsort(const Tensor& x, int dim);
// x sorted ascending along `dim`, gather(x, dim, argsort(x, dim)): the gradient of each output
// goes back to the element it came from.
Tensor sort(const Tensor& x, int dim);
// x with `value` where mask is non-zero; mask broadcasts to x.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// a where cond is non-zero, else b (all three broadcast together).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace attend
