#pragma once
// 1-d convolution (cross-correlation, as PyTorch's conv1d) by im2col + gemm, with a direct-loop
// reference twin. Row-major, contiguous:
//   x (N, C_in, L_in), w (C_out, C_in / groups, K), bias (C_out), y (N, C_out, L_out)
//   y[n][o][t] = bias[o] + Σ_{c, j} w[o][c][j] · x[n][g·C_in/groups + c][t·stride − padding +
//   j·dilation]  (padding: the zeros before x; Conv1dShape::padding_right those after it)
// with g = o / (C_out / groups) and zeros outside [0, L_in).
#include <cstdint>

namespace attend::kernels {

struct Conv1dShape {
  int64_t n = 1, c_in = 1, l_in = 1, c_out = 1, k = 1;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  // Zeros after the input; −1: the same as `padding` (before it). 0 with padding (K − 1)·dilation
  // is a causal convolution.
  int64_t padding_right = -1;
  // Channels-last layouts x (N, L_in, C_in), y (N, L_out, C_out) instead of (N, C, L).
  bool channels_last = false;
  // Fused activation: y = max(conv + bias, 0); the backward then masks dy by y > 0 (and needs y).
  bool relu = false;
  int64_t pad_right() const { return padding_right < 0 ? padding : padding_right; }
  // L_out = (L_in + padding + pad_right − dilation·(K − 1) − 1) / stride + 1 (<= 0: invalid).
  int64_t l_out() const {
    return (l_in + padding + pad_right() - dilation * (k - 1) - 1) / stride + 1;
  }
  // True when a single sample x itself is the im2col matrix (K = 1, stride 1, no padding).
  bool is_pointwise() const { return k == 1 && stride == 1 && padding == 0 && pad_right() == 0; }
  // Scratch of conv1d_forward / conv1d_backward, in elements: the im2col matrix of the whole batch,
  // col (C_in·K, N·L_out) (none for one pointwise sample), plus, for N > 1, the output or its
  // gradient in channel-major layout (C_out, N·L_out).
  // Channels-last: the weight and its gradient re-laid out as (C_out, K, C_in/groups), plus the
  // im2col matrix (N·L_out, C_in·K) unless pointwise (then x itself is that matrix).
  // With relu, the backward's masked dy (N·L_out·C_out) follows.
  int64_t scratch_size() const {
    const int64_t masked = relu ? n * l_out() * c_out : 0;
    if (channels_last)
      return 2 * c_out * k * (c_in / groups) + (is_pointwise() ? 0 : n * l_out() * c_in * k) +
             masked;
    const int64_t col = (is_pointwise() && n == 1) ? 0 : c_in * k * n * l_out();
    return col + (n > 1 ? c_out * n * l_out() : 0) + masked;
  }
};

// col (C_in·K, ·) rows of one sample x (C_in, L_in), row r = c·K + j starting at col + r·ld:
// col[c·K + j][t] = x[c][t·s − p + j·d], or 0 outside x. ld >= L_out.
template <typename T>
void im2col1d(const Conv1dShape& s, const T* x, T* col, int64_t ld);
// Adjoint of im2col1d: dx (C_in, L_in) += scatter of dcol (C_in·K, ·) with row stride ld.
template <typename T>
void col2im1d(const Conv1dShape& s, const T* dcol, T* dx, int64_t ld);

// Forward as one GEMM over the whole batch: Y (C_out/g, N·L_out) = W_g · col_g, then Y is laid out
// as y (N, C_out, L_out) with the bias (and s.relu) applied. Channels-last: Y (N·L_out, C_out/g) =
// col_g · W'_gᵀ written straight into y, with col rows [g][j][c] = x[n][t·s − p +
// j·d][g·C_in/groups + c] and W' = W permuted to (C_out, K, C_in/groups). bias may be null; scratch
// has s.scratch_size() elements.
template <typename T>
void conv1d_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y, T* scratch,
                    int threads);
// Backward, one GEMM each for dW and dcol: dx (N, C_in, L_in), dw (C_out, C_in/groups, K),
// db (C_out) are written (not accumulated); any may be null. scratch has s.scratch_size() elements.
// forward_scratch: the forward's scratch, whose im2col matrix is then read (not rebuilt, not
// written: a second backward may read it again); null: built in scratch.
// y: the forward's output, read when s.relu (dy·[y > 0] is the gradient through the ReLU).
template <typename T>
void conv1d_backward(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                     T* scratch, int threads, const T* forward_scratch = nullptr,
                     const T* y = nullptr);

// Direct loops, the reference twins (y: as conv1d_backward's, read when s.relu).
template <typename T>
void conv1d_forward_reference(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv1d_backward_reference(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx,
                               T* dw, T* db, const T* y = nullptr);

}  // namespace attend::kernels
