// Fast elementwise kernels vs their reference twins, over sizes with SIMD tails.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "attend/kernels/elementwise.h"

namespace attend::kernels {
namespace {

std::vector<float> randv(int64_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float atol, float rtol,
                  const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], atol + rtol * std::abs(b[i])) << what << " at " << i;
}

const int64_t kSizes[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 100, 1000, 40001};

TEST(ElementwiseKernel, BinaryLayoutsMatchReference) {
  for (Binary op : {Binary::Add, Binary::Sub, Binary::Mul, Binary::Div}) {
    for (int64_t n : kSizes) {
      auto a = randv(n, 0.5f, 2.0f, 1), b = randv(n, 0.5f, 2.0f, 2);
      std::vector<float> f(n), r(n);
      binary_same(op, a.data(), b.data(), f.data(), n, 2);
      binary_same_reference(op, a.data(), b.data(), r.data(), n);
      expect_close(f, r, 0, 1e-6f, "same");
      for (bool first : {false, true}) {
        binary_scalar(op, a.data(), 1.7f, f.data(), n, first, 2);
        binary_scalar_reference(op, a.data(), 1.7f, r.data(), n, first);
        expect_close(f, r, 0, 1e-6f, "scalar");
      }
    }
    for (int64_t rows : {1, 3, 70}) {
      for (int64_t cols : {1, 5, 16, 19, 600}) {
        auto a = randv(rows * cols, 0.5f, 2.0f, 3);
        auto vi = randv(cols, 0.5f, 2.0f, 4), vo = randv(rows, 0.5f, 2.0f, 5);
        std::vector<float> f(rows * cols), r(rows * cols);
        for (bool first : {false, true}) {
          binary_inner(op, a.data(), vi.data(), f.data(), rows, cols, first, 2);
          binary_inner_reference(op, a.data(), vi.data(), r.data(), rows, cols, first);
          expect_close(f, r, 0, 1e-6f, "inner");
          binary_outer(op, a.data(), vo.data(), f.data(), rows, cols, first, 2);
          binary_outer_reference(op, a.data(), vo.data(), r.data(), rows, cols, first);
          expect_close(f, r, 0, 1e-6f, "outer");
        }
      }
    }
  }
}

struct UnaryCase {
  Unary op;
  float param, lo, hi;
};

TEST(ElementwiseKernel, UnaryAndBackwardMatchReference) {
  const UnaryCase cases[] = {
      {Unary::Neg, 0, -3, 3},       {Unary::Exp, 0, -20, 20},     {Unary::Log, 0, 0.01f, 50},
      {Unary::Sqrt, 0, 0, 50},      {Unary::Abs, 0, -3, 3},       {Unary::Tanh, 0, -8, 8},
      {Unary::Sigmoid, 0, -30, 30}, {Unary::Relu, 0, -3, 3},      {Unary::Gelu, 0, -8, 8},
      {Unary::Elu, 0.7f, -6, 3},    {Unary::Pow, 2.0f, -3, 3},    {Unary::Pow, 0.5f, 0.1f, 4},
      {Unary::Pow, 3.0f, -2, 2},    {Unary::Pow, -1.0f, 0.5f, 3}, {Unary::Pow, 1.5f, 0.1f, 3},
  };
  for (const auto& c : cases) {
    for (int64_t n : kSizes) {
      auto x = randv(n, c.lo, c.hi, 7), g = randv(n, -1, 1, 8);
      std::vector<float> f(n), r(n), df(n), dr(n);
      unary(c.op, c.param, x.data(), f.data(), n, 2);
      unary_reference(c.op, c.param, x.data(), r.data(), n);
      expect_close(f, r, 1e-6f, 2e-6f, "unary");
      unary_backward(c.op, c.param, x.data(), r.data(), g.data(), df.data(), n, 2);
      unary_backward_reference(c.op, c.param, x.data(), r.data(), g.data(), dr.data(), n);
      expect_close(df, dr, 1e-6f, 2e-6f, "unary_backward");
    }
  }
}

TEST(ElementwiseKernel, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, -1.0f, 200.0f, -200.0f}, y(4);
  unary(Unary::Log, 0, x.data(), y.data(), 4, 1);
  EXPECT_EQ(y[0], -inf);
  EXPECT_TRUE(std::isnan(y[1]));
  unary(Unary::Exp, 0, x.data(), y.data(), 4, 1);
  EXPECT_EQ(y[2], inf);
  EXPECT_EQ(y[3], 0.0f);
  unary(Unary::Sigmoid, 0, x.data(), y.data(), 4, 1);
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_NEAR(y[3], 0.0f, 1e-30f);
}

}  // namespace
}  // namespace attend::kernels
