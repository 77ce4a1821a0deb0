#pragma once
// Fused LSTM cell (gate order i, f, g, o as PyTorch), forward and backward over B rows.
//   i = σ(aᵢ), f = σ(a_f), g = tanh(a_g), o = σ(a_o); c = f·c_prev + i·g; h = o·tanh(c).
// Fast float path with Highway (dynamic dispatch) + OpenMP over rows; reference twins are plain
// loops (the float64 path uses them too). Every view is (rows, columns) with any row stride and
// unit column stride.
#include <cstdint>

#include "attend/kernels/view.h"

namespace attend::kernels {

// gates: (B, 4H) pre-activations in, activations [i|f|g|o] out. c_prev: (B, H); c, h: (B, H)
// outputs.
void lstm_cell_forward(View<float, 2> gates, View<const float, 2> c_prev, View<float, 2> c,
                       View<float, 2> h, int threads);
void lstm_cell_forward(View<double, 2> gates, View<const double, 2> c_prev, View<double, 2> c,
                       View<double, 2> h, int threads);

// act: (B, 4H) activations from the forward; c_prev, c: (B, H).
// dh: (B, H) gradient of h; dc: (B, H) gradient of c in, gradient of c_prev out.
// dgates: (B, 4H) gradient of the pre-activations out.
//   dc_tot = dc + dh·o·(1 − tanh²c); da_i = dc_tot·g·i(1−i); da_f = dc_tot·c_prev·f(1−f);
//   da_g = dc_tot·i·(1−g²); da_o = dh·tanh(c)·o(1−o); dc_prev = dc_tot·f.
void lstm_cell_backward(View<const float, 2> act, View<const float, 2> c_prev,
                        View<const float, 2> c, View<const float, 2> dh, View<float, 2> dc,
                        View<float, 2> dgates, int threads);
void lstm_cell_backward(View<const double, 2> act, View<const double, 2> c_prev,
                        View<const double, 2> c, View<const double, 2> dh, View<double, 2> dc,
                        View<double, 2> dgates, int threads);

// Reference twins (plain loops, one thread).
template <typename T>
void lstm_cell_forward_reference(View<T, 2> gates, View<const T, 2> c_prev, View<T, 2> c,
                                 View<T, 2> h);
template <typename T>
void lstm_cell_backward_reference(View<const T, 2> act, View<const T, 2> c_prev, View<const T, 2> c,
                                  View<const T, 2> dh, View<T, 2> dc, View<T, 2> dgates);

}  // namespace attend::kernels
