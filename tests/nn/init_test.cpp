// Initialisation distributions (bounds, means, variances over large draws) and module defaults.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "attend/nn/conv1d.h"
#include "attend/nn/embedding.h"
#include "attend/nn/init.h"
#include "attend/nn/linear.h"
#include "attend/nn/lstm.h"

namespace attend::nn {
namespace {

struct Stats {
  double mean = 0, var = 0, min = 0, max = 0;
};

Stats stats_of(const Tensor& t) {
  std::vector<double> v = t.to_vector<double>();
  Stats s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  for (double x : v) s.mean += x;
  s.mean /= v.size();
  for (double x : v) s.var += (x - s.mean) * (x - s.mean);
  s.var /= v.size();
  return s;
}

// Uniform on ±b: inside the bounds, reaching close to them, mean 0 and variance b²/3.
void expect_uniform(const Tensor& t, double b) {
  Stats s = stats_of(t);
  EXPECT_GE(s.min, -b);
  EXPECT_LE(s.max, b);
  EXPECT_LT(s.min, -0.95 * b);
  EXPECT_GT(s.max, 0.95 * b);
  const double n = static_cast<double>(t.numel());
  EXPECT_NEAR(s.mean, 0.0, 5.0 * b / std::sqrt(3.0 * n));
  EXPECT_NEAR(s.var, b * b / 3.0, 0.06 * b * b / 3.0);
}

TEST(Init, FanInFanOut) {
  Context ctx;
  auto [i2, o2] = init::fan_in_and_fan_out(Tensor::empty({5, 3}, DType::F32, ctx));
  EXPECT_EQ(i2, 3);
  EXPECT_EQ(o2, 5);
  auto [i3, o3] = init::fan_in_and_fan_out(Tensor::empty({8, 4, 3}, DType::F32, ctx));
  EXPECT_EQ(i3, 12);
  EXPECT_EQ(o3, 24);
  EXPECT_THROW(init::fan_in_and_fan_out(Tensor::empty({5}, DType::F32, ctx)), Error);
}

TEST(Init, Gains) {
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::ReLU), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU, std::sqrt(5.0)),
                   std::sqrt(1.0 / 3.0));
}

TEST(Init, KaimingUniformSqrt5IsOneOverSqrtFanIn) {
  Context ctx;
  Tensor w = Tensor::empty({200, 100}, DType::F32, ctx);
  init::kaiming_uniform_(w, std::sqrt(5.0));
  expect_uniform(w, 0.1);
  Tensor k = Tensor::empty({64, 16, 4}, DType::F64, ctx);
  init::kaiming_uniform_(k);  // a = 0: gain √2, b = √2·√(3/64)
  expect_uniform(k, std::sqrt(2.0) * std::sqrt(3.0 / 64.0));
}

TEST(Init, KaimingNormalAndXavier) {
  Context ctx;
  Tensor w = Tensor::empty({300, 200}, DType::F32, ctx);
  init::xavier_uniform_(w);
  expect_uniform(w, std::sqrt(6.0 / 500.0));
  init::kaiming_normal_(w, 0.0, init::FanMode::FanIn, init::Nonlinearity::LeakyReLU);
  Stats s = stats_of(w);
  EXPECT_NEAR(s.mean, 0.0, 0.005);
  EXPECT_NEAR(s.var, 2.0 / 200.0, 0.04 * 2.0 / 200.0);
  init::xavier_normal_(w, 2.0);
  s = stats_of(w);
  EXPECT_NEAR(s.var, 4.0 * 2.0 / 500.0, 0.04 * 8.0 / 500.0);
}

TEST(Init, NormalConstantZeros) {
  Context ctx;
  Tensor w = Tensor::empty({100, 200}, DType::F64, ctx);
  init::normal_(w, 2.0, 3.0);
  Stats s = stats_of(w);
  EXPECT_NEAR(s.mean, 2.0, 0.1);
  EXPECT_NEAR(std::sqrt(s.var), 3.0, 0.06);
  init::constant_(w, 0.25);
  EXPECT_EQ(stats_of(w).min, 0.25);
  EXPECT_EQ(stats_of(w).max, 0.25);
  init::zeros_(w);
  EXPECT_EQ(stats_of(w).max, 0.0);
  // A strided view is filled in place, the rest untouched.
  Tensor col = w.as_strided({100}, {200}, 3);
  init::uniform_(col, 1.0, 2.0);
  EXPECT_GE(stats_of(col).min, 1.0);
  EXPECT_EQ(w.at({0, 2}), 0.0);
}

TEST(Init, DrawsComeFromTheContextGenerator) {
  Context a({.seed = 7}), b({.seed = 7}), c({.seed = 8});
  Linear la(10, 10, a), lb(10, 10, b), lc(10, 10, c);
  EXPECT_EQ(la.weight().to_vector<float>(), lb.weight().to_vector<float>());
  EXPECT_NE(la.weight().to_vector<float>(), lc.weight().to_vector<float>());
  EXPECT_NE(la.weight().to_vector<float>()[0], la.bias().to_vector<float>()[0]);
}

TEST(Init, ModuleDefaults) {
  Context ctx;
  Linear lin(400, 300, ctx);
  expect_uniform(lin.weight(), 0.05);
  expect_uniform(lin.bias(), 0.05);
  Conv1d conv(64, 128, 3, {.padding = 1, .groups = 2}, ctx);
  EXPECT_EQ(conv.weight().shape(), Shape({128, 32, 3}));
  expect_uniform(conv.weight(), 1.0 / std::sqrt(96.0));
  Embedding emb(200, 100, ctx);
  Stats s = stats_of(emb.weight());
  EXPECT_NEAR(s.mean, 0.0, 0.05);
  EXPECT_NEAR(s.var, 1.0, 0.05);
  LSTM lstm(7, 64, {.num_layers = 2, .batch_first = true}, ctx);
  for (auto& [name, p] : lstm.named_parameters()) {
    SCOPED_TRACE(name);
    expect_uniform(p, 0.125);
  }
}

}  // namespace
}  // namespace attend::nn
