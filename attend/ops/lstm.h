#pragma once
// One LSTM layer's recurrence (gate order i, f, g, o as PyTorch) as one differentiable op: per step
// one GEMM h·W_hhᵀ and the fused cell kernel; backward-through-time in the op's backward.
#include "attend/tensor/tensor.h"

namespace attend {

struct LSTMOutput {
  Tensor output;  // the h of every step: (B, L, H) (nn::LSTM: (L, B, H) unless batch_first)
  Tensor h_n;     // the last h: (B, H) (nn::LSTM: (num_layers, B, H))
  Tensor c_n;     // the last c: (B, H) (nn::LSTM: (num_layers, B, H))
};

// xproj: (B, L, 4H) = x·W_ihᵀ + b_ih; w_hh: (4H, H); b_hh: (4H) or undefined; h0, c0: (B, H) or
// undefined (zeros). Differentiable in all defined inputs.
LSTMOutput lstm_layer(const Tensor& xproj, const Tensor& w_hh, const Tensor& b_hh, const Tensor& h0,
                      const Tensor& c0);

}  // namespace attend
