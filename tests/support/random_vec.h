#pragma once
// Uniform random values in [-1, 1) for kernel tests that work on raw buffers.
#include <cstddef>
#include <random>
#include <vector>

namespace attend::testing {

template <typename T>
std::vector<T> random_vec(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(u(rng));
  return v;
}

}  // namespace attend::testing
