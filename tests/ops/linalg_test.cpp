#include "attend/ops/linalg.h"

#include <gtest/gtest.h>

#include "attend/autograd/node.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"
#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;

using testing::expect_error;
using testing::T64;
using testing::V;

// Naive batched product of 3-d operands with size-1 batch broadcast: (Ba, M, K) x (Bb, K, N).
Tensor naive_bmm(const Tensor& a, const Tensor& b) {
  int64_t ba = a.shape()[0], bb = b.shape()[0], m = a.shape()[1], k = a.shape()[2],
          n = b.shape()[2];
  int64_t bo = std::max(ba, bb);
  std::vector<double> out(bo * m * n, 0.0);
  for (int64_t z = 0; z < bo; ++z)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += a.at({ba == 1 ? 0 : z, i, p}) * b.at({bb == 1 ? 0 : z, p, j});
        out[(z * m + i) * n + j] = acc;
      }
  return Tensor::from_doubles(out, {bo, m, n}, DType::F64, a.context());
}

TEST(Matmul, HandComputed) {
  Context ctx;
  Tensor a = T64({1, 2, 3, 4, 5, 6}, {2, 3}, ctx);
  Tensor b = T64({1, 0, 0, 1, 1, 1}, {3, 2}, ctx);
  EXPECT_EQ(matmul(a, b).to_vector<double>(), (V{4, 5, 10, 11}));
  Tensor v = T64({1, 1, 1}, {3}, ctx);
  Tensor mv = matmul(a, v);
  EXPECT_EQ(mv.shape(), Shape({2}));
  EXPECT_EQ(mv.to_vector<double>(), (V{6, 15}));
  Tensor vm = matmul(T64({1, -1}, {2}, ctx), a);
  EXPECT_EQ(vm.shape(), Shape({3}));
  EXPECT_EQ(vm.to_vector<double>(), (V{-3, -3, -3}));
  Tensor dot = matmul(v, T64({1, 2, 3}, {3}, ctx));
  EXPECT_EQ(dot.ndim(), 0);
  EXPECT_EQ(dot.item(), 6.0);
  // float32 through the backend agrees.
  Tensor a32 = a.copy_as(DType::F32), b32 = b.copy_as(DType::F32);
  EXPECT_TRUE(all_close(matmul(a32, b32), matmul(a, b)));
}

TEST(Matmul, TransposedViewsAndBroadcastBatch) {
  Context ctx;
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor a = Tensor::uniform({2, 5, 3}, -1, 1, dt, ctx);
    Tensor b = Tensor::uniform({1, 4, 5}, -1, 1, dt, ctx);
    // aᵀ and bᵀ are strided views: gemm reads them with transpose flags.
    Tensor at = transpose(a, 1, 2), bt = transpose(b, 1, 2);
    Tensor r = matmul(at, bt);  // (2, 3, 5) x (1, 5, 4)
    EXPECT_EQ(r.shape(), Shape({2, 3, 4}));
    EXPECT_TRUE(all_close(r, naive_bmm(at.copy_as(DType::F64), bt.copy_as(DType::F64)), 1e-5));
    // 4-d with broadcast batch dims: (2, 1, 3, 4) x (3, 4, 2) -> (2, 3, 3, 2)
    Tensor x = Tensor::uniform({2, 1, 3, 4}, -1, 1, dt, ctx);
    Tensor y = Tensor::uniform({3, 4, 2}, -1, 1, dt, ctx);
    Tensor z = matmul(x, y);
    EXPECT_EQ(z.shape(), Shape({2, 3, 3, 2}));
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t r0 = 0; r0 < 3; ++r0)
          for (int64_t c = 0; c < 2; ++c) {
            double acc = 0;
            for (int64_t p = 0; p < 4; ++p) acc += x.at({i, 0, r0, p}) * y.at({h, p, c});
            EXPECT_NEAR(z.at({i, h, r0, c}), acc, 1e-5);
          }
    // Batched left operand times a shared 2-d matrix (folded into one gemm).
    Tensor w = Tensor::uniform({4, 6}, -1, 1, dt, ctx);
    Tensor f = matmul(x, w);
    EXPECT_EQ(f.shape(), Shape({2, 1, 3, 6}));
    EXPECT_TRUE(all_close(reshape(f, {1, 6, 6}),
                          naive_bmm(reshape(x, {1, 6, 4}).copy_as(DType::F64),
                                    reshape(w, {1, 4, 6}).copy_as(DType::F64)),
                          1e-5));
  }
}

