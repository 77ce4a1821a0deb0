// LayerNorm, BatchNorm1d (train/eval semantics, running statistics) and Dropout.
#include <gtest/gtest.h>

#include <cmath>

#include "attend/nn/batch_norm.h"
#include "attend/nn/dropout.h"
#include "attend/nn/layer_norm.h"
#include "attend/ops/ops.h"
#include "support/gradcheck.h"

namespace attend::nn {
namespace {

using attend::testing::all_close;
using attend::testing::gradcheck;
using attend::testing::random_leaf;

void set(const Tensor& p, const std::vector<double>& v) {
  p.copy_from(Tensor::from_doubles(v, p.shape(), DType::F64, p.context()));
}

Tensor f64(const std::vector<double>& v, const Shape& s, Context& ctx) {
  return Tensor::from_doubles(v, s, DType::F64, ctx);
}

TEST(LayerNorm, DefaultsHandValuesAndGradcheck) {
  Context ctx({.threads = 1, .seed = 1});
  LayerNorm m(4, ctx, DType::F64);
  EXPECT_EQ(m.weight().to_vector<double>(), std::vector<double>(4, 1.0));
  EXPECT_EQ(m.bias().to_vector<double>(), std::vector<double>(4, 0.0));
  EXPECT_EQ(m.named_parameters()[1].first, "bias");
  set(m.weight(), {1, 2, 1, 1});
  set(m.bias(), {0, 0, 1, 0});
  Tensor y = m.forward(f64({1, 2, 3, 4}, {1, 4}, ctx));
  const double s = std::sqrt(1.25 + 1e-5);
  EXPECT_TRUE(
      all_close(y, f64({-1.5 / s, -1.0 / s, 0.5 / s + 1, 1.5 / s}, {1, 4}, ctx), 1e-12, 1e-12));
  Tensor x = random_leaf({2, 3, 4}, ctx);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return m.forward(in[0]); },
                        {x, m.weight(), m.bias()}));
  try {
    m.forward(Tensor::zeros({2, 5}, DType::F64, ctx));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[LayerNorm] expected input (..., 4), got (2, 5)");
  }
}

TEST(BatchNorm1d, DefaultsAndNames) {
  Context ctx;
  BatchNorm1d m(3, ctx);
  auto sd = m.state_dict();
  ASSERT_EQ(sd.size(), 5u);
  EXPECT_EQ(sd.at("weight").to_vector<float>(), std::vector<float>(3, 1.f));
  EXPECT_EQ(sd.at("bias").to_vector<float>(), std::vector<float>(3, 0.f));
  EXPECT_EQ(sd.at("running_mean").to_vector<float>(), std::vector<float>(3, 0.f));
  EXPECT_EQ(sd.at("running_var").to_vector<float>(), std::vector<float>(3, 1.f));
  EXPECT_EQ(sd.at("num_batches_tracked").dtype(), DType::I64);
  EXPECT_EQ(sd.at("num_batches_tracked").ndim(), 0);
  EXPECT_EQ(sd.at("num_batches_tracked").item(), 0.0);
  EXPECT_EQ(m.named_parameters().size(), 2u);
  auto buffers = m.named_buffers();
  ASSERT_EQ(buffers.size(), 3u);
  EXPECT_EQ(buffers[0].first, "running_mean");
  EXPECT_EQ(buffers[2].first, "num_batches_tracked");
}

