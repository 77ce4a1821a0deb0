#include "attend/tensor/random.h"

#include <algorithm>
#include <cmath>

#include "attend/base/error.h"
#include "attend/kernels/parallel.h"

namespace attend {

double Generator::normal01(uint64_t seed, uint64_t counter) {
  double u1 = uniform01(seed, 2 * counter), u2 = uniform01(seed, 2 * counter + 1);
  double r = std::sqrt(-2.0 * std::log1p(-u1));  // 1 - u1 in (0, 1]
  return r * std::cos(2.0 * M_PI * u2);
}

uint64_t Generator::reserve_rows(uint64_t n) {
  if (rows_global_ == 0 || rows_count_ == rows_global_) return reserve(n);
  ATTEND_CHECK(n % rows_count_ == 0,
               "[random] a batch-shaped draw of {} values does not split into this process's {} "
               "rows of the batch",
               n, rows_count_);
  const uint64_t per_row = n / rows_count_;
  return reserve(per_row * rows_global_) + per_row * rows_first_;
}

namespace {
template <typename T, typename F>
void fill(T* out, int64_t n, int threads, F&& draw) {
  kernels::parallel_chunks(n, n > 65536 ? threads : 1, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = static_cast<T>(draw(i));
  });
}
}  // namespace

void Generator::fill_uniform(float* out, int64_t n, double low, double high, int threads) {
  uint64_t c = reserve(n), s = seed_;
  fill(out, n, threads, [&](int64_t i) { return low + (high - low) * uniform01(s, c + i); });
}
void Generator::fill_uniform(double* out, int64_t n, double low, double high, int threads) {
  uint64_t c = reserve(n), s = seed_;
  fill(out, n, threads, [&](int64_t i) { return low + (high - low) * uniform01(s, c + i); });
}
void Generator::fill_normal(float* out, int64_t n, double mean, double stddev, int threads) {
  uint64_t c = reserve(n), s = seed_;
  fill(out, n, threads, [&](int64_t i) { return mean + stddev * normal01(s, c + i); });
}
void Generator::fill_normal(double* out, int64_t n, double mean, double stddev, int threads) {
  uint64_t c = reserve(n), s = seed_;
  fill(out, n, threads, [&](int64_t i) { return mean + stddev * normal01(s, c + i); });
}
void Generator::fill_bernoulli(float* out, int64_t n, double p, int threads, float value) {
  const uint64_t c = reserve_rows(n), s = seed_;
  const uint32_t t = kernels::draw16_threshold(p);
  // Chunks of 4096 draws (a multiple of 4, so chunk boundaries keep the hash groups aligned).
  const int64_t chunks = (n + 4095) / 4096;
  kernels::parallel_chunks(
      chunks, n > 262144 ? threads : 1, kernels::kParallelMinWork, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k) {
          const int64_t begin = k * 4096;
          kernels::fill_draw16(s, c + begin, std::min<int64_t>(4096, n - begin), t, value, 0.0f,
                               out + begin);
        }
      });
}
void Generator::fill_bernoulli(double* out, int64_t n, double p, int threads) {
  const uint64_t c = reserve_rows(n), s = seed_;
  const uint32_t t = kernels::draw16_threshold(p);
  fill(out, n, threads, [&](int64_t i) { return kernels::draw16_below(s, c + i, t) ? 1.0 : 0.0; });
}

}  // namespace attend