TEST(Matmul, NonUniformBatchStrides) {
  Context ctx;
  // Batch dims permuted: (3, 2, M, K) view of a (2, 3, M, K) tensor.
  Tensor a = Tensor::uniform({2, 3, 4, 5}, -1, 1, DType::F64, ctx);
  Tensor b = Tensor::uniform({3, 2, 5, 2}, -1, 1, DType::F64, ctx);
  Tensor ap = permute(a, {1, 0, 2, 3});
  Tensor r = matmul(ap, b);
  EXPECT_TRUE(all_close(reshape(r, {6, 4, 2}),
                        naive_bmm(reshape(ap, {6, 4, 5}), reshape(b, {6, 5, 2})), 1e-10));
}

TEST(Matmul, Errors) {
  Context ctx;
  Tensor a = Tensor::zeros({3, 4}, DType::F32, ctx), b = Tensor::zeros({5, 6}, DType::F32, ctx);
  expect_error([&] { matmul(a, b); }, "[matmul] shapes (3, 4) and (5, 6) do not align");
  expect_error(
      [&] {
        matmul(Tensor::zeros({2, 3, 4}, DType::F32, ctx),
               Tensor::zeros({3, 4, 2}, DType::F32, ctx));
      },
      "(2, 3, 4) and (3, 4, 2)");
  expect_error([&] { matmul(a, Tensor::zeros({4, 2}, DType::F64, ctx)); }, "dtype");
  expect_error(
      [&] { matmul(Tensor::zeros({4}, DType::F32, ctx), Tensor::zeros({3}, DType::F32, ctx)); },
      "(4) and (3)");
}

TEST(Linear, HandComputedAndLayouts) {
  Context ctx;
  Tensor x = T64({1, 2, 3, 4, 5, 6}, {2, 3}, ctx);
  Tensor w = T64({1, 0, 0, 0, 1, 1}, {2, 3}, ctx);
  Tensor b = T64({10, 20}, {2}, ctx);
  EXPECT_EQ(linear(x, w, b).to_vector<double>(), (V{11, 25, 14, 31}));
  EXPECT_EQ(linear(x, w).to_vector<double>(), (V{1, 5, 4, 11}));
  // N-d input, float32 backend vs float64.
  Tensor x3 = Tensor::uniform({2, 3, 5}, -1, 1, DType::F64, ctx);
  Tensor w3 = Tensor::uniform({4, 5}, -1, 1, DType::F64, ctx);
  Tensor b3 = Tensor::uniform({4}, -1, 1, DType::F64, ctx);
  Tensor ref = linear(x3, w3, b3);
  EXPECT_EQ(ref.shape(), Shape({2, 3, 4}));
  EXPECT_TRUE(all_close(
      linear(x3.copy_as(DType::F32), w3.copy_as(DType::F32), b3.copy_as(DType::F32)), ref, 1e-5));
  EXPECT_TRUE(all_close(reshape(linear(x3, w3), {6, 4}),
                        matmul(reshape(x3, {6, 5}), transpose(w3, 0, 1)), 1e-12));
  // Transposed x, transposed weight storage, 1-d x.
  Tensor xt = transpose(Tensor::uniform({5, 6}, -1, 1, DType::F64, ctx), 0, 1);
  Tensor wt = transpose(Tensor::uniform({5, 4}, -1, 1, DType::F64, ctx), 0, 1);
  Tensor lt = linear(xt, wt, b3);
  Tensor mt = matmul(xt, transpose(wt, 0, 1));
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_NEAR(lt.at({i, j}), mt.at({i, j}) + b3.at({j}), 1e-12);
  Tensor x1 = T64({1, 2, 3}, {3}, ctx);
  EXPECT_EQ(linear(x1, w, b).to_vector<double>(), (V{11, 25}));
}

