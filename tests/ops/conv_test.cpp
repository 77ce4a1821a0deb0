#include "attend/ops/conv.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attend/kernels/conv1d.h"
#include "attend/ops/shape.h"
#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::random_leaf;

using testing::expect_error;
using testing::T64;
using testing::V;

TEST(Conv1d, HandComputedZerosAndCircular) {
  Context ctx;
  Tensor x = T64({1, 2, 3, 4, 5}, {1, 1, 5}, ctx);
  Tensor w = T64({1, 0, -1}, {1, 1, 3}, ctx);
  Tensor b = T64({0.5}, {1}, ctx);
  Conv1dOptions o;
  o.padding = 1;
  // zeros: padded [0 1 2 3 4 5 0], y[t] = xp[t] − xp[t + 2] + 0.5
  EXPECT_EQ(conv1d(x, w, b, o).to_vector<double>(), (V{-1.5, -1.5, -1.5, -1.5, 4.5}));
  // circular: padded [5 1 2 3 4 5 1]
  o.padding_mode = PaddingMode::Circular;
  EXPECT_EQ(conv1d(x, w, b, o).to_vector<double>(), (V{3.5, -1.5, -1.5, -1.5, 3.5}));
  // circular padding 2, kernel 5 = [1 0 0 0 0]: y[t] = xp[t] = x[(t − 2) mod 5]
  Tensor w5 = T64({1, 0, 0, 0, 0}, {1, 1, 5}, ctx);
  o.padding = 2;
  EXPECT_EQ(conv1d(x, w5, Tensor(), o).to_vector<double>(), (V{4, 5, 1, 2, 3}));
  // causal: padded [0 0 1 2 3 4 5], y[t] = xp[t] − xp[t + 2] + 0.5
  Conv1dOptions c;
  c.padding = 2;
  c.padding_right = 0;
  EXPECT_EQ(conv1d(x, w, b, c).to_vector<double>(), (V{-0.5, -1.5, -1.5, -1.5, -1.5}));
  o.padding_right = 0;  // circular padding has to stay symmetric
  expect_error([&] { conv1d(x, w5, Tensor(), o); }, "circular padding is symmetric");
  c.padding_right = -2;
  expect_error([&] { conv1d(x, w, b, c); }, "padding_right must be >= 0");
}

// Channels-last equals the (N, C, L) convolution of the transposed input, transposed back, for
// zeros and circular padding.
TEST(Conv1d, ChannelsLastMatchesTransposedLayout) {
  Context ctx;
  Tensor x = random_leaf({3, 10, 4}, ctx), w = random_leaf({5, 4, 3}, ctx),
         b = random_leaf({5}, ctx);
  for (PaddingMode mode : {PaddingMode::Zeros, PaddingMode::Circular}) {
    Conv1dOptions o{1, 1, 2, 1, mode};
    Tensor want = permute(conv1d(permute(x, {0, 2, 1}), w, b, o), {0, 2, 1});
    o.channels_last = true;
    Tensor got = conv1d(x, w, b, o);
    EXPECT_EQ(got.shape(), want.shape());
    EXPECT_TRUE(all_close(got, want, 1e-12));
  }
  Conv1dOptions cl;
  cl.channels_last = true;
  expect_error(
      [&] {
        conv1d(permute(x, {0, 2, 1}), w, b, cl);
      },
      "channels-last (N, L, C_in) input of shape (3, 4, 10) has 10 channels");
}

TEST(Conv1d, HandComputedStrideDilationChannels) {
  Context ctx;
  Tensor x = T64({1, 2, 3, 4, 5, 6}, {1, 1, 6}, ctx);
  Conv1dOptions o;
  o.stride = 2;
  o.dilation = 2;
  // L_out = (6 − 2·1 − 1) / 2 + 1 = 2; y0 = x0 + x2, y1 = x2 + x4
  EXPECT_EQ(conv1d(x, T64({1, 1}, {1, 1, 2}, ctx), Tensor(), o).to_vector<double>(), (V{4, 8}));
  // Two input channels, two output channels, kernel 1 (pointwise path).
  Tensor x2 = T64({1, 2, 3, 10, 20, 30}, {1, 2, 3}, ctx);
  Tensor w2 = T64({1, 1, 1, -1}, {2, 2, 1}, ctx);
  EXPECT_EQ(conv1d(x2, w2, T64({0, 1}, {2}, ctx)).to_vector<double>(),
            (V{11, 22, 33, -8, -17, -26}));
  // groups = 2: each output channel sees its own input channel.
  Conv1dOptions g;
  g.groups = 2;
  Tensor wg = T64({2, -1}, {2, 1, 1}, ctx);
  EXPECT_EQ(conv1d(x2, wg, Tensor(), g).to_vector<double>(), (V{2, 4, 6, -10, -20, -30}));
  // Unbatched (C, L) input.
  EXPECT_EQ(conv1d(reshape(x2, {2, 3}), w2, Tensor()).shape(), Shape({2, 3}));
}

