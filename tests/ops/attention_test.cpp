// scaled_dot_product_attention and prob_sparse_attention at the op level: fused against reference
// through views, masks, capture, ProbSparse semantics, errors (gradient checks and float32 against
// float64: tests/ops/op_table_test.cpp).
#include "attend/ops/attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attend/nn/attention.h"
#include "attend/ops/ops.h"
#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;
using testing::expect_error;

TEST(Attention, FusedMatchesReferenceOnTslibLayoutViews) {
  Context ctx({.threads = 2, .seed = 5});
  // Projections laid out (B, L, H, D), viewed as (B, H, L, D) as the multi-head layer does.
  const int64_t B = 3, L = 97, S = 50, H = 4, D = 16;
  Tensor qb = Tensor::normal({B, L, H, D}, 0, 1, DType::F32, ctx);
  Tensor kb = Tensor::normal({B, S, H, D}, 0, 1, DType::F32, ctx);
  Tensor vb = Tensor::normal({B, S, H, D}, 0, 1, DType::F32, ctx);
  for (const Tensor& t : {qb, kb, vb}) t.set_requires_grad(true);
  Tensor g = Tensor::normal({B, H, L, D}, 0, 1, DType::F32, ctx);
  std::vector<std::vector<Tensor>> grads;
  std::vector<Tensor> outs;
  for (AttentionPath path : {AttentionPath::Fused, AttentionPath::Reference}) {
    AttentionOptions o;
    o.path = path;
    Tensor q = permute(qb, {0, 2, 1, 3}), k = permute(kb, {0, 2, 1, 3}),
           v = permute(vb, {0, 2, 1, 3});
    Tensor out = scaled_dot_product_attention(q, k, v, o).output;
    out.backward(g);
    outs.push_back(out.detach().contiguous_data());
    grads.push_back({qb.grad(), kb.grad(), vb.grad()});
    for (const Tensor& t : {qb, kb, vb}) t.zero_grad();
  }
  EXPECT_TRUE(all_close(outs[0], outs[1], 1e-5, 1e-4));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(all_close(grads[0][i], grads[1][i], 1e-5, 1e-3)) << i;
}

// causal_offset = Lk − Lq: queries that are the last Lq positions give the last Lq rows of the
// full causal attention, with the same gradients — on both fused kernels and the reference path.
TEST(Attention, CausalOffsetGivesTheLastRowsOfFullCausalAttention) {
  Context ctx({.threads = 1, .seed = 8});
  for (int64_t L : {12, 70})  // 12: the row-wise kernel (Lk ≤ 16, D 8); 70: GEMM tiles
    for (AttentionOptions::FusedKernel kernel :
         {AttentionOptions::FusedKernel::Auto, AttentionOptions::FusedKernel::Tiles}) {
      const int64_t B = 2, H = 2, D = 8, P = L / 2 + 1;
      Tensor q = Tensor::normal({B, H, L, D}, 0, 1, DType::F32, ctx);
      Tensor k = Tensor::normal({B, H, L, D}, 0, 1, DType::F32, ctx);
      Tensor v = Tensor::normal({B, H, L, D}, 0, 1, DType::F32, ctx);
      Tensor g = Tensor::normal({B, H, P, D}, 0, 1, DType::F32, ctx);
      for (AttentionPath path : {AttentionPath::Fused, AttentionPath::Reference}) {
        SCOPED_TRACE(::testing::Message()
                     << "L " << L << (path == AttentionPath::Fused ? " fused" : " reference"));
        AttentionOptions full;
        full.path = path;
        full.fused_kernel = kernel;
        full.causal = true;
        AttentionOptions last = full;
        last.causal_offset = L - P;
        // full: gradient of Σ g·out over the last P rows only
        Tensor qf = q.detach().copy_as(DType::F32), kf = k.detach().copy_as(DType::F32),
               vf = v.detach().copy_as(DType::F32);
        for (const Tensor& t : {qf, kf, vf}) t.set_requires_grad(true);
        Tensor of = slice(scaled_dot_product_attention(qf, kf, vf, full).output, 2, L - P, L);
        of.backward(g);
        Tensor ql = slice(q, 2, L - P, L).contiguous_data(), kl = k.detach().copy_as(DType::F32),
               vl = v.detach().copy_as(DType::F32);
        for (const Tensor& t : {ql, kl, vl}) t.set_requires_grad(true);
        Tensor ol = scaled_dot_product_attention(ql, kl, vl, last).output;
        ol.backward(g);
        EXPECT_TRUE(all_close(ol, of, 1e-6, 1e-5));
        EXPECT_TRUE(all_close(ql.grad(), slice(qf.grad(), 2, L - P, L), 1e-6, 1e-4));
        EXPECT_TRUE(all_close(kl.grad(), kf.grad(), 1e-6, 1e-4));
        EXPECT_TRUE(all_close(vl.grad(), vf.grad(), 1e-6, 1e-4));
      }
    }
  expect_error(
      [&] {
        AttentionOptions o;
        o.causal = true;
        o.causal_offset = -1;
        Tensor x = Tensor::zeros({1, 1, 2, 2}, DType::F32, ctx);
        scaled_dot_product_attention(x, x, x, o);
      },
      "causal_offset must be >= 0");
}

