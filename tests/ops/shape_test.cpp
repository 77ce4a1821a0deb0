#include "attend/ops/shape.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attend/autograd/node.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduce.h"
#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::random_leaf;

using testing::expect_error;
using testing::T64;
using testing::V;

Tensor I64(const std::vector<int64_t>& v, const Shape& s, Context& ctx) {
  return Tensor::from_vector<int64_t>(v, s, ctx);
}

TEST(Shape, ReshapeIsViewWhenPossible) {
  Context ctx;
  Tensor x = Tensor::arange(6, DType::F64, ctx);
  Tensor y = reshape(x, {2, -1});
  EXPECT_EQ(y.shape(), Shape({2, 3}));
  EXPECT_EQ(y.storage(), x.storage());
  EXPECT_EQ(y.at({1, 0}), 3.0);
  // A transposed tensor cannot be flattened as a view: copied, values in logical order.
  Tensor t = transpose(y, 0, 1);
  Tensor f = reshape(t, {6});
  EXPECT_NE(f.storage(), x.storage());
  EXPECT_EQ(f.to_vector<double>(), (V{0, 3, 1, 4, 2, 5}));
  // Splitting a dim of a transposed view stays a view.
  Tensor s = reshape(t, {3, 2, 1});
  EXPECT_EQ(s.storage(), x.storage());
  EXPECT_EQ(s.to_vector<double>(), (V{0, 3, 1, 4, 2, 5}));
  expect_error([&] { reshape(x, {4, -1}); }, "(4, -1)");
  expect_error([&] { reshape(x, {-1, -1}); }, "only one dimension");
}

TEST(Shape, FlattenSqueezeUnsqueeze) {
  Context ctx;
  Tensor x = Tensor::zeros({2, 1, 3, 4}, DType::F32, ctx);
  EXPECT_EQ(flatten(x, 1).shape(), Shape({2, 12}));
  EXPECT_EQ(flatten(x, 0, 1).shape(), Shape({2, 3, 4}));
  EXPECT_EQ(squeeze(x, 1).shape(), Shape({2, 3, 4}));
  EXPECT_EQ(squeeze(x, 0).shape(), Shape({2, 1, 3, 4}));
  EXPECT_EQ(unsqueeze(x, -1).shape(), Shape({2, 1, 3, 4, 1}));
  EXPECT_EQ(unsqueeze(x, 0).shape(), Shape({1, 2, 1, 3, 4}));
  EXPECT_EQ(unsqueeze(x, 0).storage(), x.storage());
  expect_error([&] { squeeze(x, 4); }, "out of range");
}

