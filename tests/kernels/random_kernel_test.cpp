#include "attend/kernels/random.h"

#include <gtest/gtest.h>

#include <cstdint>
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
