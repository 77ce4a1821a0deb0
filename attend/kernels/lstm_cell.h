#pragma once
// Fused LSTM cell (gate order i, f, g, o as PyTorch), forward and backward over B rows.
//   i = σ(aᵢ), f = σ(a_f), g = tanh(a_g), o = σ(a_o); c = f·c_prev + i·g; h = o·tanh(c).
// Fast float path with Highway (dynamic dispatch) + OpenMP over rows; reference twins are plain
// loops (the float64 path uses them too).
#include <cstdint>

namespace attend::kernels {

// gates: (B, 4H), row stride ld (>= 4H): pre-activations in, activations [i|f|g|o] out.
// c_prev: (B, H) contiguous; c, h: (B, H) contiguous outputs.
void lstm_cell_forward(int64_t B, int64_t H, float* gates, int64_t ld, const float* c_prev,
                       float* c, float* h, int threads);
void lstm_cell_forward(int64_t B, int64_t H, double* gates, int64_t ld, const double* c_prev,
                       double* c, double* h, int threads);

// act: (B, 4H) activations from the forward (row stride ld); c_prev, c: (B, H).
// dh: (B, H) gradient of h; dc: (B, H) gradient of c in, gradient of c_prev out.
// dgates: (B, 4H) gradient of the pre-activations out (row stride ld).
//   dc_tot = dc + dh·o·(1 − tanh²c); da_i = dc_tot·g·i(1−i); da_f = dc_tot·c_prev·f(1−f);
//   da_g = dc_tot·i·(1−g²); da_o = dh·tanh(c)·o(1−o); dc_prev = dc_tot·f.
void lstm_cell_backward(int64_t B, int64_t H, const float* act, int64_t ld, const float* c_prev,
                        const float* c, const float* dh, float* dc, float* dgates, int threads);
void lstm_cell_backward(int64_t B, int64_t H, const double* act, int64_t ld, const double* c_prev,
                        const double* c, const double* dh, double* dc, double* dgates, int threads);

// Reference twins (plain loops, one thread).
template <typename T>
void lstm_cell_forward_reference(int64_t B, int64_t H, T* gates, int64_t ld, const T* c_prev, T* c,
                                 T* h);
template <typename T>
void lstm_cell_backward_reference(int64_t B, int64_t H, const T* act, int64_t ld, const T* c_prev,
                                  const T* c, const T* dh, T* dc, T* dgates);

}  // namespace attend::kernels