TEST(Attention, WeightsSumToOneAndFullyMaskedRowsAreZero) {
  Context ctx({.threads = 1, .seed = 6});
  Tensor q = Tensor::normal({2, 1, 4, 8}, 0, 1, DType::F32, ctx);
  Tensor k = Tensor::normal({2, 1, 5, 8}, 0, 1, DType::F32, ctx);
  Tensor v = Tensor::normal({2, 1, 5, 8}, 0, 1, DType::F32, ctx);
  // Query 2 of every batch sees no key.
  std::vector<float> m(4 * 5, 1.0f);
  for (int j = 0; j < 5; ++j) m[2 * 5 + j] = 0.0f;
  AttentionOptions o;
  o.mask = Tensor::from_vector<float>(m, {4, 5}, ctx);
  o.return_weights = true;
  AttentionResult r = scaled_dot_product_attention(q, k, v, o);
  std::vector<float> w = r.weights.to_vector<float>();
  for (int row = 0; row < 2 * 4; ++row) {
    double s = 0;
    for (int j = 0; j < 5; ++j) s += w[row * 5 + j];
    EXPECT_NEAR(s, row % 4 == 2 ? 0.0 : 1.0, 1e-5) << row;
  }
  o.return_weights = false;
  o.path = AttentionPath::Fused;
  Tensor fused = scaled_dot_product_attention(q, k, v, o).output;
  EXPECT_TRUE(all_close(fused, r.output, 1e-5, 1e-4));
  for (float x : select(select(fused, 2, 2), 1, 0).to_vector<float>()) EXPECT_EQ(x, 0.0f);
}

TEST(Attention, DropoutIsTheSameOnBothPaths) {
  Context ctx({.threads = 1, .seed = 7});
  Tensor q = Tensor::normal({2, 2, 30, 8}, 0, 1, DType::F32, ctx);
  Tensor k = Tensor::normal({2, 2, 30, 8}, 0, 1, DType::F32, ctx);
  Tensor v = Tensor::normal({2, 2, 30, 8}, 0, 1, DType::F32, ctx);
  AttentionOptions o;
  o.dropout_p = 0.3;
  uint64_t counter = ctx.generator().counter();
  o.path = AttentionPath::Fused;
  Tensor a = scaled_dot_product_attention(q, k, v, o).output;
  ctx.generator().set_counter(counter);
  o.path = AttentionPath::Reference;
  Tensor b = scaled_dot_product_attention(q, k, v, o).output;
  EXPECT_TRUE(all_close(a, b, 1e-5, 1e-4));
  o.dropout_p = 0.0;
  Tensor c = scaled_dot_product_attention(q, k, v, o).output;
  EXPECT_FALSE(all_close(a, c, 1e-5, 1e-4));  // dropout did something
}

