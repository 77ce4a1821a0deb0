// Adam update: a Highway (runtime-dispatched) float32 path and the plain reference twin.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/adam.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <algorithm>
#include <cmath>

#include "attend/kernels/adam.h"
#include "attend/kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Elements [0, n) of the update, in the order of operations of adam_update_reference.
void AdamRange(const AdamCoefficients<float>& c, float* HWY_RESTRICT p, const float* HWY_RESTRICT g,
               float* HWY_RESTRICT m, float* HWY_RESTRICT v, float* HWY_RESTRICT vmax, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = hn::Lanes(d);
  const auto b1 = hn::Set(d, c.beta1), b2 = hn::Set(d, c.beta2), o1 = hn::Set(d, c.one_minus_beta1),
             o2 = hn::Set(d, c.one_minus_beta2), eps = hn::Set(d, c.eps),
             bc2 = hn::Set(d, c.bc2_sqrt), step = hn::Set(d, c.neg_step),
             wd = hn::Set(d, c.weight_decay), decay = hn::Set(d, c.decay);
  const bool l2 = c.weight_decay != 0.0f && !c.decoupled;
  const bool decoupled = c.weight_decay != 0.0f && c.decoupled;
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    auto pv = hn::LoadU(d, p + i);
    auto gv = hn::LoadU(d, g + i);
    if (decoupled) pv = hn::Mul(pv, decay);
    if (l2) gv = hn::Add(gv, hn::Mul(wd, pv));
    const auto mv = hn::Add(hn::Mul(hn::LoadU(d, m + i), b1), hn::Mul(o1, gv));
    const auto vv = hn::Add(hn::Mul(hn::LoadU(d, v + i), b2), hn::Mul(hn::Mul(o2, gv), gv));
    hn::StoreU(mv, d, m + i);
    hn::StoreU(vv, d, v + i);
    auto vh = vv;
    if (vmax) {
      vh = hn::Max(hn::LoadU(d, vmax + i), vv);
      hn::StoreU(vh, d, vmax + i);
    }
    const auto denom = hn::Add(hn::Div(hn::Sqrt(vh), bc2), eps);
    hn::StoreU(hn::Add(pv, hn::Div(hn::Mul(step, mv), denom)), d, p + i);
  }
  if (i < n) adam_update_reference(c, p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr, n - i);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(AdamRange);

void adam_update(const AdamCoefficients<float>& c, float* p, const float* g, float* m, float* v,
                 float* vmax, int64_t n, int threads) {
  // ~10 flops and 5 streams per element
  parallel_chunks(n, threads, 4, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(AdamRange)
    (c, p + b, g + b, m + b, v + b, vmax ? vmax + b : nullptr, e - b);
  });
}

template <typename T>
void adam_update_reference(const AdamCoefficients<T>& c, T* p, const T* g, T* m, T* v, T* vmax,
                           int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    T gk = g[k];
    if (c.weight_decay != T(0)) {
      if (c.decoupled)
        p[k] = p[k] * c.decay;
      else
        gk = gk + c.weight_decay * p[k];
    }
    m[k] = m[k] * c.beta1 + c.one_minus_beta1 * gk;
    v[k] = v[k] * c.beta2 + c.one_minus_beta2 * gk * gk;
    T vh = v[k];
    if (vmax) {
      vmax[k] = std::max(vmax[k], v[k]);
      vh = vmax[k];
    }
    const T denom = std::sqrt(vh) / c.bc2_sqrt + c.eps;
    p[k] = p[k] + c.neg_step * m[k] / denom;
  }
}

template void adam_update_reference<float>(const AdamCoefficients<float>&, float*, const float*,
                                           float*, float*, float*, int64_t);
template void adam_update_reference<double>(const AdamCoefficients<double>&, double*, const double*,
                                            double*, double*, double*, int64_t);

}  // namespace attend::kernels
#endif  // HWY_ONCE
