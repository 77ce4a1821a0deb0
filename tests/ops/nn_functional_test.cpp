// softmax, log_softmax, layer_norm, batch_norm, dropout: values, gradient checks, errors.
#include "attend/ops/nn_functional.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attend/ops/elementwise.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"
#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::random_leaf;
using testing::vals;

TEST(NnFunctional, SoftmaxValues) {
  Tensor x = vals({1, 2, 3, 1000, 1000, 1000}, {2, 3});
  EXPECT_TRUE(
      all_close(softmax(x, -1),
                vals({0.09003057, 0.24472847, 0.66524096, 1.0 / 3, 1.0 / 3, 1.0 / 3}, {2, 3})));
  EXPECT_TRUE(all_close(log_softmax(x, 1), vals({-2.40760596, -1.40760596, -0.40760596, -1.09861229,
                                                 -1.09861229, -1.09861229},
                                                {2, 3})));
  // over dim 0 (strided path): columns (1, 1000) etc.
  Tensor s0 = softmax(x, 0);
  EXPECT_NEAR(s0.at({0, 0}), 0.0, 1e-30);
  EXPECT_NEAR(s0.at({1, 2}), 1.0, 1e-6);
}

TEST(NnFunctional, SoftmaxFloatMatchesDouble) {
  Context ctx;
  Tensor x = Tensor::uniform({3, 5, 37}, -5, 5, DType::F64, ctx);
  Tensor xf = x.copy_as(DType::F32);
  for (int d : {0, 1, 2}) {
    EXPECT_TRUE(all_close(softmax(xf, d), softmax(x, d), 1e-6));
    EXPECT_TRUE(all_close(log_softmax(xf, d), log_softmax(x, d), 1e-5));
  }
}

TEST(NnFunctional, LayerNormValues) {
  Tensor x = vals({1, 2, 3, 4, -1, 0, 1, 6}, {2, 4});
  Tensor w = vals({1, 2, 1, 1}, {4}), b = vals({0, 0, 1, 0}, {4});
  // row 0: mean 2.5, var 1.25
  const double r0 = 1.0 / std::sqrt(1.25 + 1e-5);
  Tensor y = layer_norm(x, w, b, 1e-5);
  EXPECT_NEAR(y.at({0, 0}), -1.5 * r0, 1e-5);
  EXPECT_NEAR(y.at({0, 1}), 2 * -0.5 * r0, 1e-5);
  EXPECT_NEAR(y.at({0, 2}), 0.5 * r0 + 1, 1e-5);
  Tensor yn = layer_norm(x, Tensor(), Tensor());
  EXPECT_TRUE(all_close(mean(yn, {1}), Tensor::zeros({2}), 1e-6));
  EXPECT_TRUE(all_close(var(yn, {1}, false), Tensor::full({2}, 1.0), 1e-4));
}

TEST(NnFunctional, LayerNormFloatMatchesDoubleAndGradcheck) {
  Context ctx;
  Tensor x = Tensor::uniform({6, 37}, -3, 3, DType::F64, ctx);
  Tensor w = Tensor::uniform({37}, 0.5, 1.5, DType::F64, ctx),
         b = Tensor::uniform({37}, -1, 1, DType::F64, ctx);
  EXPECT_TRUE(
      all_close(layer_norm(x.copy_as(DType::F32), w.copy_as(DType::F32), b.copy_as(DType::F32)),
                layer_norm(x, w, b), 1e-5));
  Tensor xl = random_leaf({2, 3, 5}, ctx, -2, 2), wl = random_leaf({5}, ctx),
         bl = random_leaf({5}, ctx);
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); }, {xl, wl, bl}));
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return layer_norm(in[0], Tensor(), Tensor()); }, {xl}));
}

// glu(x, r) = a ⊙ σ(b) + r for x = [a | b]: the composite ops' values (float32 SIMD path, tails
// past the vector width), float64 gradients with and without the residual, and the shape errors.
TEST(NnFunctional, GluMatchesCompositeAndGradcheck) {
  Context ctx;
  Tensor x = Tensor::uniform({3, 4, 2 * 37}, -4, 4, DType::F64, ctx);
  Tensor r = Tensor::uniform({3, 4, 37}, -1, 1, DType::F64, ctx);
  Tensor a = slice(x, 2, 0, 37), b = slice(x, 2, 37, 74);
  Tensor want = add(mul(a, sigmoid(b)), r);
  EXPECT_TRUE(all_close(glu(x, r), want, 1e-12));
  EXPECT_TRUE(all_close(glu(x.copy_as(DType::F32), r.copy_as(DType::F32)), want, 1e-5));
  EXPECT_TRUE(all_close(glu(x.copy_as(DType::F32)), mul(a, sigmoid(b)), 1e-5));
  // float32 backward against float64 through the composite
  Tensor x32 = x.copy_as(DType::F32), x64 = x.detach();
  x32.set_requires_grad(true);
  x64.set_requires_grad(true);
  Tensor g = Tensor::uniform({3, 4, 37}, -1, 1, DType::F64, ctx);
  glu(x32).backward(g.copy_as(DType::F32));
  mul(slice(x64, 2, 0, 37), sigmoid(slice(x64, 2, 37, 74))).backward(g);
  EXPECT_TRUE(all_close(x32.grad(), x64.grad(), 1e-5));
  Tensor xl = random_leaf({2, 3, 10}, ctx, -2, 2), rl = random_leaf({2, 3, 5}, ctx);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return glu(in[0], in[1]); }, {xl, rl}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return glu(in[0]); }, {xl}));
  testing::expect_error(
      [&] {
        glu(Tensor::zeros({2, 5}, DType::F64, ctx));
      },
      "even last dimension");
  testing::expect_error(
      [&] {
        glu(xl, Tensor::zeros({2, 3, 4}, DType::F64, ctx));
      },
      "does not match the output shape (2, 3, 5)");
}