TEST(BatchNorm1d, TrainAndEvalSemantics) {
  Context ctx;
  BatchNorm1d m(2, ctx, DType::F64);
  set(m.weight(), {2, 1});
  set(m.bias(), {0, 1});
  // channel 0: 1, 3, 5 (mean 3, biased var 8/3, unbiased 4); channel 1: 2, 6, 10 (6, 32/3, 16)
  Tensor x = f64({1, 2, 3, 6, 5, 10}, {3, 2}, ctx);
  Tensor y = m.forward(x);
  const double s0 = std::sqrt(8.0 / 3 + 1e-5), s1 = std::sqrt(32.0 / 3 + 1e-5);
  EXPECT_TRUE(all_close(y, f64({-4 / s0, -4 / s1 + 1, 0, 1, 4 / s0, 4 / s1 + 1}, {3, 2}, ctx),
                        1e-12, 1e-12));
  EXPECT_TRUE(all_close(m.running_mean(), f64({0.3, 0.6}, {2}, ctx), 1e-14, 1e-14));
  EXPECT_TRUE(all_close(m.running_var(), f64({1.3, 2.5}, {2}, ctx), 1e-14, 1e-14));
  EXPECT_EQ(m.num_batches_tracked().item(), 1.0);
  m.forward(x);
  EXPECT_TRUE(all_close(m.running_mean(), f64({0.57, 1.14}, {2}, ctx), 1e-14, 1e-14));
  EXPECT_TRUE(all_close(m.running_var(), f64({1.57, 3.85}, {2}, ctx), 1e-14, 1e-14));
  EXPECT_EQ(m.num_batches_tracked().item(), 2.0);
  // eval: running statistics, buffers untouched
  m.eval();
  Tensor ye = m.forward(x);
  const double e0 = std::sqrt(1.57 + 1e-5), e1 = std::sqrt(3.85 + 1e-5);
  EXPECT_TRUE(all_close(ye,
                        f64({2 * (1 - 0.57) / e0, (2 - 1.14) / e1 + 1, 2 * (3 - 0.57) / e0,
                             (6 - 1.14) / e1 + 1, 2 * (5 - 0.57) / e0, (10 - 1.14) / e1 + 1},
                            {3, 2}, ctx),
                        1e-12, 1e-12));
  EXPECT_EQ(m.num_batches_tracked().item(), 2.0);
  EXPECT_TRUE(all_close(m.running_mean(), f64({0.57, 1.14}, {2}, ctx), 1e-14, 1e-14));
}

TEST(BatchNorm1d, ThreeDimInputMatchesFlattened) {
  Context ctx({.threads = 1, .seed = 3});
  BatchNorm1d a(3, ctx, DType::F64), b(3, ctx, DType::F64);
  Tensor x = Tensor::uniform({2, 3, 4}, -1, 1, DType::F64, ctx);
  Tensor y3 = a.forward(x);  // (N, C, L)
  Tensor x2 = reshape(permute(x, {0, 2, 1}), {8, 3});
  Tensor y2 = b.forward(x2);
  EXPECT_TRUE(
      all_close(reshape(permute(y3, {0, 2, 1}), {8, 3}).contiguous_data(), y2, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(a.running_var(), b.running_var(), 1e-14, 1e-12));
  Tensor xl = random_leaf({2, 3, 4}, ctx);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return a.forward(in[0]); },
                        {xl, a.weight(), a.bias()}));
  a.eval();
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return a.forward(in[0]); },
                        {xl, a.weight(), a.bias()}));
}

TEST(BatchNorm1d, Errors) {
  Context ctx;
  BatchNorm1d m(4, ctx);
  try {
    m.forward(Tensor::zeros({2, 3, 5}, DType::F32, ctx));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[BatchNorm1d] expected input (N, 4) or (N, 4, L), got (2, 3, 5)");
  }
  EXPECT_THROW(m.forward(Tensor::zeros({1, 4}, DType::F32, ctx)), Error);
  m.eval();
  EXPECT_NO_THROW(m.forward(Tensor::zeros({1, 4}, DType::F32, ctx)));
}

TEST(Dropout, TrainEvalAndGradient) {
  Context ctx({.seed = 12});
  Dropout d(0.5);
  Tensor x = Tensor::ones({100, 100}, DType::F64, ctx);
  x.set_requires_grad(true);
  Tensor y = d.forward(x);
  std::vector<double> v = y.to_vector<double>();
  int zeros = 0;
  for (double e : v) {
    if (e == 0.0)
      ++zeros;
    else
      EXPECT_EQ(e, 2.0);
  }
  EXPECT_NEAR(zeros / 10000.0, 0.5, 0.03);
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), v);  // d y / d x = mask / (1 − p)
  d.eval();
  EXPECT_EQ(d.forward(x).to_vector<double>(), x.to_vector<double>());
  Dropout none(0.0);
  EXPECT_EQ(none.forward(x).to_vector<double>(), x.to_vector<double>());
  try {
    Dropout bad(1.5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[Dropout] probability has to be between 0 and 1, got 1.5");
  }
}

}  // namespace
}  // namespace attend::nn
