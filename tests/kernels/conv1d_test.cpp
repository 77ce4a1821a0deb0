#include "attend/kernels/conv1d.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "attend/kernels/pool.h"
#include "support/random_vec.h"

namespace attend::kernels {
namespace {

using attend::testing::random_vec;

template <typename T>
void expect_near(const std::vector<T>& a, const std::vector<T>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(double(a[i]), double(b[i]), tol * (1 + std::abs(double(b[i])))) << what << " " << i;
}

// Fast (im2col + gemm) vs direct loops, forward and backward.
template <typename T>
void compare(const Conv1dShape& s, double tol) {
  std::mt19937 rng(static_cast<unsigned>(s.n + 7 * s.c_in + 31 * s.l_in + s.k));
  int64_t l_out = s.l_out();
  ASSERT_GT(l_out, 0);
  auto x = random_vec<T>(s.n * s.c_in * s.l_in, rng);
  auto w = random_vec<T>(s.c_out * (s.c_in / s.groups) * s.k, rng);
  auto b = random_vec<T>(s.c_out, rng);
  auto dy = random_vec<T>(s.n * s.c_out * l_out, rng);
  std::vector<T> col(std::max<int64_t>(1, s.scratch_size()));
  std::vector<T> y(dy.size()), yr(dy.size());
  conv1d_forward(s, x.data(), w.data(), b.data(), y.data(), col.data(), 2);
  conv1d_forward_reference(s, x.data(), w.data(), b.data(), yr.data());
  expect_near(y, yr, tol, "y");
  conv1d_forward(s, x.data(), w.data(), static_cast<const T*>(nullptr), y.data(), col.data(), 2);
  conv1d_forward_reference(s, x.data(), w.data(), static_cast<const T*>(nullptr), yr.data());
  expect_near(y, yr, tol, "y (no bias)");
  std::vector<T> dx(x.size(), T(7)), dxr(x.size()), dw(w.size(), T(7)), dwr(w.size()),
      db(b.size(), T(7)), dbr(b.size());
  // y (the no-bias forward's output) is what a fused ReLU's backward masks dy with
  conv1d_backward_reference(s, x.data(), w.data(), dy.data(), dxr.data(), dwr.data(), dbr.data(),
                            yr.data());
  // Reusing the forward's im2col matrix (col still holds it): twice, since it must stay intact.
  std::vector<T> work(col.size());
  for (int pass = 0; pass < 2; ++pass) {
    std::fill(dx.begin(), dx.end(), T(7));
    std::fill(dw.begin(), dw.end(), T(7));
    conv1d_backward(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(),
                    static_cast<T*>(nullptr), work.data(), 2, static_cast<const T*>(col.data()),
                    static_cast<const T*>(yr.data()));
    expect_near(dx, dxr, tol, "dx (forward's col)");
    expect_near(dw, dwr, tol, "dw (forward's col)");
  }
  conv1d_backward(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), col.data(), 2,
                  static_cast<const T*>(nullptr), static_cast<const T*>(yr.data()));
  expect_near(dx, dxr, tol, "dx");
  expect_near(dw, dwr, tol, "dw");
  expect_near(db, dbr, tol, "db");
}

TEST(Conv1dKernel, FastMatchesReference) {
  // n, c_in, l_in, c_out, k, stride, padding, dilation, groups
  for (Conv1dShape s :
       {Conv1dShape{1, 1, 5, 1, 3, 1, 1, 1, 1}, Conv1dShape{2, 3, 17, 4, 3, 1, 1, 1, 1},
        Conv1dShape{3, 4, 19, 6, 5, 2, 2, 1, 2}, Conv1dShape{2, 2, 23, 3, 3, 3, 0, 3, 1},
        Conv1dShape{4, 8, 31, 8, 1, 1, 0, 1, 8}, Conv1dShape{2, 6, 12, 4, 1, 1, 0, 1, 1},
        Conv1dShape{2, 5, 9, 7, 2, 1, 1, 2, 1}, Conv1dShape{8, 16, 96, 32, 3, 1, 1, 1, 1},
        Conv1dShape{2, 3, 10, 2, 1, 2, 0, 1, 1},
        // one sample: pointwise (x is the im2col matrix), grouped, strided
        Conv1dShape{1, 6, 12, 4, 1, 1, 0, 1, 1}, Conv1dShape{1, 4, 19, 6, 5, 2, 2, 1, 2},
        // TCN's second block: dilation 2, padding (K − 1)·2 on both sides
        Conv1dShape{5, 16, 40, 16, 3, 1, 4, 2, 1},
        // causal: padding before the input only (padding_right 0), and a longer right side
        Conv1dShape{3, 5, 20, 4, 3, 1, 4, 2, 1, 0}, Conv1dShape{2, 3, 9, 2, 2, 2, 1, 1, 1, 3}}) {
    SCOPED_TRACE(::testing::Message()
                 << "n=" << s.n << " c_in=" << s.c_in << " l=" << s.l_in << " k=" << s.k
                 << " stride=" << s.stride << " pad=" << s.padding << " pad_right=" << s.pad_right()
                 << " dil=" << s.dilation << " g=" << s.groups);
    compare<float>(s, 1e-4);
    compare<double>(s, 1e-12);
    Conv1dShape cl = s;  // the same convolution on channels-last tensors
    cl.channels_last = true;
    SCOPED_TRACE("channels_last");
    compare<float>(cl, 1e-4);
    compare<double>(cl, 1e-12);
    for (bool channels_last : {false, true}) {  // with the fused ReLU
      Conv1dShape r = s;
      r.channels_last = channels_last;
      r.relu = true;
      SCOPED_TRACE(channels_last ? "relu, channels_last" : "relu");
      compare<float>(r, 1e-4);
      compare<double>(r, 1e-12);
    }
  }
}

// The fused ReLU is max(conv + bias, 0), and its backward passes dy only where y > 0.
TEST(Conv1dKernel, FusedReluIsReluOfTheConvolution) {
  for (bool channels_last : {false, true}) {
    Conv1dShape s{3, 4, 15, 5, 3, 1, 2, 1, 1, 0, channels_last};
    std::mt19937 rng(5);
    auto x = random_vec<double>(s.n * s.c_in * s.l_in, rng);
    auto w = random_vec<double>(s.c_out * s.c_in * s.k, rng);
    auto b = random_vec<double>(s.c_out, rng);
    const size_t ny = static_cast<size_t>(s.n * s.c_out * s.l_out());
    std::vector<double> y(ny), yr(ny);
    std::vector<double> scratch(s.scratch_size());
    conv1d_forward(s, x.data(), w.data(), b.data(), y.data(), scratch.data(), 1);
    Conv1dShape r = s;
    r.relu = true;
    std::vector<double> scratch_r(r.scratch_size());
    conv1d_forward(r, x.data(), w.data(), b.data(), yr.data(), scratch_r.data(), 1);
    int negative = 0;
    for (size_t i = 0; i < ny; ++i) {
      ASSERT_EQ(yr[i], std::max(y[i], 0.0)) << i;
      negative += y[i] < 0;
    }
    EXPECT_GT(negative, 0);
    // dy masked by hand through the plain backward equals the fused backward
    auto dy = random_vec<double>(ny, rng);
    std::vector<double> dym(ny), dx(x.size()), dw(w.size()), db(b.size()), dxr(x.size()),
        dwr(w.size()), dbr(b.size());
    for (size_t i = 0; i < ny; ++i) dym[i] = yr[i] > 0 ? dy[i] : 0;
    conv1d_backward(s, x.data(), w.data(), dym.data(), dxr.data(), dwr.data(), dbr.data(),
                    scratch.data(), 1);
    conv1d_backward(r, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(),
                    scratch_r.data(), 1, static_cast<const double*>(nullptr),
                    static_cast<const double*>(yr.data()));
    expect_near(dx, dxr, 1e-12, "dx");
    expect_near(dw, dwr, 1e-12, "dw");
    expect_near(db, dbr, 1e-12, "db");
  }
}

// Channels-last on (N, L, C) data equals the (N, C, L) reference on the same data transposed.
TEST(Conv1dKernel, ChannelsLastIsTheTransposedConvolution) {
  for (Conv1dShape s :
       {Conv1dShape{3, 5, 20, 4, 3, 1, 4, 2, 1, 0}, Conv1dShape{2, 4, 11, 6, 3, 2, 1, 1, 2},
        Conv1dShape{2, 7, 9, 8, 1, 1, 0, 1, 1}}) {
    std::mt19937 rng(11);
    const int64_t l_out = s.l_out();
    auto x = random_vec<double>(s.n * s.c_in * s.l_in, rng);
    auto w = random_vec<double>(s.c_out * (s.c_in / s.groups) * s.k, rng);
    auto b = random_vec<double>(s.c_out, rng);
    std::vector<double> x_nlc(x.size()), y(s.n * s.c_out * l_out), y_nlc(y.size());
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t c = 0; c < s.c_in; ++c)
        for (int64_t t = 0; t < s.l_in; ++t)
          x_nlc[(n * s.l_in + t) * s.c_in + c] = x[(n * s.c_in + c) * s.l_in + t];
    conv1d_forward_reference(s, x.data(), w.data(), b.data(), y.data());
    Conv1dShape cl = s;
    cl.channels_last = true;
    std::vector<double> scratch(std::max<int64_t>(1, cl.scratch_size()));
    conv1d_forward(cl, x_nlc.data(), w.data(), b.data(), y_nlc.data(), scratch.data(), 1);
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t o = 0; o < s.c_out; ++o)
        for (int64_t t = 0; t < l_out; ++t)
          ASSERT_NEAR(y_nlc[(n * l_out + t) * s.c_out + o], y[(n * s.c_out + o) * l_out + t],
                      1e-12);
  }
}

