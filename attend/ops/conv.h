#pragma once
// Convolution, pooling and embedding lookup. Differentiable.
#include "attend/tensor/tensor.h"

namespace attend {

enum class PaddingMode { Zeros, Circular };

struct Conv1dOptions {
  int64_t stride = 1;
  int64_t padding = 0;  // on each side (before the input when padding_right is set)
  int64_t dilation = 1;
  int64_t groups = 1;
  PaddingMode padding_mode = PaddingMode::Zeros;
  int64_t padding_right = -1;  // zeros after the input; −1: the same as padding
  bool channels_last = false;  // x (N, L, C_in) -> (N, L_out, C_out) instead of (N, C, L)
  bool relu = false;           // y = max(conv(x) + bias, 0), fused (TCN's blocks)
};

// x: (N, C_in, L), weight: (C_out, C_in / groups, K), bias: (C_out) or undefined
// -> (N, C_out, L_out) (channels_last: (N, L, C_in) -> (N, L_out, C_out)),
// L_out = (L + padding + padding_right − dilation·(K − 1) − 1) / stride + 1.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv1dOptions& options = {});
// x: (N, C, L) -> (N, C, L_out); padding with −inf; stride defaults to kernel_size.
Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
// Zero padding counted in the average (PyTorch's count_include_pad=True).
Tensor avg_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
// Rows of weight (V, D) picked by int64 indices of any shape -> (*indices.shape, D).
Tensor embedding(const Tensor& indices, const Tensor& weight);

}  // namespace attend