TEST(Conv1d, FastMatchesReferenceFloat32) {
  Context ctx;
  struct Case {
    int64_t n, c_in, l, c_out, k, stride, pad, dil, groups;
    PaddingMode mode;
  };
  for (Case c : {Case{2, 3, 17, 4, 3, 1, 1, 1, 1, PaddingMode::Circular},
                 Case{3, 4, 20, 6, 5, 2, 2, 2, 2, PaddingMode::Zeros},
                 Case{1, 7, 96, 16, 3, 1, 1, 1, 1, PaddingMode::Circular},
                 Case{2, 8, 33, 8, 1, 1, 0, 1, 4, PaddingMode::Zeros}}) {
    Tensor x = Tensor::uniform({c.n, c.c_in, c.l}, -1, 1, DType::F64, ctx);
    Tensor w = Tensor::uniform({c.c_out, c.c_in / c.groups, c.k}, -1, 1, DType::F64, ctx);
    Tensor b = Tensor::uniform({c.c_out}, -1, 1, DType::F64, ctx);
    Conv1dOptions o{c.stride, c.pad, c.dil, c.groups, c.mode};
    Tensor y64 = conv1d(x, w, b, o);
    Tensor y32 = conv1d(x.copy_as(DType::F32), w.copy_as(DType::F32), b.copy_as(DType::F32), o);
    EXPECT_TRUE(all_close(y32, y64, 1e-5, 1e-4));
    if (c.mode == PaddingMode::Zeros) {
      kernels::Conv1dShape s{c.n, c.c_in, c.l, c.c_out, c.k, c.stride, c.pad, c.dil, c.groups};
      Tensor ref = Tensor::empty(y64.shape(), DType::F64, ctx);
      kernels::conv1d_forward_reference(s, x.data<double>(), w.data<double>(), b.data<double>(),
                                        ref.data<double>());
      EXPECT_TRUE(all_close(y64, ref, 1e-12));
    }
  }
}

TEST(Conv1d, Errors) {
  Context ctx;
  Tensor x = Tensor::zeros({2, 3, 10}, DType::F32, ctx);
  expect_error(
      [&] {
        conv1d(x, Tensor::zeros({4, 2, 3}, DType::F32, ctx), Tensor());
      },
      "has 3 channels but weight of shape (4, 2, 3) expects 2");
  Conv1dOptions g;
  g.groups = 2;
  expect_error(
      [&] {
        conv1d(x, Tensor::zeros({4, 1, 3}, DType::F32, ctx), Tensor(), g);
      },
      "has 3 channels");
  expect_error(
      [&] {
        conv1d(x, Tensor::zeros({4, 3, 11}, DType::F32, ctx), Tensor());
      },
      "too short");
  expect_error(
      [&] {
        conv1d(x, Tensor::zeros({4, 3, 3}, DType::F32, ctx), Tensor::zeros({5}, DType::F32, ctx));
      },
      "bias of shape (5)");
  expect_error(
      [&] {
        conv1d(Tensor::zeros({3, 10, 2, 2}, DType::F32, ctx), Tensor(), Tensor());
      },
      "(N, C_in, L)");
}

TEST(Pool1d, HandComputed) {
  Context ctx;
  Tensor x = T64({1, 5, 2, 4, 3, 0}, {1, 1, 6}, ctx);
  EXPECT_EQ(max_pool1d(x, 2).to_vector<double>(), (V{5, 4, 3}));
  EXPECT_EQ(max_pool1d(x, 3, 1).to_vector<double>(), (V{5, 5, 4, 4}));
  // padding 1 pads −inf: windows [−inf 1] [5 2] [4 3] [0 −inf]
  EXPECT_EQ(max_pool1d(x, 2, 2, 1).to_vector<double>(), (V{1, 5, 4, 0}));
  EXPECT_EQ(avg_pool1d(x, 2).to_vector<double>(), (V{3, 3, 1.5}));
  // count_include_pad: [0 1] [5 2] [4 3] [0 0] / 2
  EXPECT_EQ(avg_pool1d(x, 2, 2, 1).to_vector<double>(), (V{0.5, 3.5, 3.5, 0}));
  EXPECT_TRUE(all_close(avg_pool1d(x, 3, 1, 1),
                        T64({2, 8.0 / 3, 11.0 / 3, 3, 7.0 / 3, 1}, {1, 1, 6}, ctx), 1e-12));
  // Gradient of max goes to the argmax.
  Tensor xl = x.detach();
  xl.set_requires_grad(true);
  max_pool1d(xl, 3, 1).backward(Tensor::ones({1, 1, 4}, DType::F64, ctx));
  EXPECT_EQ(xl.grad().to_vector<double>(), (V{0, 2, 0, 2, 0, 0}));
  expect_error([&] { max_pool1d(x, 2, 2, 2); }, "at most half");
  expect_error([&] { avg_pool1d(x, 7); }, "too short");
}

TEST(Embedding, LookupGradAndErrors) {
  Context ctx;
  Tensor w = T64({0, 1, 10, 11, 20, 21}, {3, 2}, ctx);
  Tensor idx = Tensor::from_vector<int64_t>({2, 0, 2, 1}, {2, 2}, ctx);
  Tensor e = embedding(idx, w);
  EXPECT_EQ(e.shape(), Shape({2, 2, 2}));
  EXPECT_EQ(e.to_vector<double>(), (V{20, 21, 0, 1, 20, 21, 10, 11}));
  Tensor wl = random_leaf({3, 2}, ctx);
  EXPECT_TRUE(
      gradcheck([&](const std::vector<Tensor>& in) { return embedding(idx, in[0]); }, {wl}));
  // Repeated rows accumulate.
  Tensor wg = random_leaf({3, 2}, ctx);
  embedding(idx, wg).backward(Tensor::ones({2, 2, 2}, DType::F64, ctx));
  EXPECT_EQ(wg.grad().to_vector<double>(), (V{1, 1, 1, 1, 2, 2}));
  expect_error([&] { embedding(Tensor::from_vector<int64_t>({0, 3}, {2}, ctx), w); }, "index 3");
  expect_error([&] { embedding(Tensor::from_vector<int64_t>({-1}, {1}, ctx), w); }, "index -1");
  expect_error([&] { embedding(T64({0}, {1}, ctx), w); }, "int64");
}

}  // namespace
}  // namespace attend