TEST(NnFunctional, BatchNormTrainingUpdatesRunningStats) {
  // x: (N=2, C=2, L=2); channel 0 values 1, 2, 5, 6 (mean 3.5, biased var 4.25, unbiased 17/3)
  Tensor x = vals({1, 2, 10, 10, 5, 6, 20, 30}, {2, 2, 2});
  Tensor rm = Tensor::zeros({2}), rv = Tensor::ones({2});
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5);
  EXPECT_NEAR(rm.at({0}), 0.35, 1e-6);
  EXPECT_NEAR(rv.at({0}), 0.9 + 0.1 * 17.0 / 3.0, 1e-5);
  EXPECT_NEAR(y.at({0, 0, 0}), (1 - 3.5) / std::sqrt(4.25 + 1e-5), 1e-5);
  // eval uses the running statistics
  Tensor ye = batch_norm(x, rm, rv, Tensor(), Tensor(), false, 0.1, 1e-5);
  EXPECT_NEAR(ye.at({0, 0, 0}), (1 - 0.35) / std::sqrt(rv.at({0}) + 1e-5), 1e-5);
  EXPECT_NEAR(rm.at({0}), 0.35, 1e-6);  // unchanged in eval
  // 2-d input (N, C)
  Tensor x2 = vals({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor y2 = batch_norm(x2, Tensor(), Tensor(), vals({2, 1}, {2}), vals({0, 1}, {2}), true);
  EXPECT_NEAR(y2.at({0, 0}), 2 * (1 - 3) / std::sqrt(8.0 / 3 + 1e-5), 1e-5);
  EXPECT_NEAR(y2.at({1, 1}), 1.0, 1e-6);
}

TEST(NnFunctional, Dropout) {
  Context ctx(ContextOptions{.threads = 1, .seed = 7});
  Tensor x = Tensor::ones({100, 100}, DType::F32, ctx);
  EXPECT_TRUE(dropout(x, 0.5, false).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0, true).is_same(x));
  Tensor y = dropout(x, 0.25, true);
  std::vector<float> v = y.to_vector<float>();
  int64_t kept = 0;
  for (float e : v) {
    ASSERT_TRUE(e == 0.0f || std::abs(e - 1.0f / 0.75f) < 1e-6f);
    kept += e != 0.0f;
  }
  EXPECT_NEAR(kept / 10000.0, 0.75, 0.03);
  EXPECT_TRUE(all_close(dropout(x, 1.0, true), Tensor::zeros({100, 100}, DType::F32, ctx)));
  // the gradient uses the same mask
  Tensor l = random_leaf({50}, ctx);
  Tensor d = dropout(l, 0.5, true);
  d.backward(Tensor::ones({50}, DType::F64, ctx));
  std::vector<double> dv = d.to_vector<double>(), lv = l.to_vector<double>(),
                      gv = l.grad().to_vector<double>();
  for (int i = 0; i < 50; ++i) EXPECT_NEAR(dv[i], lv[i] * gv[i], 1e-12);
  // same seed, same mask
  Context c1(ContextOptions{.threads = 1, .seed = 3}), c2(ContextOptions{.threads = 2, .seed = 3});
  EXPECT_TRUE(all_close(dropout(Tensor::ones({999}, DType::F32, c1), 0.3, true),
                        dropout(Tensor::ones({999}, DType::F32, c2), 0.3, true)));
}

TEST(NnFunctional, Errors) {
  Tensor x = Tensor::zeros({2, 4});
  EXPECT_THROW(layer_norm(x, Tensor::ones({3}), Tensor()), Error);
  EXPECT_THROW(softmax(x, 2), Error);
  EXPECT_THROW(dropout(x, 1.5, true), Error);
  EXPECT_THROW(batch_norm(Tensor::zeros({2}), Tensor(), Tensor(), Tensor(), Tensor(), true), Error);
  try {
    batch_norm(Tensor::zeros({1, 4}), Tensor(), Tensor(), Tensor(), Tensor(), true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 1 value per channel"), std::string::npos);
  }
  try {
    layer_norm(x, Tensor::ones({3}), Tensor());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[layer_norm] weight of shape (3)"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace attend
