// Fused attention kernel against its reference twin (float64) over a grid of shapes, including
// tails, Lq ≠ Lk, causal, additive masks with fully masked rows, dropout and strided layouts.
#include "attend/kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace attend::kernels {
namespace {

struct Case {
  int64_t b, h, lq, lk, dim, dim_v;
  bool causal;
  int mask;  // 0 none, 1 padding-style mask with fully masked rows, 2 additive random
  float dropout;
  bool blhd;  // inputs in (B, L, H, D) memory order
};

std::string name(const Case& c) {
  return "B" + std::to_string(c.b) + " H" + std::to_string(c.h) + " Lq" + std::to_string(c.lq) +
         " Lk" + std::to_string(c.lk) + " D" + std::to_string(c.dim) + " Dv" +
         std::to_string(c.dim_v) + (c.causal ? " causal" : "") + " mask" + std::to_string(c.mask) +
         " p" + std::to_string(c.dropout) + (c.blhd ? " BLHD" : " BHLD");
}

// The (B, H, len, dim) view of x, stored in (B, H, L, D) or (B, L, H, D) memory order.
template <typename T>
View<T, 4> layout(const Case& c, std::vector<T>& x, int64_t len, int64_t dim) {
  if (c.blhd) return {x.data(), {c.b, c.h, len, dim}, {len * c.h * dim, dim, c.h * dim, 1}};
  return {x.data(), {c.b, c.h, len, dim}, {c.h * len * dim, len * dim, dim, 1}};
}

double max_rel_err(const std::vector<float>& a, const std::vector<double>& b) {
  double scale = 1.0;  // inputs are standard normal: O(1) is the natural absolute scale
  for (double x : b) scale = std::max(scale, std::abs(x));
  double err = 0;
  for (size_t i = 0; i < a.size(); ++i) err = std::max(err, std::abs(a[i] - b[i]) / scale);
  return err;
}

void run_case(const Case& c, AttentionParams::Kernel kernel) {
  SCOPED_TRACE(name(c) + (kernel == AttentionParams::Kernel::Rows ? " rows" : " tiles"));
  std::mt19937 rng(static_cast<unsigned>(c.lq * 131 + c.lk * 7 + c.dim));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto fill = [&](size_t n) {
    std::vector<float> x(n);
    for (float& v : x) v = nd(rng);
    return x;
  };
  std::vector<float> q = fill(c.b * c.h * c.lq * c.dim), k = fill(c.b * c.h * c.lk * c.dim),
                     v = fill(c.b * c.h * c.lk * c.dim_v), dout = fill(c.b * c.h * c.lq * c.dim_v);
  // Mask (B, 1, Lq, Lk): mask 1 hides every key from queries i % 5 == 0 and keys j % 3 == 1.
  std::vector<float> mask_data;
  AttentionMask mask;
  if (c.mask) {
    mask_data.resize(c.b * c.lq * c.lk);
    for (int64_t b = 0; b < c.b; ++b)
      for (int64_t i = 0; i < c.lq; ++i)
        for (int64_t j = 0; j < c.lk; ++j) {
          float& m = mask_data[(b * c.lq + i) * c.lk + j];
          if (c.mask == 1)
            m = (i % 5 == 0 || j % 3 == 1) ? -INFINITY : 0.0f;
          else
            m = nd(rng);
        }
    mask = {mask_data.data(), {c.b, c.h, c.lq, c.lk}, {c.lq * c.lk, 0, c.lk, 1}};
  }
  AttentionParams p;
  p.scale = 1.0f / std::sqrt(static_cast<float>(c.dim));
  p.causal = c.causal;
  p.dropout_p = c.dropout;
  p.seed = 42;
  p.offset = 1000;
  p.kernel = kernel;

  // The kernels write every output element (the first key block with beta = 0): NaN beforehand
  // must not survive.
  std::vector<float> o(q.size() / c.dim * c.dim_v, std::nanf("")), lse(c.b * c.h * c.lq);
  attention_forward(layout(c, q, c.lq, c.dim), layout(c, k, c.lk, c.dim),
                    layout(c, v, c.lk, c.dim_v), mask, p, layout(c, o, c.lq, c.dim_v), lse.data(),
                    2);
  std::vector<double> q64(q.begin(), q.end()), k64(k.begin(), k.end()), v64(v.begin(), v.end()),
      do64(dout.begin(), dout.end()), o64(o.size()), lse64(lse.size());
  attention_forward_reference<double>(layout(c, q64, c.lq, c.dim), layout(c, k64, c.lk, c.dim),
                                      layout(c, v64, c.lk, c.dim_v), mask, p,
                                      layout(c, o64, c.lq, c.dim_v), lse64.data());
  EXPECT_LT(max_rel_err(o, o64), 2e-5);
  for (size_t i = 0; i < lse.size(); ++i) {
    if (std::isinf(lse64[i])) {
      ASSERT_TRUE(std::isinf(lse[i]) && lse[i] < 0) << "row " << i;
    } else {
      ASSERT_NEAR(lse[i], lse64[i], 1e-4 * (1 + std::abs(lse64[i]))) << "row " << i;
    }
  }
  for (float x : o) ASSERT_FALSE(std::isnan(x));
  // Inference passes no lse buffer: the same output.
  std::vector<float> o_no_lse(o.size(), -7.0f);
  attention_forward(layout(c, q, c.lq, c.dim), layout(c, k, c.lk, c.dim),
                    layout(c, v, c.lk, c.dim_v), mask, p, layout(c, o_no_lse, c.lq, c.dim_v),
                    nullptr, 2);
  EXPECT_EQ(o_no_lse, o);

  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward(layout(c, q, c.lq, c.dim), layout(c, k, c.lk, c.dim),
                     layout(c, v, c.lk, c.dim_v), mask, p, layout(c, o, c.lq, c.dim_v), lse.data(),
                     layout(c, dout, c.lq, c.dim_v), layout(c, dq, c.lq, c.dim),
                     layout(c, dk, c.lk, c.dim), layout(c, dv, c.lk, c.dim_v), 2);
  std::vector<double> dq64(q.size()), dk64(k.size()), dv64(v.size());
  attention_backward_reference<double>(
      layout(c, q64, c.lq, c.dim), layout(c, k64, c.lk, c.dim), layout(c, v64, c.lk, c.dim_v), mask,
      p, layout(c, do64, c.lq, c.dim_v), layout(c, dq64, c.lq, c.dim), layout(c, dk64, c.lk, c.dim),
      layout(c, dv64, c.lk, c.dim_v));
  EXPECT_LT(max_rel_err(dq, dq64), 5e-5);
  EXPECT_LT(max_rel_err(dk, dk64), 5e-5);
  EXPECT_LT(max_rel_err(dv, dv64), 5e-5);
  for (float x : dq) ASSERT_FALSE(std::isnan(x));
}

// Both fused kernels (tiled GEMM and row-wise) against the reference.
void run_case(const Case& c) {
  run_case(c, AttentionParams::Kernel::Tiles);
  run_case(c, AttentionParams::Kernel::Rows);
}

TEST(AttentionKernel, GridAgainstReference) {
  const int64_t lens[] = {1, 7, 96, 97, 336, 720};
  const int64_t dims[] = {8, 16, 64, 100};
  int n = 0;
  for (int64_t lq : lens)
    for (int64_t lk : lens) {
      for (bool causal : {false, true}) {
        int64_t dim = dims[n % 4];
        int64_t b = (n % 3 == 0) ? 3 : 1, h = (n % 2 == 0) ? 4 : (n % 5 == 0 ? 8 : 1);
        // Keep the float64 reference affordable on the longest shapes.
        if (lq * lk >= 336 * 336) b = 1, h = std::min<int64_t>(h, 2);
        run_case({b, h, lq, lk, dim, dim, causal, n % 3 == 1 ? 1 : 0, 0.0f, n % 2 == 1});
        ++n;
      }
    }
}

TEST(AttentionKernel, DifferentValueDim) {
  run_case({2, 3, 50, 70, 16, 24, false, 0, 0.0f, false});
  run_case({2, 3, 50, 70, 100, 8, true, 0, 0.0f, true});
}

TEST(AttentionKernel, AdditiveMask) {
  run_case({2, 4, 97, 96, 16, 16, false, 2, 0.0f, false});
  run_case({1, 2, 600, 700, 64, 64, true, 2, 0.0f, true});  // several key blocks
}

TEST(AttentionKernel, FullyMaskedRowsGiveZeros) {
  run_case({2, 2, 20, 30, 8, 8, false, 1, 0.0f, false});
  // Every key masked: output exactly zero, lse −inf, gradients zero.
  std::vector<float> q(6, 1.0f), k(8, 1.0f), v(8, 2.0f), o(6, 7.0f), lse(3), dout(6, 1.0f);
  std::vector<float> mask(12, -INFINITY);
  auto s3 = [](std::vector<float>& x) { return View<float, 4>::dense(x.data(), {1, 1, 3, 2}); };
  auto s4 = [](std::vector<float>& x) { return View<float, 4>::dense(x.data(), {1, 1, 4, 2}); };
  const AttentionMask all_masked{mask.data(), {1, 1, 3, 4}, {0, 0, 4, 1}};
  AttentionParams p;
  p.scale = 1.0f;
  attention_forward(s3(q), s4(k), s4(v), all_masked, p, s3(o), lse.data(), 1);
  for (float x : o) EXPECT_EQ(x, 0.0f);
  for (float x : lse) EXPECT_TRUE(std::isinf(x) && x < 0);
  std::vector<float> dq(6, 9.0f), dk(8, 9.0f), dv(8, 9.0f);
  attention_backward(s3(q), s4(k), s4(v), all_masked, p, s3(o), lse.data(), s3(dout), s3(dq),
                     s4(dk), s4(dv), 1);
  for (float x : dq) EXPECT_EQ(x, 0.0f);
  for (float x : dk) EXPECT_EQ(x, 0.0f);
  for (float x : dv) EXPECT_EQ(x, 0.0f);
}

TEST(AttentionKernel, DropoutSharesTheReferenceStream) {
  run_case({2, 2, 40, 600, 16, 16, false, 0, 0.25f, false});
  run_case({1, 3, 97, 97, 8, 8, true, 1, 0.5f, true});
  // Short heads that fit one vector (the row-wise kernel's register path): PatchTST's patches,
  // with dropout, masks, causal rows and value widths below the vector.
  run_case({3, 4, 12, 12, 16, 16, false, 0, 0.3f, true});
  run_case({2, 2, 12, 16, 16, 5, true, 1, 0.2f, false});
  run_case({2, 2, 9, 11, 4, 16, false, 2, 0.1f, true});
}

TEST(AttentionKernel, HandComputedTwoKeys) {
  // One query (1, 0), keys (1, 0) and (0, 1), scale 1: weights softmax(1, 0) = (e/(e+1), 1/(e+1)).
  std::vector<float> q{1, 0}, k{1, 0, 0, 1}, v{10, 20}, o(1), lse(1);
  AttentionParams p;
  p.scale = 1.0f;
  attention_forward(View<float, 4>::dense(q.data(), {1, 1, 1, 2}),
                    View<float, 4>::dense(k.data(), {1, 1, 2, 2}),
                    View<float, 4>::dense(v.data(), {1, 1, 2, 1}), {}, p,
                    View<float, 4>::dense(o.data(), {1, 1, 1, 1}), lse.data(), 1);
  double e = std::exp(1.0);
  EXPECT_NEAR(o[0], 10 * e / (e + 1) + 20 / (e + 1), 1e-5);
  EXPECT_NEAR(lse[0], std::log(e + 1), 1e-6);
}

}  // namespace
}  // namespace attend::kernels
