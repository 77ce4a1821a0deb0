// Regression losses: hand-computed values, the MAE subgradient, errors (gradient checks:
// tests/ops/op_table_test.cpp).
#include "attend/ops/loss.h"

#include <gtest/gtest.h>

#include "support/gradcheck.h"

namespace attend {
namespace {

TEST(Loss, HandComputed) {
  Tensor p = Tensor::from_doubles({1, 2, 3, 4}, {2, 2}, DType::F32);
  Tensor t = Tensor::from_doubles({1, 0, 5, 3.5}, {2, 2}, DType::F32);
  // d = 0, 2, -2, 0.5
  EXPECT_NEAR(mse_loss(p, t).item(), (0 + 4 + 4 + 0.25) / 4, 1e-6);
  EXPECT_NEAR(mae_loss(p, t).item(), (0 + 2 + 2 + 0.5) / 4, 1e-6);
  EXPECT_NEAR(huber_loss(p, t).item(), (0 + 1.5 + 1.5 + 0.125) / 4, 1e-6);
  EXPECT_NEAR(huber_loss(p, t, 3.0).item(), (0 + 2 + 2 + 0.125) / 4, 1e-6);
  EXPECT_EQ(mse_loss(p, t).ndim(), 0);
}

TEST(Loss, MaeSubgradientIsZeroAtZero) {
  Tensor p = Tensor::from_doubles({1, 2, 3}, {3}, DType::F64);
  Tensor t = Tensor::from_doubles({1, 0, 5}, {3}, DType::F64);
  p.set_requires_grad(true);
  mae_loss(p, t).backward();
  EXPECT_EQ(p.grad().to_vector<double>(), (std::vector<double>{0, 1.0 / 3, -1.0 / 3}));
}

TEST(Loss, Errors) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  try {
    mse_loss(a, b);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("[mse_loss] pred shape (2, 3) and target shape (3, 2) differ"),
        std::string::npos)
        << e.what();
  }
  EXPECT_THROW(mae_loss(a, Tensor::zeros({2, 3}, DType::F64)), Error);
  EXPECT_THROW(huber_loss(a, a, 0.0), Error);
}

}  // namespace
}  // namespace attend