// Under a PackedWeights scope, linear() with a frozen float32 weight multiplies by its packed
// copy: the same values as without (float64 reference), for row-major and transposed weight
// storage, a view inside a larger frozen storage, with and without bias, N-d and transposed x; the
// weight is packed once and reused; a weight outside the frozen storages, a product that records
// a gradient and one of more than kMaxRows rows take the backend, as does float64.
TEST(Linear, PackedWeightsForInference) {
  Context ctx({.seed = 3});
  Tensor storage = Tensor::uniform({70, 37}, -1, 1, DType::F32, ctx);
  Tensor w = slice(storage, 0, 3, 43);  // (40, 37), a view
  Tensor wt = transpose(Tensor::uniform({37, 33}, -1, 1, DType::F32, ctx), 0, 1);  // (33, 37)
  Tensor b = Tensor::uniform({40}, -1, 1, DType::F32, ctx);
  Tensor loose = Tensor::uniform({40, 37}, -1, 1, DType::F32, ctx);  // not frozen
  PackedWeights packed;
  packed.freeze({storage, wt, b});
  auto ref = [](const Tensor& x, const Tensor& weight, const Tensor& bias) {
    return linear(x.copy_as(DType::F64), weight.copy_as(DType::F64),
                  bias.defined() ? bias.copy_as(DType::F64) : Tensor());
  };
  Tensor x = Tensor::uniform({3, 5, 37}, -1, 1, DType::F32, ctx);
  Tensor xt = transpose(Tensor::uniform({37, 9}, -1, 1, DType::F32, ctx), 0, 1);  // (9, 37)
  {
    NoGradGuard no_grad;
    const PackedWeights::Scope scope(packed);
    EXPECT_TRUE(all_close(linear(x, w, b), ref(x, w, b), 1e-5, 1e-5));
    EXPECT_EQ(packed.count(), 1u);
    EXPECT_TRUE(all_close(linear(xt, w), ref(xt, w, Tensor()), 1e-5, 1e-5));
    EXPECT_TRUE(all_close(linear(x, wt), ref(x, wt, Tensor()), 1e-5, 1e-5));
    EXPECT_EQ(packed.count(), 2u);  // w once for both calls, wt
    EXPECT_TRUE(all_close(linear(x, loose, b), ref(x, loose, b), 1e-5, 1e-5));
    Tensor big = Tensor::uniform({PackedWeights::kMaxRows + 1, 37}, -1, 1, DType::F32, ctx);
    EXPECT_TRUE(all_close(linear(big, w, b), ref(big, w, b), 1e-5, 1e-5));
    Tensor w64 = storage.copy_as(DType::F64);
    packed.freeze({w64});
    EXPECT_TRUE(all_close(linear(x.copy_as(DType::F64), w64), ref(x, storage, Tensor()), 1e-12));
    EXPECT_EQ(packed.count(), 2u);
  }
  // A product recording its gradient takes the backend, and its gradient is right.
  const PackedWeights::Scope scope(packed);
  Tensor wg = slice(storage, 0, 0, 40).detach();
  wg.set_requires_grad(true);
  Tensor y = linear(x, wg, b);
  EXPECT_TRUE(all_close(y, ref(x, wg, b), 1e-5, 1e-5));
  EXPECT_EQ(packed.count(), 2u);
  sum(y).backward();
  EXPECT_TRUE(wg.grad().defined());
}

TEST(Linear, Errors) {
  Context ctx;
  Tensor x = Tensor::zeros({2, 3}, DType::F32, ctx), w = Tensor::zeros({4, 5}, DType::F32, ctx);
  expect_error([&] { linear(x, w); },
               "input of shape (2, 3) does not match weight of shape (4, 5)");
  expect_error(
      [&] {
        linear(x, Tensor::zeros({4, 3}, DType::F32, ctx), Tensor::zeros({5}, DType::F32, ctx));
      },
      "bias of shape (5)");
}

}  // namespace
}  // namespace attend
