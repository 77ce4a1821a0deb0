// Fast layer-norm kernels vs their reference twins (with and without affine parameters).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "attend/kernels/layer_norm.h"

namespace attend::kernels {
namespace {

TEST(LayerNormKernel, MatchesReference) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-2, 2);
  for (bool affine : {true, false})
    for (int64_t rows : {1, 3, 700})
      for (int64_t d : {1, 5, 16, 31, 64, 130}) {
        const int64_t n = rows * d;
        std::vector<float> x(n), g(n), w(d), b(d);
        for (auto* v : {&x, &g, &w, &b})
          for (auto& e : *v) e = u(rng);
        std::vector<float> yf(n), yr(n), mf(rows), mr(rows), rf(rows), rr(rows);
        const float* wp = affine ? w.data() : nullptr;
        const float* bp = affine ? b.data() : nullptr;
        auto m = [&](std::vector<float>& v) { return View<float, 2>::dense(v.data(), {rows, d}); };
        layer_norm_forward(m(x), wp, bp, 1e-5f, m(yf), mf.data(), rf.data(), 2);
        layer_norm_forward_reference<float>(m(x), wp, bp, 1e-5f, m(yr), mr.data(), rr.data());
        for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(yf[i], yr[i], 1e-4f);
        for (int64_t i = 0; i < rows; ++i) ASSERT_NEAR(rf[i], rr[i], 1e-4f * rr[i]);
        std::vector<float> dxf(n), dxr(n), dwf(d), dwr(d), dbf(d), dbr(d);
        layer_norm_backward(m(x), wp, mr.data(), rr.data(), m(g), m(dxf),
                            affine ? dwf.data() : nullptr, affine ? dbf.data() : nullptr, 2);
        layer_norm_backward_reference<float>(m(x), wp, mr.data(), rr.data(), m(g), m(dxr),
                                             affine ? dwr.data() : nullptr,
                                             affine ? dbr.data() : nullptr);
        for (int64_t i = 0; i < n; ++i)
          ASSERT_NEAR(dxf[i], dxr[i], 1e-3f + 1e-4f * std::abs(dxr[i]));
        if (affine)
          for (int64_t i = 0; i < d; ++i) {
            ASSERT_NEAR(dwf[i], dwr[i], 1e-4f * rows + 1e-4f * std::abs(dwr[i]));
            ASSERT_NEAR(dbf[i], dbr[i], 1e-4f * rows + 1e-4f * std::abs(dbr[i]));
          }
      }
}

}  // namespace
}  // namespace attend::kernels