TEST(Shape, PermuteTranspose) {
  Context ctx;
  Tensor x = T64({0, 1, 2, 3, 4, 5}, {1, 2, 3}, ctx);
  Tensor p = permute(x, {2, 0, 1});
  EXPECT_EQ(p.shape(), Shape({3, 1, 2}));
  EXPECT_EQ(p.to_vector<double>(), (V{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(p.storage(), x.storage());
  EXPECT_EQ(transpose(x, -1, -2).to_vector<double>(), (V{0, 3, 1, 4, 2, 5}));
  expect_error([&] { permute(x, {0, 0, 1}); }, "repeated");
  expect_error([&] { permute(x, {0, 1}); }, "2 dims given");
}

TEST(Shape, SlicePythonSemantics) {
  Context ctx;
  Tensor x = Tensor::arange(10, DType::F64, ctx);
  EXPECT_EQ(slice(x, 0, 2, 8, 3).to_vector<double>(), (V{2, 5}));
  EXPECT_EQ(slice(x, 0, -3, 100).to_vector<double>(), (V{7, 8, 9}));
  EXPECT_EQ(slice(x, 0, -100, 2).to_vector<double>(), (V{0, 1}));
  EXPECT_EQ(slice(x, 0, 7, 3).numel(), 0);
  EXPECT_EQ(slice(x, 0, 1, -1, 4).to_vector<double>(), (V{1, 5}));
  Tensor m = reshape(x, {2, 5});
  Tensor s = slice(m, 1, 1, 4, 2);
  EXPECT_EQ(s.shape(), Shape({2, 2}));
  EXPECT_EQ(s.to_vector<double>(), (V{1, 3, 6, 8}));
  EXPECT_EQ(s.storage(), x.storage());
  expect_error([&] { slice(x, 0, 0, 5, 0); }, "step");
}

TEST(Shape, SelectExpand) {
  Context ctx;
  Tensor x = T64({0, 1, 2, 3, 4, 5}, {2, 3}, ctx);
  EXPECT_EQ(select(x, 1, -1).to_vector<double>(), (V{2, 5}));
  EXPECT_EQ(select(x, 0, 1).to_vector<double>(), (V{3, 4, 5}));
  expect_error([&] { select(x, 1, 3); }, "index 3");
  Tensor c = T64({1, 2}, {2, 1}, ctx);
  Tensor e = expand(c, {2, 2, 3});
  EXPECT_EQ(e.shape(), Shape({2, 2, 3}));
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_EQ(e.to_vector<double>(), (V{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(expand(c, {-1, 4}).shape(), Shape({2, 4}));
  expect_error([&] { expand(x, {3, 3}); }, "cannot expand shape (2, 3) to (3, 3)");
}

TEST(Shape, RepeatTorchSemantics) {
  Context ctx;
  Tensor x = T64({1, 2, 3}, {3}, ctx);
  Tensor r = repeat(x, {2, 2});  // torch: x.repeat(2, 2)
  EXPECT_EQ(r.shape(), Shape({2, 6}));
  EXPECT_EQ(r.to_vector<double>(), (V{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}));
  Tensor m = T64({1, 2, 3, 4}, {2, 2}, ctx);
  Tensor r2 = repeat(transpose(m, 0, 1), {1, 2, 1});
  EXPECT_EQ(r2.shape(), Shape({1, 4, 2}));
  EXPECT_EQ(r2.to_vector<double>(), (V{1, 3, 2, 4, 1, 3, 2, 4}));
  expect_error([&] { repeat(m, {2}); }, "1 repeats");
}

TEST(Shape, ContiguousCopiesOnlyViews) {
  Context ctx;
  Tensor x = T64({1, 2, 3, 4}, {2, 2}, ctx);
  EXPECT_TRUE(contiguous(x).is_same(x));
  Tensor c = contiguous(transpose(x, 0, 1));
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector<double>(), (V{1, 3, 2, 4}));
}

TEST(Shape, ConcatStackSplit) {
  Context ctx;
  Tensor a = T64({1, 2, 3, 4}, {2, 2}, ctx), b = T64({5, 6}, {2, 1}, ctx);
  EXPECT_EQ(concat({a, b}, 1).to_vector<double>(), (V{1, 2, 5, 3, 4, 6}));
  EXPECT_EQ(concat({a, transpose(a, 0, 1)}, 0).to_vector<double>(), (V{1, 2, 3, 4, 1, 3, 2, 4}));
  expect_error([&] { concat({a, b}, 0); }, "differ outside dimension 0");
  Tensor s = stack({a, a}, 1);
  EXPECT_EQ(s.shape(), Shape({2, 2, 2}));
  EXPECT_EQ(s.to_vector<double>(), (V{1, 2, 1, 2, 3, 4, 3, 4}));
  expect_error([&] { stack({a, b}, 0); }, "cannot be stacked");
  Tensor x = Tensor::arange(7, DType::F64, ctx);
  auto p = split(x, 3, 0);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[2].to_vector<double>(), (V{6}));
  EXPECT_EQ(p[1].storage(), x.storage());
  auto q = split(x, std::vector<int64_t>{2, 5}, 0);
  EXPECT_EQ(q[1].to_vector<double>(), (V{2, 3, 4, 5, 6}));
  expect_error([&] { split(x, std::vector<int64_t>{2, 4}, 0); }, "add up to 6");
}

// Weights packed back to back: concat_params and stack_params are views of their storage (no
// copy), with concat's and stack's values and gradients; tensors not packed are copied.
TEST(Shape, ParamsPackedAreJoinedWithoutCopies) {
  Context ctx;
  Tensor a = random_leaf({2, 3}, ctx), b = random_leaf({2, 3}, ctx), c = random_leaf({1, 3}, ctx);
  const V a0 = a.to_vector<double>(), b0 = b.to_vector<double>();
  const V joined = concat({a, b, c}, 0).to_vector<double>();
  const V stacked = stack({a, b}, 0).to_vector<double>();
  EXPECT_NE(concat_params({a, b, c}).storage(), a.storage());  // not packed: a copy
  pack_adjacent({a, b, c});
  EXPECT_EQ(a.to_vector<double>(), a0);  // values kept, handles moved
  EXPECT_EQ(b.to_vector<double>(), b0);
  EXPECT_EQ(b.storage(), a.storage());
  EXPECT_EQ(b.offset(), a.offset() + 6);
  EXPECT_TRUE(a.requires_grad());

  Tensor j = concat_params({a, b, c});
  EXPECT_EQ(j.storage(), a.storage());
  EXPECT_EQ(j.shape(), Shape({5, 3}));
  EXPECT_EQ(j.to_vector<double>(), joined);
  Tensor s = stack_params({a, b});
  EXPECT_EQ(s.storage(), a.storage());
  EXPECT_EQ(s.to_vector<double>(), stacked);
  // out of order: a copy, still right; shapes that do not stack: stack's error
  EXPECT_NE(concat_params({b, a}).storage(), a.storage());
  EXPECT_EQ(stack_params({b, a}).to_vector<double>(), stack({b, a}, 0).to_vector<double>());
  expect_error([&] { stack_params({a, c}); }, "cannot be stacked");
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return mul(concat_params(in), concat_params(in)); },
      {a, b, c}));
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return mul(stack_params(in), stack_params(in)); },
      {a, b}));
  expect_error([&] { pack_adjacent({a, a}); }, "is tensor 0 again");
}

