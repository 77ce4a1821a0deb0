// Fast softmax kernels vs their reference twins, over row lengths with SIMD tails.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "attend/kernels/attention_rows.h"
#include "attend/kernels/softmax.h"
#include "hwy/targets.h"

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

// The softmax's exp (exp-inl.h's ExpNonPositive), through exp_minus_rows with lse = 0, which
// stores exp(s) for every score s: relative error ≤ 3e-7 against double-precision exp over
// [−87.3, 0], exactly 1 at 0, and 0 for −inf and below the smallest normal result — on every SIMD
// target this CPU runs.
TEST(SoftmaxKernel, ExpOfNonPositiveScores) {
  std::vector<float> x;
  for (float v = 0.0f; v > -87.3f; v -= 0.0137f) x.push_back(v);
  for (float v : {-1e-7f, -0.3465735f, -0.3465736f, -87.3f, -87.33f}) x.push_back(v);
  const size_t finite = x.size();
  for (float v : {-87.34f, -88.0f, -100.0f, -1e30f, -std::numeric_limits<float>::infinity()})
    x.push_back(v);
  const int64_t cols = static_cast<int64_t>(x.size());
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    SCOPED_TRACE(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    std::vector<float> y = x;
    y.resize(static_cast<size_t>(detail::padded_cols(cols)));  // the row is read in whole vectors
    const float lse = 0.0f;
    detail::exp_minus_rows(y.data(), 1, cols, detail::padded_cols(cols), &lse);
    EXPECT_EQ(y[0], 1.0f);
    for (size_t i = 0; i < finite; ++i) {
      const double want = std::exp(static_cast<double>(x[i]));
      ASSERT_LE(std::abs(y[i] - want), 3e-7 * want) << "exp(" << x[i] << ") = " << y[i];
    }
    for (size_t i = finite; i < x.size(); ++i) EXPECT_EQ(y[i], 0.0f) << "exp(" << x[i] << ")";
  }
  hwy::SetSupportedTargetsForTest(0);
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
