#include "attend/kernels/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace attend::kernels {
namespace {

// The SIMD fill must reproduce the scalar draws exactly, for every alignment of the first counter,
// lengths around the vector width, and the edge thresholds (never / always below).
TEST(RandomKernel, SimdDrawsEqualTheReference) {
  for (uint32_t threshold : {0u, 1u, 6554u, 32768u, 65535u, 65536u})
    for (uint64_t first : {0ull, 1ull, 2ull, 3ull, 1000001ull})
      for (int64_t n : {0, 1, 5, 31, 32, 33, 64, 100, 1027}) {
        std::vector<float> fast(n, -1.f), ref(n, -2.f);
        fill_draw16(77, first, n, threshold, 0.f, 1.25f, fast.data());
        fill_draw16_reference(77, first, n, threshold, 0.f, 1.25f, ref.data());
        ASSERT_EQ(fast, ref) << "threshold " << threshold << " first " << first << " n " << n;
      }
}

// The draws applied to a tensor (a dropout without a mask): x · the filled mask, bit for bit, in
// place too, on the SIMD path and the reference; NaN and infinities stay what a product makes them.
TEST(RandomKernel, MulDrawsEqualTheFilledMaskTimesX) {
  for (uint32_t threshold : {0u, 1u, 6554u, 32768u, 65535u, 65536u})
    for (uint64_t first : {0ull, 3ull, 1000001ull})
      for (int64_t n : {0, 1, 31, 33, 100, 1027}) {
        std::vector<float> x(n), mask(n), fast(n), ref(n);
        for (int64_t i = 0; i < n; ++i) x[i] = 0.25f * static_cast<float>(i % 17) - 2.0f;
        if (n > 30) x[7] = std::numeric_limits<float>::quiet_NaN(), x[30] = -INFINITY;
        fill_draw16_reference(9, first, n, threshold, 1.25f, 0.f, mask.data());
        mul_draw16(9, first, n, threshold, 1.25f, 0.f, x.data(), fast.data());
        mul_draw16_reference(9, first, n, threshold, 1.25f, 0.f, x.data(), ref.data());
        std::vector<float> in_place = x;
        mul_draw16(9, first, n, threshold, 1.25f, 0.f, in_place.data(), in_place.data());
        for (int64_t i = 0; i < n; ++i) {
          const float want = x[i] * mask[i];
          const auto same = [&](float v) { return std::isnan(want) ? std::isnan(v) : v == want; };
          ASSERT_TRUE(same(fast[i]) && same(ref[i]) && same(in_place[i]))
              << "threshold " << threshold << " first " << first << " i " << i;
        }
      }
}

// A sub-range drawn on its own equals the same slice of one long fill (what tiles rely on), and the
// fraction below the threshold is close to threshold / 65536.
TEST(RandomKernel, RangesAreIndependentAndRatesMatch) {
  const int64_t n = 100000;
  std::vector<float> all(n);
  fill_draw16(5, 0, n, 19661, 1.f, 0.f, all.data());  // p ≈ 0.3
  std::vector<float> part(777);
  fill_draw16(5, 12345, 777, 19661, 1.f, 0.f, part.data());
  EXPECT_EQ(part, std::vector<float>(all.begin() + 12345, all.begin() + 12345 + 777));
  double ones = 0;
  for (float v : all) ones += v;
  EXPECT_NEAR(ones / n, 19661.0 / 65536.0, 0.005);
}

}  // namespace
}  // namespace attend::kernels
