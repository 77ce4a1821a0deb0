// Linear, Conv1d, Embedding: hand values, gradchecks in float64, and user errors.
#include <gtest/gtest.h>

#include "attend/nn/conv1d.h"
#include "attend/nn/embedding.h"
#include "attend/nn/linear.h"
#include "attend/nn/transformer.h"
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

TEST(Linear, HandValues) {
  Context ctx;
  Linear m(3, 2, ctx);
  set(m.weight(), {1, 2, 3, -1, 0, 1});
  set(m.bias(), {0.5, -0.5});
  Tensor x = Tensor::from_doubles({1, 1, 1, 2, 0, -1}, {2, 3}, DType::F32, ctx);
  Tensor y = m.forward(x);
  EXPECT_TRUE(all_close(y, Tensor::from_doubles({6.5, -0.5, -0.5, -3.5}, {2, 2}, DType::F32, ctx)));
  auto names = m.named_parameters();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].first, "weight");
  EXPECT_EQ(names[1].first, "bias");
  EXPECT_EQ(m.weight().shape(), Shape({2, 3}));
  Linear nb(3, 2, {.bias = false}, ctx);
  EXPECT_EQ(nb.named_parameters().size(), 1u);
  EXPECT_FALSE(nb.bias().defined());
}

TEST(Linear, Gradcheck) {
  Context ctx({.seed = 1});
  Linear m(3, 4, ctx, DType::F64);
  Tensor x = random_leaf({2, 5, 3}, ctx);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return m.forward(in[0]); },
                        {x, m.weight(), m.bias()}));
}

TEST(Linear, WrongLastDim) {
  Context ctx;
  Linear m(7, 3, ctx);
  try {
    m.forward(Tensor::zeros({4, 96, 8}, DType::F32, ctx));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[Linear] expected input (..., 7), got (4, 96, 8)");
  }
}

TEST(Conv1d, HandValuesZerosAndCircular) {
  Context ctx;
  // one input channel, one output channel, k = 2, padding 1: y[t] = w0·x[t−1] + w1·x[t] + b
  Conv1d z(1, 1, 2, {.padding = 1}, ctx);
  set(z.weight(), {1, 10});
  set(z.bias(), {0.5});
  Tensor x = Tensor::from_doubles({1, 2, 3}, {1, 1, 3}, DType::F32, ctx);
  EXPECT_TRUE(all_close(z.forward(x),
                        Tensor::from_doubles({10.5, 21.5, 32.5, 3.5}, {1, 1, 4}, DType::F32, ctx)));
  Conv1d c(1, 1, 2, {.padding = 1, .bias = false, .padding_mode = PaddingMode::Circular}, ctx);
  set(c.weight(), {1, 10});
  // circular pad: [3, 1, 2, 3, 1]
  EXPECT_TRUE(
      all_close(c.forward(x), Tensor::from_doubles({13, 21, 32, 13}, {1, 1, 4}, DType::F32, ctx)));
  EXPECT_EQ(c.named_parameters().size(), 1u);
  // unbatched (C, L)
  EXPECT_EQ(z.forward(reshape(x, {1, 3})).shape(), Shape({1, 4}));
}

TEST(Conv1d, Gradcheck) {
  Context ctx({.threads = 1, .seed = 4});
  Conv1d m(4, 6, 3, {.stride = 2, .padding = 2, .dilation = 2, .groups = 2}, ctx, DType::F64);
  Tensor x = random_leaf({2, 4, 9}, ctx);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return m.forward(in[0]); },
                        {x, m.weight(), m.bias()}));
  Conv1d circ(3, 2, 3, {.padding = 1, .padding_mode = PaddingMode::Circular}, ctx, DType::F64);
  Tensor x2 = random_leaf({2, 3, 5}, ctx);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return circ.forward(in[0]); },
                        {x2, circ.weight(), circ.bias()}));
}

TEST(Conv1d, Errors) {
  Context ctx;
  Conv1d m(7, 16, 3, {.padding = 1}, ctx);
  try {
    m.forward(Tensor::zeros({4, 8, 96}, DType::F32, ctx));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[Conv1d] expected input (N, 7, L), got (4, 8, 96)");
  }
  EXPECT_THROW(Conv1d(6, 4, 3, {.groups = 4}, ctx), Error);
}

TEST(Embedding, LookupGradcheckAndErrors) {
  Context ctx({.seed = 6});
  Embedding m(5, 3, ctx, DType::F64);
  EXPECT_EQ(m.named_parameters()[0].first, "weight");
  Tensor idx = Tensor::from_vector<int64_t>({4, 0, 4, 2}, {2, 2}, ctx);
  Tensor y = m.forward(idx);
  ASSERT_EQ(y.shape(), Shape({2, 2, 3}));
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(y.at({0, 0, j}), m.weight().at({4, j}));
    EXPECT_EQ(y.at({1, 1, j}), m.weight().at({2, j}));
  }
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>&) { return m.forward(idx); }, {m.weight()}));
  try {
    m.forward(Tensor::zeros({2}, DType::F32, ctx));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[Embedding] expected int64 indices, got float32");
  }
}

// A decoder layer that keeps only its last rows gives the last rows of the full layer, with the
// same parameter gradients; with capture on it computes every row (explain shows whole maps).
TEST(DecoderLayer, KeepLastRowsEqualsTheFullLayersLastRows) {
  Context ctx({.threads = 1, .seed = 12});
  const int64_t B = 2, L = 10, S = 7, D = 8, keep = 4;
  InnerAttentionConfig self_cfg;
  self_cfg.mask_flag = true;
  self_cfg.attention_dropout = 0.0;
  InnerAttentionConfig cross_cfg = self_cfg;
  cross_cfg.mask_flag = false;
  DecoderLayer layer(
      std::make_shared<AttentionLayer>(self_cfg, D, 2, AttentionRole::DecoderSelf, ctx, DType::F64),
      std::make_shared<AttentionLayer>(cross_cfg, D, 2, AttentionRole::Cross, ctx, DType::F64), D,
      {.d_ff = 16, .dropout = 0.0, .activation = Activation::Gelu}, ctx, DType::F64);
  Tensor x = Tensor::normal({B, L, D}, 0, 1, DType::F64, ctx);
  Tensor cross = Tensor::normal({B, S, D}, 0, 1, DType::F64, ctx);
  Tensor g = Tensor::normal({B, keep, D}, 0, 1, DType::F64, ctx);

  Tensor full = layer.forward(x, cross);
  ASSERT_EQ(full.size(1), L);
  slice(full, 1, L - keep, L).backward(g);
  std::vector<Tensor> full_grads;
  for (const auto& [name, p] : layer.named_parameters())
    full_grads.push_back(p.grad().copy_as(DType::F64));
  layer.zero_grad();

  Tensor last = layer.forward(x, cross, Tensor(), Tensor(), keep);
  ASSERT_EQ(last.size(1), keep);
  EXPECT_TRUE(all_close(last, slice(full, 1, L - keep, L), 1e-12));
  last.backward(g);
  size_t i = 0;
  for (const auto& [name, p] : layer.named_parameters())
    EXPECT_TRUE(all_close(p.grad(), full_grads[i++], 1e-12, 1e-10)) << name;

  AttentionCapture capture;
  set_attention_capture(layer, &capture);
  EXPECT_EQ(layer.forward(x, cross, Tensor(), Tensor(), keep).size(1), L);
  set_attention_capture(layer, nullptr);
}

}  // namespace
}  // namespace attend::nn
