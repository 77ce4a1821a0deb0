#pragma once
// Counter-based random bits and the Bernoulli draws behind every dropout mask.
//   bits(seed, c)  = splitmix64 finaliser of seed·K0 + (c + 1)·K1 (a Weyl sequence)
//   draw16(c)      = 16 bits 16·(c mod 4) .. 16·(c mod 4) + 15 of bits(seed, c / 4)
// so one hash serves four draws, and any range of draws can be produced independently of the rest
// (threads and tiles draw their own ranges and agree with a sequential fill).
#include <cmath>
#include <cstdint>

namespace attend::kernels {

inline uint64_t random_bits(uint64_t seed, uint64_t counter) {
  uint64_t z = seed * 0xD1B54A32D192ED03ull + (counter + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// P(draw16(c) < draw16_threshold(p)) = ⌈65536·p⌉ / 65536 (p within 1.6e-5). Every dropout mask
// uses these draws, so all code paths drop the same elements.
inline uint32_t draw16_threshold(double p) {
  if (p <= 0.0) return 0;
  if (p >= 1.0) return 65536;
  return static_cast<uint32_t>(std::ceil(p * 65536.0));
}
inline bool draw16_below(uint64_t seed, uint64_t counter, uint32_t threshold) {
  return ((random_bits(seed, counter >> 2) >> (16 * (counter & 3))) & 0xFFFF) < threshold;
}

// out[i] = draw16(first + i) < threshold ? below : above, for i < n; threshold in [0, 65536].
// SIMD on AVX2 and AVX-512.
void fill_draw16(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold, float below,
                 float above, float* out);
// The scalar reference twin.
void fill_draw16_reference(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold,
                           float below, float above, float* out);
// out[i] = x[i] · (draw16(first + i) < threshold ? below : above): the same draws applied to x
// without a mask in memory (x and out may be the same array). And its scalar reference twin.
void mul_draw16(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold, float below,
                float above, const float* x, float* out);
void mul_draw16_reference(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold, float below,
                          float above, const float* x, float* out);

}  // namespace attend::kernels
