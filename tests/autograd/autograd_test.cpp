// The tape itself, exercised through elementwise and reduction ops.
#include <gtest/gtest.h>

#include "attend/autograd/node.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduce.h"
#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;

Tensor leaf(const std::vector<double>& v, const Shape& s) {
  Tensor t = Tensor::from_doubles(v, s, DType::F64);
  t.set_requires_grad(true);
  return t;
}

TEST(Autograd, TensorUsedTwiceAccumulates) {
  Tensor x = leaf({1, 2, 3}, {3});
  // y = Σ (x·x + x) -> dy/dx = 2x + 1
  sum(add(mul(x, x), x)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 5, 7}));
}

// Accumulation reuses the engine's own buffer only when nothing else sees it: gradients that
// alias each other (add passes g to both inputs), a grad the caller holds, and float32 (the SIMD
// path) must all come out right.
TEST(Autograd, AccumulationNeverWritesIntoSharedGradients) {
  for (DType dt : {DType::F64, DType::F32}) {
    Tensor x = Tensor::from_doubles({1, 2, 3, 4, 5}, {5}, dt);
    x.set_requires_grad(true);
    // y = x + x (the same g twice), z = y·y + y + y: dz/dx = 2·(2y + 2) = 8x + 4
    Tensor y = add(x, x);
    sum(add(add(mul(y, y), y), y)).backward();
    EXPECT_TRUE(all_close(x.grad(), Tensor::from_doubles({12, 20, 28, 36, 44}, {5}, dt), 1e-6));
    Tensor held =
        x.grad();  // the caller keeps the first grad: a second backward must not change it
    sum(add(x, x)).backward();
    EXPECT_TRUE(all_close(held, Tensor::from_doubles({12, 20, 28, 36, 44}, {5}, dt), 1e-6));
    EXPECT_TRUE(all_close(x.grad(), Tensor::from_doubles({14, 22, 30, 38, 46}, {5}, dt), 1e-6));
  }
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y;
  {
    NoGradGuard guard;
    y = exp(x) * 2.0;
    EXPECT_FALSE(grad_mode_enabled());
  }
  EXPECT_TRUE(grad_mode_enabled());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_THROW(sum(y).backward(), Error);
}

TEST(Autograd, DetachCutsTheGraph) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = mul(x, x);
  Tensor z = sum(mul(y.detach(), x));  // dz/dx = y (constant) = x²
  EXPECT_FALSE(y.detach().requires_grad());
  z.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 4}));
}

TEST(Autograd, BackwardTwiceNeedsRetainGraph) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = sum(mul(x, x));
  y.backward();
  try {
    y.backward();
    FAIL() << "second backward did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
  Tensor w = leaf({1, 2}, {2});
  Tensor z = sum(mul(w, w));
  z.backward(Tensor(), true);
  z.backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{4, 8}));
}

TEST(Autograd, LongChainDoesNotOverflowTheStack) {
  Context ctx;
  Tensor x = Tensor::scalar(0.0, DType::F32, ctx);
  x.set_requires_grad(true);
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = y + 1.0;
    EXPECT_EQ(y.item(), 100000.0);
    y.backward();
  }  // the graph is destroyed here
  EXPECT_EQ(x.grad().item(), 1.0);
}

TEST(Autograd, RequiresGradPropagates) {
  Tensor a = leaf({1}, {1});
  Tensor b = Tensor::from_doubles({2}, {1}, DType::F64);
  EXPECT_TRUE(add(a, b).requires_grad());
  EXPECT_TRUE(mul(b, a).requires_grad());
  EXPECT_FALSE(mul(b, b).requires_grad());
  EXPECT_FALSE(mul(b, b).grad_fn());
  EXPECT_TRUE(exp(a).grad_fn() != nullptr);
  EXPECT_TRUE(sum(tanh(a)).requires_grad());
  // only inputs that require a gradient get one
  Tensor c = Tensor::from_doubles({3}, {1}, DType::F64);
  sum(mul(a, c)).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_EQ(a.grad().item(), 3.0);
}

TEST(Autograd, LeafGradsAccumulateAcrossBackwardCalls) {
  Tensor x = leaf({1, -1}, {2});
  sum(mul(x, 3.0)).backward();
  sum(mul(x, 3.0)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{6, 6}));
  x.zero_grad();
  sum(x).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 1}));
}

TEST(Autograd, BroadcastGradientsHaveInputShapes) {
  Tensor a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = leaf({1, 1, 1}, {3});
  Tensor c = leaf({2}, {});
  sum(mul(add(a, b), c)).backward();
  EXPECT_EQ(b.grad().shape(), Shape({3}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{4, 4, 4}));
  EXPECT_EQ(c.grad().ndim(), 0);
  EXPECT_EQ(c.grad().item(), 21.0 + 6.0);
}

}  // namespace
}  // namespace attend
