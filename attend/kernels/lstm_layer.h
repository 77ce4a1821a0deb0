#pragma once
// One unidirectional LSTM layer for inference in oneDNN's LSTM primitive: its weights reordered
// into the primitive's packed layout once per call, the whole recurrence in its fused kernels.
// PyTorch's gate order (i, f, g, o) is oneDNN's. Per step t, with a_t = x_t·W_ihᵀ + h_{t-1}·W_hhᵀ
// + bias (4H): c_t = σ(a_f)·c_{t-1} + σ(a_i)·tanh(a_g), h_t = σ(a_o)·tanh(c_t).
// The reference is the training path's (ops/lstm.cpp: a GEMM per step and lstm_cell_forward).
#include <cstdint>

namespace attend::kernels {

struct LstmLayerShape {
  int64_t batch = 0, steps = 0, input = 0, hidden = 0;  // B, L, I, H
};

// x (B, L, I) batch-first; w_ih (4H, I), w_hh (4H, H) as PyTorch's; bias (4H) = b_ih + b_hh;
// h0, c0 (B, H) or null (zeros) -> y (B, L, H), h_n, c_n (B, H). False (nothing computed) when
// the build's GEMM backend is not oneDNN.
bool lstm_layer_inference(const LstmLayerShape& s, const float* x, const float* w_ih,
                          const float* w_hh, const float* bias, const float* h0, const float* c0,
                          float* y, float* h_n, float* c_n, int threads);

}  // namespace attend::kernels