TEST(Shape, SplitRecordsOneNode) {
  Context ctx;
  Tensor x = random_leaf({2, 6}, ctx);
  auto p = split(x, 2, 1);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_TRUE(p[0].grad_fn() != nullptr);
  EXPECT_EQ(p[0].grad_fn(), p[2].grad_fn());
  {
    NoGradGuard ng;
    EXPECT_EQ(split(x, 2, 1)[0].grad_fn(), nullptr);
  }
}

TEST(Shape, IndexSelectGather) {
  Context ctx;
  Tensor x = T64({1, 2, 3, 4, 5, 6}, {3, 2}, ctx);
  Tensor s = index_select(x, 0, I64({2, 0, 2}, {3}, ctx));
  EXPECT_EQ(s.to_vector<double>(), (V{5, 6, 1, 2, 5, 6}));
  EXPECT_EQ(index_select(x, 1, I64({1}, {1}, ctx)).to_vector<double>(), (V{2, 4, 6}));
  expect_error([&] { index_select(x, 0, I64({0, 3}, {2}, ctx)); }, "index 3");
  // torch.gather(t, 1, [[0, 0], [1, 0]]) with t = [[1, 2], [3, 4]] -> [[1, 1], [4, 3]]
  Tensor t = T64({1, 2, 3, 4}, {2, 2}, ctx);
  EXPECT_EQ(gather(t, 1, I64({0, 0, 1, 0}, {2, 2}, ctx)).to_vector<double>(), (V{1, 1, 4, 3}));
  EXPECT_EQ(gather(t, 0, I64({1, 0}, {1, 2}, ctx)).to_vector<double>(), (V{3, 2}));
  expect_error([&] { gather(t, 1, I64({0, 5}, {1, 2}, ctx)); }, "index 5");
  expect_error([&] { gather(t, 1, I64({0, -1}, {1, 2}, ctx)); }, "index -1");
}

TEST(Shape, MaskedFillWhere) {
  Context ctx;
  Tensor x = T64({1, 2, 3, 4, 5, 6}, {2, 3}, ctx);
  Tensor mask = T64({1, 0, 1}, {3}, ctx);
  EXPECT_EQ(masked_fill(x, mask, -9).to_vector<double>(), (V{-9, 2, -9, -9, 5, -9}));
  Tensor bmask = I64({0, 1}, {2, 1}, ctx);
  EXPECT_EQ(masked_fill(x, bmask, 0).to_vector<double>(), (V{1, 2, 3, 0, 0, 0}));
  expect_error(
      [&] {
        masked_fill(T64({1, 2, 3}, {3}, ctx), T64({1, 0, 1, 0, 1, 0}, {2, 3}, ctx), 0);
      },
      "does not broadcast");
  Tensor cond = I64({1, 0, 0}, {3}, ctx);
  Tensor b = T64({7}, {1}, ctx);
  Tensor w = where(cond, x, b);
  EXPECT_EQ(w.to_vector<double>(), (V{1, 7, 7, 4, 7, 7}));
}

// argsort and sort along the last and the first axis by hand; ties keep their order; NaN last.
TEST(Shape, ArgsortAndSortByHand) {
  Context ctx;
  Tensor x = Tensor::from_vector<double>({3, 1, 2, 0.5, 0.5, -1}, {2, 3}, ctx);
  EXPECT_EQ(argsort(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 0, 2, 0, 1}));
  EXPECT_EQ(sort(x, 1).to_vector<double>(), (V{1, 2, 3, -1, 0.5, 0.5}));
  EXPECT_EQ(argsort(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(sort(transpose(x, 0, 1), 1).to_vector<double>(), (V{0.5, 3, 0.5, 1, -1, 2}));
  Tensor n = Tensor::from_vector<double>({std::nan(""), 2, 1}, {3}, ctx);
  EXPECT_EQ(argsort(n, 0).to_vector<int64_t>(), (std::vector<int64_t>{2, 1, 0}));
  // The gradient of each sorted value goes back to where it came from.
  Tensor leaf = Tensor::from_vector<double>({3, 1, 2}, {3}, ctx);
  leaf.set_requires_grad(true);
  Tensor w = Tensor::from_vector<double>({10, 20, 30}, {3}, ctx);
  sum(mul(sort(leaf, 0), w)).backward();
  EXPECT_EQ(leaf.grad().to_vector<double>(), (V{30, 10, 20}));
}

}  // namespace
}  // namespace attend
