#include "attend/kernels/adam.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace attend::kernels {
namespace {

// Highway float32 update against the reference loop, over several steps, for every variant
// (plain, L2 weight decay, decoupled decay, amsgrad) and lengths around the vector width.
TEST(AdamKernel, FastMatchesReference) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t n : {1, 7, 15, 16, 17, 100, 1000, 70001})
    for (int variant = 0; variant < 4; ++variant) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " variant=" << variant);
      const double lr = 1e-2, b1 = 0.9, b2 = 0.999, wd = variant == 1 || variant == 2 ? 0.1 : 0.0;
      const bool amsgrad = variant == 3;
      std::vector<float> p(n), m(n, 0.f), v(n, 0.f), vmax(n, 0.f);
      for (auto& x : p) x = u(rng);
      std::vector<float> pr = p, mr = m, vr = v, vmaxr = vmax;
      for (int t = 1; t <= 3; ++t) {
        std::vector<float> g(n);
        for (auto& x : g) x = u(rng);
        AdamCoefficients<float> c{float(b1),
                                  float(b2),
                                  float(1 - b1),
                                  float(1 - b2),
                                  1e-8f,
                                  float(std::sqrt(1 - std::pow(b2, t))),
                                  float(-lr / (1 - std::pow(b1, t))),
                                  float(wd),
                                  float(1 - lr * wd),
                                  variant == 2};
        adam_update(c, p.data(), g.data(), m.data(), v.data(), amsgrad ? vmax.data() : nullptr, n,
                    2);
        adam_update_reference(c, pr.data(), g.data(), mr.data(), vr.data(),
                              amsgrad ? vmaxr.data() : nullptr, n);
      }
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_NEAR(p[i], pr[i], 1e-6f * (1 + std::abs(pr[i]))) << i;
        ASSERT_NEAR(m[i], mr[i], 1e-6f * (1 + std::abs(mr[i]))) << i;
        ASSERT_NEAR(v[i], vr[i], 1e-6f * (1 + std::abs(vr[i]))) << i;
        if (amsgrad) ASSERT_NEAR(vmax[i], vmaxr[i], 1e-6f * (1 + std::abs(vmaxr[i]))) << i;
      }
    }
}

// One step from zero moments moves every parameter by −lr·sign(g) (up to eps): Adam's first step.
TEST(AdamKernel, FirstStepIsLrTimesSign) {
  const int64_t n = 37;
  std::vector<float> p(n, 0.5f), g(n), m(n, 0.f), v(n, 0.f);
  for (int64_t i = 0; i < n; ++i) g[i] = (i % 2 ? 1.f : -1.f) * float(i + 1);
  AdamCoefficients<float> c{0.9f, 0.999f, 0.1f, 0.001f, 1e-8f, std::sqrt(0.001f), -0.01f / 0.1f};
  adam_update(c, p.data(), g.data(), m.data(), v.data(), nullptr, n, 1);
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(p[i], 0.5f - 0.01f * (g[i] > 0 ? 1 : -1), 1e-6f);
}

}  // namespace
}  // namespace attend::kernels
