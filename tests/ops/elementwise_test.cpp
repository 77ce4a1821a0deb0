// Elementwise ops: hand-computed values, broadcasting layouts, gradient checks, errors.
#include "attend/ops/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::random_leaf;
using testing::vals;

TEST(Elementwise, BinaryHandComputed) {
  Tensor a = vals({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = vals({10, 20, 30}, {3});
  EXPECT_TRUE(all_close(add(a, b), vals({11, 22, 33, 14, 25, 36}, {2, 3})));
  EXPECT_TRUE(all_close(sub(b, a), vals({9, 18, 27, 6, 15, 24}, {2, 3})));
  Tensor c = vals({2, 4}, {2, 1});
  EXPECT_TRUE(all_close(mul(a, c), vals({2, 4, 6, 16, 20, 24}, {2, 3})));
  EXPECT_TRUE(all_close(div(c, a), vals({2, 1, 2.0 / 3, 1, 0.8, 4.0 / 6}, {2, 3})));
  EXPECT_TRUE(all_close(a - 1.0, vals({0, 1, 2, 3, 4, 5}, {2, 3})));
  EXPECT_TRUE(all_close(10.0 - a, vals({9, 8, 7, 6, 5, 4}, {2, 3})));
  EXPECT_TRUE(all_close(6.0 / a, vals({6, 3, 2, 1.5, 1.2, 1}, {2, 3})));
  // outer product by broadcasting (3, 1) x (1, 2)
  Tensor col = vals({1, 2, 3}, {3, 1}), row = vals({1, 10}, {1, 2});
  EXPECT_TRUE(all_close(col * row, vals({1, 10, 2, 20, 3, 30}, {3, 2})));
  // 0-d scalar tensors
  EXPECT_TRUE(all_close(a * Tensor::scalar(2.0), a * 2.0));
  EXPECT_TRUE(all_close(Tensor::scalar(1.0) - a, 1.0 - a));
}

TEST(Elementwise, BroadcastLayoutsMatchFloat64) {
  Context ctx;
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{4, 5, 33}, {33}},       {{4, 5, 33}, {4, 5, 1}},   {{33}, {4, 5, 33}},
      {{4, 1, 33}, {4, 5, 33}}, {{2, 3, 4, 5}, {3, 1, 5}}, {{1, 5, 1}, {4, 1, 6}},
      {{7, 9}, {7, 9}},         {{300, 300}, {300}},       {{300, 300}, {300, 1}}};
  for (auto [sa, sb] : cases) {
    Tensor a = Tensor::uniform(sa, 0.5, 2, DType::F64, ctx);
    Tensor b = Tensor::uniform(sb, 0.5, 2, DType::F64, ctx);
    Tensor af = a.copy_as(DType::F32), bf = b.copy_as(DType::F32);
    EXPECT_TRUE(all_close(add(af, bf), add(a, b))) << sa.str() << sb.str();
    EXPECT_TRUE(all_close(sub(af, bf), sub(a, b))) << sa.str() << sb.str();
    EXPECT_TRUE(all_close(mul(af, bf), mul(a, b))) << sa.str() << sb.str();
    EXPECT_TRUE(all_close(div(af, bf), div(a, b))) << sa.str() << sb.str();
  }
}

TEST(Elementwise, NonContiguousInputs) {
  Context ctx;
  Tensor x = Tensor::uniform({4, 6}, -1, 1, DType::F32, ctx);
  // transposed view (6, 4)
  Tensor t = x.as_strided({6, 4}, {1, 6}, 0);
  Tensor tc = t.contiguous_data();
  Tensor y = Tensor::uniform({6, 4}, -1, 1, DType::F32, ctx);
  EXPECT_TRUE(all_close(add(t, y), add(tc, y)));
  EXPECT_TRUE(all_close(exp(t), exp(tc)));
  // a column slice with stride 2
  Tensor s = x.as_strided({4, 3}, {6, 2}, 1);
  EXPECT_TRUE(all_close(mul(s, s), mul(s.contiguous_data(), s.contiguous_data())));
}

TEST(Elementwise, UnaryHandComputed) {
  Tensor x = vals({-2, -0.5, 0, 1, 3}, {5});
  EXPECT_TRUE(all_close(relu(x), vals({0, 0, 0, 1, 3}, {5})));
  EXPECT_TRUE(all_close(abs(x), vals({2, 0.5, 0, 1, 3}, {5})));
  EXPECT_TRUE(all_close(neg(x), vals({2, 0.5, 0, -1, -3}, {5})));
  // torch.nn.functional.gelu([-2, -0.5, 0, 1, 3])
  EXPECT_TRUE(
      all_close(gelu(x), vals({-0.04550026, -0.15426877, 0, 0.84134475, 2.99595031}, {5}), 1e-6));
  EXPECT_TRUE(
      all_close(sigmoid(x), vals({0.11920292, 0.37754067, 0.5, 0.73105858, 0.95257413}, {5})));
  EXPECT_TRUE(all_close(elu(x, 1.0), vals({-0.86466472, -0.39346934, 0, 1, 3}, {5})));
  EXPECT_TRUE(all_close(tanh(x), vals({-0.96402758, -0.46211716, 0, 0.76159416, 0.99505475}, {5})));
  Tensor p = vals({1, 4, 9}, {3});
  EXPECT_TRUE(all_close(sqrt(p), vals({1, 2, 3}, {3})));
  EXPECT_TRUE(all_close(pow(p, 1.5), vals({1, 8, 27}, {3})));
  EXPECT_TRUE(all_close(pow(p, 2), vals({1, 16, 81}, {3})));
  EXPECT_TRUE(all_close(log(exp(p)), p));
}

TEST(Elementwise, CastAndSumTo) {
  Context ctx;
  Tensor x = random_leaf({2, 3}, ctx);
  Tensor y = cast(x, DType::F32);
  EXPECT_EQ(y.dtype(), DType::F32);
  cast(y, DType::F64).backward(Tensor::ones({2, 3}, DType::F64, ctx));
  EXPECT_EQ(x.grad().dtype(), DType::F64);
  EXPECT_TRUE(all_close(x.grad(), Tensor::ones({2, 3}, DType::F64, ctx)));

  Tensor g = vals({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(all_close(sum_to(g, {3}), vals({5, 7, 9}, {3})));
  EXPECT_TRUE(all_close(sum_to(g, {2, 1}), vals({6, 15}, {2, 1})));
  EXPECT_TRUE(all_close(sum_to(g, {1, 1}), vals({21}, {1, 1})));
  Tensor a = random_leaf({2, 3, 4}, ctx);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return sum_to(in[0], {3, 1}); }, {a}));
}

TEST(Elementwise, Errors) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  try {
    add(a, b);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[add] shapes (2, 3) and (4) cannot be broadcast"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(mul(a, Tensor::zeros({2, 3}, DType::F64)), Error);
  EXPECT_THROW(exp(Tensor::zeros({2}, DType::I64)), Error);
  EXPECT_THROW(sum_to(a, {3, 3}), Error);
}

}  // namespace
}  // namespace attend