TEST(Conv1dKernel, HandComputed) {
  // x = [1 2 3 4 5], w = [1 0 −1], padding 1: y = [−2 −2 −2 −2 4]
  Conv1dShape s{1, 1, 5, 1, 3, 1, 1, 1, 1};
  std::vector<float> x{1, 2, 3, 4, 5}, w{1, 0, -1}, y(5), col(s.scratch_size());
  conv1d_forward(s, x.data(), w.data(), static_cast<const float*>(nullptr), y.data(), col.data(),
                 1);
  EXPECT_EQ(y, (std::vector<float>{-2, -2, -2, -2, 4}));
}

TEST(Conv1dKernel, Col2imIsAdjointOfIm2col) {
  Conv1dShape s{1, 3, 11, 1, 4, 2, 3, 2, 1};
  std::mt19937 rng(3);
  auto x = random_vec<double>(s.c_in * s.l_in, rng);
  auto c = random_vec<double>(s.c_in * s.k * s.l_out(), rng);
  std::vector<double> col(c.size()), dx(x.size(), 0.0);
  im2col1d(s, x.data(), col.data(), s.l_out());
  col2im1d(s, c.data(), dx.data(), s.l_out());
  double lhs = 0, rhs = 0;
  for (size_t i = 0; i < c.size(); ++i) lhs += col[i] * c[i];
  for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * dx[i];
  EXPECT_NEAR(lhs, rhs, 1e-12);
}

