#pragma once
// Counter-based random numbers: value i of a draw depends only on (seed, counter + i), so results
// are the same whatever the thread count, and a draw can be filled in parallel.
#include <cmath>
#include <cstdint>

#include "attend/kernels/random.h"

namespace attend {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}

  void manual_seed(uint64_t seed) {
    seed_ = seed;
    counter_ = 0;
  }
  uint64_t seed() const { return seed_; }
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t c) { counter_ = c; }

  // Reserves n consecutive counters and returns the first.
  uint64_t reserve(uint64_t n) {
    uint64_t first = counter_;
    counter_ += n;
    return first;
  }

  // Data-parallel training (attend/train/distributed.h): this process computes rows
  // [first, first + count) of a global batch of `global` rows. A batch-shaped draw of n values
  // (row-major with the batch outermost: n = count · per_row) then reserves the counters of the
  // whole global batch (global · per_row) and returns the first of this process's rows, so a
  // row's values are those a single process draws for it and the counter advances alike on every
  // process. set_rows(0, 0, 0) (the default) ends it: reserve_rows(n) is reserve(n).
  void set_rows(uint64_t global, uint64_t first, uint64_t count) {
    rows_global_ = global;
    rows_first_ = first;
    rows_count_ = count;
  }
  uint64_t reserve_rows(uint64_t n);

  // 64 random bits for (seed, counter): splitmix64 finaliser over a Weyl sequence.
  static uint64_t bits(uint64_t seed, uint64_t counter) {
    return kernels::random_bits(seed, counter);
  }
  // Uniform in [0, 1) with 53 random bits.
  static double uniform01(uint64_t seed, uint64_t counter) {
    return static_cast<double>(bits(seed, counter) >> 11) * 0x1.0p-53;
  }
  // Standard normal (Box-Muller on two counters 2c, 2c+1).
  static double normal01(uint64_t seed, uint64_t counter);

  // Fill helpers: draw n values, advancing the counter by n (parallel over the caller's threads);
  // fill_bernoulli (dropout masks) reserves with reserve_rows.
  void fill_uniform(float* out, int64_t n, double low, double high, int threads = 1);
  void fill_uniform(double* out, int64_t n, double low, double high, int threads = 1);
  void fill_normal(float* out, int64_t n, double mean, double stddev, int threads = 1);
  void fill_normal(double* out, int64_t n, double mean, double stddev, int threads = 1);
  // out[i] = value (1 unless given) with probability p, else 0.
  void fill_bernoulli(float* out, int64_t n, double p, int threads = 1, float value = 1.0f);
  void fill_bernoulli(double* out, int64_t n, double p, int threads = 1);

  // Sequential convenience draws (one counter each).
  double uniform() { return uniform01(seed_, reserve(1)); }
  double normal() { return normal01(seed_, reserve(1)); }
  // Uniform integer in [0, n).
  uint64_t randint(uint64_t n) { return bits(seed_, reserve(1)) % n; }

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
  uint64_t rows_global_ = 0, rows_first_ = 0, rows_count_ = 0;
};

}  // namespace attend
