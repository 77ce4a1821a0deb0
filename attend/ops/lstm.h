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

// How lstm_layer spreads one layer's recurrence over the context's threads.
//   by_steps: each step's GEMM and cell on all threads (a GEMM under the threading threshold,
//     such as a batch-1 step, runs on one);
//   by_units: every thread on every step, each computing the gates and cell of chunks of the
//     hidden units, a step's once the step before is done, waiting spinning (lstm.cpp);
//   automatic: by_units with threads > 1 for mid-sized steps (H ≥ 128, 0.5–300 MFLOP a step:
//     batch 1 to 128 at H 512; see lstm.cpp), by_steps otherwise.
// The paths agree to float rounding; each is deterministic for a given thread count.
enum class LSTMThreading { automatic, by_steps, by_units };

// xproj: (B, L, 4H) = x·W_ihᵀ + b_ih; w_hh: (4H, H); b_hh: (4H) or undefined; h0, c0: (B, H) or
// undefined (zeros). Differentiable in all defined inputs.
LSTMOutput lstm_layer(const Tensor& xproj, const Tensor& w_hh, const Tensor& b_hh, const Tensor& h0,
                      const Tensor& c0, LSTMThreading threading = LSTMThreading::automatic);

}  // namespace attend