TEST(Attention, ShapeErrorsNameTheShapes) {
  Context ctx;
  Tensor q = Tensor::zeros({1, 2, 3, 4}, DType::F32, ctx);
  Tensor k = Tensor::zeros({1, 2, 5, 6}, DType::F32, ctx);
  try {
    scaled_dot_product_attention(q, k, k);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(1, 2, 3, 4)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(1, 2, 5, 6)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(scaled_dot_product_attention(Tensor::zeros({2, 3, 4}, DType::F32, ctx), q, q),
               Error);
  AttentionOptions o;
  o.mask = Tensor::ones({4, 4}, DType::F32, ctx);  // Lk is 3
  EXPECT_THROW(scaled_dot_product_attention(q, q, q, o), Error);
  o = {};
  o.dropout_p = 1.0;
  EXPECT_THROW(scaled_dot_product_attention(q, q, q, o), Error);
}

// ---- ProbSparse --------------------------------------------------------------------------------

TEST(ProbSparse, AllQueriesSelectedEqualsFullAttention) {
  Context ctx({.threads = 1, .seed = 8});
  // factor 30 with L = 40: u = 30·⌈ln 40⌉ ≥ 40, every query attends fully.
  Tensor q = Tensor::normal({2, 2, 40, 8}, 0, 1, DType::F32, ctx);
  Tensor k = Tensor::normal({2, 2, 40, 8}, 0, 1, DType::F32, ctx);
  Tensor v = Tensor::normal({2, 2, 40, 8}, 0, 1, DType::F32, ctx);
  for (bool causal : {false, true}) {
    ProbSparseOptions ps;
    ps.factor = 30;
    ps.causal = causal;
    AttentionOptions full;
    full.causal = causal;
    EXPECT_TRUE(all_close(prob_sparse_attention(q, k, v, ps).output,
                          scaled_dot_product_attention(q, k, v, full).output.contiguous_data(),
                          1e-5, 1e-4));
  }
}

TEST(ProbSparse, UnselectedQueriesGetMeanOrCumsumOfValues) {
  Context ctx({.threads = 1, .seed = 9});
  const int64_t L = 50;
  Tensor q = Tensor::normal({1, 1, L, 4}, 0, 1, DType::F64, ctx);
  Tensor k = Tensor::normal({1, 1, L, 4}, 0, 1, DType::F64, ctx);
  Tensor v = Tensor::normal({1, 1, L, 4}, 0, 1, DType::F64, ctx);
  for (bool causal : {false, true}) {
    ProbSparseOptions ps;
    ps.factor = 1;  // u = ⌈ln 50⌉ = 4 selected queries
    ps.causal = causal;
    ProbSparseResult r = prob_sparse_attention(q, k, v, ps);
    ASSERT_EQ(r.selected.shape(), (Shape{1, 1, 4}));
    std::vector<int64_t> sel = r.selected.to_vector<int64_t>();
    std::vector<double> out = r.output.to_vector<double>(), vv = v.to_vector<double>();
    for (int64_t i = 0; i < L; ++i) {
      if (std::find(sel.begin(), sel.end(), i) != sel.end()) continue;
      for (int c = 0; c < 4; ++c) {
        double expect = 0;
        int64_t n = causal ? i + 1 : L;
        for (int64_t j = 0; j < n; ++j) expect += vv[j * 4 + c];
        if (!causal) expect /= L;
        EXPECT_NEAR(out[i * 4 + c], expect, 1e-12) << i;
      }
    }
  }
}

TEST(ProbSparse, BadSampleIsRefused) {
  Context ctx;
  Tensor q = Tensor::zeros({1, 1, 9, 3}, DType::F32, ctx);
  ProbSparseOptions ps;
  ps.factor = 1;
  ps.index_sample = Tensor::zeros({9, 2}, DType::I64, ctx);  // U should be 3
  EXPECT_THROW(prob_sparse_attention(q, q, q, ps), Error);
  ps.index_sample = Tensor::full({9, 3}, 9, DType::I64, ctx);  // out of range
  EXPECT_THROW(prob_sparse_attention(q, q, q, ps), Error);
  ps = {};
  ps.causal = true;
  EXPECT_THROW(prob_sparse_attention(q, Tensor::zeros({1, 1, 5, 3}, DType::F32, ctx),
                                     Tensor::zeros({1, 1, 5, 3}, DType::F32, ctx), ps),
               Error);
}

// ---- the multi-head layer ----------------------------------------------------------------------

TEST(AttentionLayer, SelfAndCrossAttentionWithCapture) {
  Context ctx({.threads = 1, .seed = 11});
  nn::InnerAttentionConfig inner;
  inner.attention_dropout = 0.0;
  nn::AttentionLayer layer(inner, 16, 4, nn::AttentionRole::Cross, ctx);
  layer.eval();
  Tensor x = Tensor::normal({2, 7, 16}, 0, 1, DType::F32, ctx);
  Tensor mem = Tensor::normal({2, 11, 16}, 0, 1, DType::F32, ctx);
  Tensor fast = layer.forward(x, mem, mem);
  EXPECT_EQ(fast.shape(), (Shape{2, 7, 16}));
  nn::AttentionCapture capture;
  nn::set_attention_capture(layer, &capture);
  Tensor captured = layer.forward(x, mem, mem);
  EXPECT_TRUE(all_close(captured, fast, 1e-5, 1e-4));  // capture does not change the result
  ASSERT_EQ(capture.records().size(), 1u);
  EXPECT_EQ(capture.records()[0].weights.shape(), (Shape{2, 4, 7, 11}));
  EXPECT_EQ(capture.records()[0].role, nn::AttentionRole::Cross);
  nn::set_attention_capture(layer, nullptr);
  layer.forward(x);                         // self-attention
  EXPECT_EQ(capture.records().size(), 1u);  // detached: nothing more recorded
}

}  // namespace
}  // namespace attend
