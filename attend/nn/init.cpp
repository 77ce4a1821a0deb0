#include "attend/nn/init.h"

#include <cmath>

#include "attend/autograd/node.h"

namespace attend::nn::init {

namespace {

// Draws into `w` through a contiguous temporary when `w` is a strided view.
template <typename Fill>
void fill_random(const Tensor& w, const char* what, Fill&& fill) {
  ATTEND_CHECK(w.defined(), "[{}] tensor is undefined", what);
  Tensor dst = w.is_contiguous() ? w : Tensor::empty(w.shape(), w.dtype(), w.context());
  Generator& gen = w.context().generator();
  int threads = w.context().threads();
  dispatch_float(w.dtype(), what, [&](auto tag) {
    using T = decltype(tag);
    fill(gen, dst.data<T>(), dst.numel(), threads);
  });
  if (!dst.is_same(w)) w.copy_from(dst);
}

double fan_for(const Tensor& w, FanMode mode) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(w);
  return static_cast<double>(mode == FanMode::FanIn ? fan_in : fan_out);
}

}  // namespace

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& w) {
  ATTEND_CHECK(w.ndim() >= 2,
               "[init] fan in and fan out can not be computed for a tensor of shape {} (fewer "
               "than 2 dimensions)",
               w.shape().str());
  int64_t receptive = 1;
  for (int d = 2; d < w.ndim(); ++d) receptive *= w.size(d);
  return {w.size(1) * receptive, w.size(0) * receptive};
}

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU:
      return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::SELU:
      return 3.0 / 4.0;
  }
  return 1.0;
}

void uniform_(const Tensor& w, double low, double high) {
  NoGradGuard ng;
  fill_random(w, "uniform_", [&](Generator& g, auto* p, int64_t n, int threads) {
    g.fill_uniform(p, n, low, high, threads);
  });
}

void normal_(const Tensor& w, double mean, double stddev) {
  NoGradGuard ng;
  fill_random(w, "normal_", [&](Generator& g, auto* p, int64_t n, int threads) {
    g.fill_normal(p, n, mean, stddev, threads);
  });
}

void constant_(const Tensor& w, double value) {
  ATTEND_CHECK(w.defined(), "[constant_] tensor is undefined");
  w.fill(value);
}

void zeros_(const Tensor& w) {
  constant_(w, 0.0);
}

void ones_(const Tensor& w) {
  constant_(w, 1.0);
}

void kaiming_uniform_(const Tensor& w, double a, FanMode mode, Nonlinearity nonlinearity) {
  double stddev = calculate_gain(nonlinearity, a) / std::sqrt(fan_for(w, mode));
  double bound = std::sqrt(3.0) * stddev;
  uniform_(w, -bound, bound);
}

void kaiming_normal_(const Tensor& w, double a, FanMode mode, Nonlinearity nonlinearity) {
  double stddev = calculate_gain(nonlinearity, a) / std::sqrt(fan_for(w, mode));
  normal_(w, 0.0, stddev);
}

void xavier_uniform_(const Tensor& w, double gain) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(w);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(w, -bound, bound);
}

void xavier_normal_(const Tensor& w, double gain) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(w);
  normal_(w, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

}  // namespace attend::nn::init
