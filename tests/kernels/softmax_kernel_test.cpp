// Fast softmax kernels vs their reference twins, over row lengths with SIMD tails.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "attend/kernels/softmax.h"

namespace attend::kernels {
namespace {

TEST(SoftmaxKernel, MatchesReference) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-10, 10);
  for (bool log : {false, true})
    for (int64_t rows : {1, 4, 300})
      for (int64_t n : {1, 2, 7, 16, 17, 33, 250}) {
        std::vector<float> x(rows * n), g(rows * n), yf(rows * n), yr(rows * n), df(rows * n),
            dr(rows * n);
        for (auto& v : x) v = u(rng);
        for (auto& v : g) v = u(rng) / 10;
        softmax_forward(x.data(), yf.data(), rows, n, log, 2);
        softmax_forward_reference(x.data(), yr.data(), rows, n, 1, log);
        for (size_t i = 0; i < yf.size(); ++i)
          ASSERT_NEAR(yf[i], yr[i], 2e-6f + 2e-6f * std::abs(yr[i]));
        softmax_backward(yr.data(), g.data(), df.data(), rows, n, log, 2);
        softmax_backward_reference(yr.data(), g.data(), dr.data(), rows, n, 1, log);
        for (size_t i = 0; i < df.size(); ++i)
          ASSERT_NEAR(df[i], dr[i], 1e-5f + 1e-5f * std::abs(dr[i]));
      }
}

TEST(SoftmaxKernel, MaskedEntriesGiveZero) {
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> x = {1, ninf, 2, ninf, 0, 0, 0, 0, 0, ninf}, y(10);
  softmax_forward(x.data(), y.data(), 1, 10, false, 1);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[9], 0.0f);
  float s = 0;
  for (float v : y) s += v;
  EXPECT_NEAR(s, 1.0f, 1e-6f);
}

}  // namespace
}  // namespace attend::kernels
