#pragma once
// Parameter initialisations with torch.nn.init's distributions, drawn in place from the tensor's
// Context generator (same distributions as PyTorch, not the same random stream).
#include <cstdint>
#include <utility>

#include "attend/tensor/tensor.h"

namespace attend::nn::init {

enum class FanMode { FanIn, FanOut };
enum class Nonlinearity { Linear, Conv, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };

// (fan_in, fan_out) as torch.nn.init: w (out, in, *k) -> (in·Πk, out·Πk); needs >= 2 dims.
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& w);
// torch.nn.init.calculate_gain; `param` is leaky_relu's negative slope.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

// w ~ U(low, high).
void uniform_(const Tensor& w, double low, double high);
// w ~ N(mean, std²).
void normal_(const Tensor& w, double mean, double stddev);
void constant_(const Tensor& w, double value);
void zeros_(const Tensor& w);
void ones_(const Tensor& w);
// U(−b, b), b = gain·sqrt(3 / fan); gain from `nonlinearity` with slope `a` (PyTorch's defaults:
// a = 0, fan_in, leaky_relu). Linear/Conv1d use a = sqrt(5), which gives b = 1/sqrt(fan_in).
void kaiming_uniform_(const Tensor& w, double a = 0.0, FanMode mode = FanMode::FanIn,
                      Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
// N(0, std²), std = gain / sqrt(fan).
void kaiming_normal_(const Tensor& w, double a = 0.0, FanMode mode = FanMode::FanIn,
                     Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
// U(−b, b), b = gain·sqrt(6 / (fan_in + fan_out)).
void xavier_uniform_(const Tensor& w, double gain = 1.0);
// N(0, std²), std = gain·sqrt(2 / (fan_in + fan_out)).
void xavier_normal_(const Tensor& w, double gain = 1.0);

}  // namespace attend::nn::init
