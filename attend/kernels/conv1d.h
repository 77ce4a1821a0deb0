#pragma once
// 1-d convolution (cross-correlation, as PyTorch's conv1d) by im2col + gemm, with a direct-loop
// reference twin. Row-major, contiguous:
//   x (N, C_in, L_in), w (C_out, C_in / groups, K), bias (C_out), y (N, C_out, L_out)
//   y[n][o][t] = bias[o] + Σ_{c, j} w[o][c][j] · x[n][g·C_in/groups + c][t·stride − padding +
//   j·dilation]
// with g = o / (C_out / groups) and zeros outside [0, L_in).
#include <cstdint>

namespace attend::kernels {

struct Conv1dShape {
  int64_t n = 1, c_in = 1, l_in = 1, c_out = 1, k = 1;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  // L_out = (L_in + 2·padding − dilation·(K − 1) − 1) / stride + 1 (may be <= 0: invalid).
  int64_t l_out() const { return (l_in + 2 * padding - dilation * (k - 1) - 1) / stride + 1; }
  // True when x itself is the im2col matrix (K = 1, stride 1, no padding).
  bool is_pointwise() const { return k == 1 && stride == 1 && padding == 0; }
  // Elements of the im2col scratch for all samples: N · C_in · K · L_out (0 when pointwise).
  int64_t col_size() const { return is_pointwise() ? 0 : n * c_in * k * l_out(); }
};

// col (C_in·K, L_out) of one sample x (C_in, L_in): col[c·K + j][t] = x[c][t·s − p + j·d] or 0.
template <typename T>
void im2col1d(const Conv1dShape& s, const T* x, T* col);
// Adjoint of im2col1d: dx (C_in, L_in) += scatter of dcol (C_in·K, L_out).
template <typename T>
void col2im1d(const Conv1dShape& s, const T* dcol, T* dx);

// Forward through gemm. bias may be null; col is scratch of s.col_size() elements.
template <typename T>
void conv1d_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y, T* col,
                    int threads);
// Backward through gemm: dx (N, C_in, L_in), dw (C_out, C_in/groups, K), db (C_out) are written
// (not accumulated); any may be null. col is scratch of s.col_size() elements.
template <typename T>
void conv1d_backward(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                     T* col, int threads);

// Direct loops, the reference twins.
template <typename T>
void conv1d_forward_reference(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv1d_backward_reference(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx,
                               T* dw, T* db);

}  // namespace attend::kernels
