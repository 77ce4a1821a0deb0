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
        layer_norm_forward(x.data(), wp, bp, yf.data(), mf.data(), rf.data(), rows, d, 1e-5f, 2);
        layer_norm_forward_reference(x.data(), wp, bp, yr.data(), mr.data(), rr.data(), rows, d,
                                     1e-5f);
        for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(yf[i], yr[i], 1e-4f);
        for (int64_t i = 0; i < rows; ++i) ASSERT_NEAR(rf[i], rr[i], 1e-4f * rr[i]);
        std::vector<float> dxf(n), dxr(n), dwf(d), dwr(d), dbf(d), dbr(d);
        layer_norm_backward(x.data(), wp, mr.data(), rr.data(), g.data(), dxf.data(),
                            affine ? dwf.data() : nullptr, affine ? dbf.data() : nullptr, rows, d,
                            2);
        layer_norm_backward_reference(x.data(), wp, mr.data(), rr.data(), g.data(), dxr.data(),
                                      affine ? dwr.data() : nullptr, affine ? dbr.data() : nullptr,
                                      rows, d);
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