// The stride-1 average (a running sum) against the direct window sums, for every padding up to
// the window and inputs of mixed magnitude, where a float running sum would drift.
TEST(PoolKernel, SlidingAverageMatchesDirectSums) {
  const int64_t l_in = 97;
  std::vector<float> x(2 * l_in);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>((i % 7 == 0 ? 1e4 : 1.0) * std::sin(0.37 * static_cast<double>(i)));
  for (int64_t k : {1, 2, 5, 25}) {
    for (int64_t pad = 0; pad <= k / 2; ++pad) {
      int64_t l_out = l_in + 2 * pad - k + 1;
      std::vector<float> y(2 * l_out);
      avg_pool1d_forward(x.data(), 2, l_in, k, 1, pad, l_out, y.data(), 1);
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t t = 0; t < l_out; ++t) {
          double want = 0;
          for (int64_t i = t - pad; i < t - pad + k; ++i)
            if (i >= 0 && i < l_in) want += x[r * l_in + i];
          want /= static_cast<double>(k);
          ASSERT_NEAR(y[r * l_out + t], want, 1e-6 * (1 + std::abs(want)))
              << "k " << k << " pad " << pad << " row " << r << " t " << t;
        }
    }
  }
}

TEST(PoolKernel, MaxAndAvg) {
  std::vector<float> x{1, 5, 2, 4, 3, 0}, y(4);
  std::vector<int64_t> arg(4);
  max_pool1d_forward(x.data(), 1, 6, 2, 2, 1, 4, y.data(), arg.data(), 1);
  EXPECT_EQ(y, (std::vector<float>{1, 5, 4, 0}));
  EXPECT_EQ(arg, (std::vector<int64_t>{0, 1, 3, 5}));
  std::vector<float> dy{1, 2, 3, 4}, dx(6);
  max_pool1d_backward(dy.data(), arg.data(), 1, 6, 4, dx.data());
  EXPECT_EQ(dx, (std::vector<float>{1, 2, 0, 3, 0, 4}));
  avg_pool1d_forward(x.data(), 1, 6, 2, 2, 1, 4, y.data(), 1);
  EXPECT_EQ(y, (std::vector<float>{0.5, 3.5, 3.5, 0}));
  avg_pool1d_backward(dy.data(), 1, 6, 2, 2, 1, 4, dx.data());
  // windows [−1, 0] [1, 2] [3, 4] [5, 6], each passing dy / 2
  EXPECT_EQ(dx, (std::vector<float>{0.5, 1, 1, 1.5, 1.5, 2}));
  // NaN propagates through max.
  std::vector<float> xn{1, NAN, 2, 3};
  std::vector<float> yn(2);
  std::vector<int64_t> an(2);
  max_pool1d_forward(xn.data(), 1, 4, 2, 2, 0, 2, yn.data(), an.data(), 1);
  EXPECT_TRUE(std::isnan(yn[0]));
  EXPECT_EQ(yn[1], 3.f);
}

}  // namespace
}  // namespace attend::kernels
