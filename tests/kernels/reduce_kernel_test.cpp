// Fast sum kernel vs its reference twin; plain reduction loops on hand-computed values.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "attend/kernels/reduce.h"

namespace attend::kernels {
namespace {

TEST(ReduceKernel, SumMatchesReference) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t outer : {1, 2, 5})
    for (int64_t n : {1, 3, 17, 64, 129, 5000})
      for (int64_t inner : {1, 3, 16, 33, 300}) {
        std::vector<float> x(outer * n * inner), f(outer * inner), r(outer * inner);
        for (auto& v : x) v = u(rng);
        sum_reduce(x.data(), f.data(), outer, n, inner, 2);
        sum_reduce_reference(x.data(), r.data(), outer, n, inner);
        for (size_t i = 0; i < f.size(); ++i)
          ASSERT_NEAR(f[i], r[i], 1e-5f * n) << outer << " " << n << " " << inner;
      }
}

TEST(ReduceKernel, ExtremumCumsumBroadcast) {
  // x: (1, 3, 2)
  const double x[] = {1, 5, 3, 5, 3, -1};
  double out[2];
  int64_t idx[2];
  extremum_reduce(x, out, idx, 1, 3, 2, false);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(idx[0], 1);
  EXPECT_EQ(out[1], 5);
  EXPECT_EQ(idx[1], 0);  // first maximum
  extremum_reduce(x, out, idx, 1, 3, 2, true);
  EXPECT_EQ(out[1], -1);
  EXPECT_EQ(idx[1], 2);
  double c[6];
  cumsum(x, c, 1, 3, 2, false);
  EXPECT_EQ(c[4], 7);
  EXPECT_EQ(c[5], 9);
  cumsum(x, c, 1, 3, 2, true);
  EXPECT_EQ(c[0], 7);
  EXPECT_EQ(c[1], 9);
  const double g[] = {1, 2};
  double b[6];
  broadcast_middle(g, b, 1, 3, 2);
  EXPECT_EQ(b[4], 1);
  EXPECT_EQ(b[5], 2);
}

}  // namespace
}  // namespace attend::kernels
