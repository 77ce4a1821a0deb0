// Reductions: hand-computed values, layouts, where max/min send the gradient, errors (gradient
// checks: tests/ops/op_table_test.cpp).
#include "attend/ops/reduce.h"

#include <gtest/gtest.h>

#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;
using testing::vals;

TEST(Reduce, HandComputed) {
  Tensor x = vals({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(all_close(sum(x), Tensor::scalar(21)));
  EXPECT_TRUE(all_close(sum(x, {0}), vals({5, 7, 9}, {3})));
  EXPECT_TRUE(all_close(sum(x, {-1}, true), vals({6, 15}, {2, 1})));
  EXPECT_TRUE(all_close(mean(x, {1}), vals({2, 5}, {2})));
  EXPECT_TRUE(all_close(var(x, {1}), vals({1, 1}, {2})));
  EXPECT_TRUE(all_close(var(x, {1}, false), vals({2.0 / 3, 2.0 / 3}, {2})));
  EXPECT_TRUE(all_close(var(x, {0, 1}), Tensor::scalar(3.5)));
  Tensor y = vals({3, 7, 7, 1, -2, 9}, {2, 3});
  EXPECT_TRUE(all_close(max(y, 1), vals({7, 9}, {2})));
  EXPECT_TRUE(all_close(min(y, 0, true), vals({1, -2, 7}, {1, 3})));
  EXPECT_EQ(argmax(y, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(all_close(cumsum(x, 1), vals({1, 3, 6, 4, 9, 15}, {2, 3})));
  EXPECT_TRUE(all_close(cumsum(x, 0), vals({1, 2, 3, 5, 7, 9}, {2, 3})));
}

TEST(Reduce, LayoutsMatchFloat64) {
  Context ctx;
  Tensor x = Tensor::uniform({3, 4, 5, 6}, -1, 1, DType::F64, ctx);
  Tensor xf = x.copy_as(DType::F32);
  const std::vector<std::vector<int>> dims = {{},     {0},    {1},    {3},         {1, 2},
                                              {0, 3}, {0, 2}, {1, 3}, {0, 1, 2, 3}};
  for (const auto& d : dims) {
    EXPECT_TRUE(all_close(sum(xf, d), sum(x, d), 1e-5));
    EXPECT_TRUE(all_close(mean(xf, d, true), mean(x, d, true), 1e-5));
  }
}

TEST(Reduce, MaxGradGoesToFirstExtremum) {
  Tensor x = vals({1, 5, 5, 2}, {4}, DType::F64);
  x.set_requires_grad(true);
  max(x, 0).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 0}));
  Tensor z = vals({3, 1, 1}, {3}, DType::F64);
  z.set_requires_grad(true);
  min(z, 0).backward();
  EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{0, 1, 0}));
}

TEST(Reduce, Errors) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_THROW(sum(x, {2}), Error);
  EXPECT_THROW(sum(x, {1, -1}), Error);
  EXPECT_THROW(max(Tensor::zeros({2, 0}), 1), Error);
  EXPECT_THROW(cumsum(x, 5), Error);
  try {
    mean(x, {3});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[mean]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace attend
