// exp for the softmax's non-positive arguments (x − max), per Highway target. Include it after
// hwy/highway.h inside a foreach_target translation unit.
// Per-target include guard (Highway's -inl.h convention).
#if defined(ATTEND_KERNELS_EXP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTEND_KERNELS_EXP_INL_H_
#undef ATTEND_KERNELS_EXP_INL_H_
#else
#define ATTEND_KERNELS_EXP_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {

// e^x for x ≤ 0 (and −inf), in about half the operations of hwy's Exp, which handles the whole
// range: x = n·ln 2 + r with n = round(x·log2 e) (the 1.5·2²³ shift leaves n in the low mantissa
// bits), r in [−ln2/2, ln2/2] through a two-part ln 2, e^r by its degree-6 Taylor polynomial
// (truncation r⁷/7! ≤ 1.2e-7), then 2ⁿ added to the exponent bits. Relative error ≤ 3e-7. Below
// x = −87.3 (e^x < 1.2e-38, the smallest normal float) the result is 0, as for −inf; a positive x
// is outside the contract.
template <class D, class V = hwy::HWY_NAMESPACE::Vec<D>>
HWY_INLINE V ExpNonPositive(D d, V x) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::RebindToSigned<D> di;
  const V lowest = hn::Set(d, -87.33f);     // n ≥ −126 with r ≥ 0: 2ⁿ·e^r stays normal
  const V shift = hn::Set(d, 12582912.0f);  // 1.5·2²³
  const auto keep = hn::Ge(x, lowest);
  x = hn::Max(x, lowest);
  const V t = hn::MulAdd(x, hn::Set(d, 1.44269504088896341f), shift);
  const V n = hn::Sub(t, shift);
  V r = hn::MulAdd(n, hn::Set(d, -0.693145751953125f), x);
  r = hn::MulAdd(n, hn::Set(d, -1.428606765330187045e-6f), r);
  V p = hn::Set(d, 1.0f / 720);
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f / 120));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f / 24));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f / 6));
  p = hn::MulAdd(p, r, hn::Set(d, 0.5f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f));
  // t's low bits hold n (two's complement); shifted by 23 they are 2ⁿ's exponent increment.
  const auto scale = hn::ShiftLeft<23>(hn::BitCast(di, t));
  const V y = hn::BitCast(d, hn::Add(hn::BitCast(di, p), scale));
  return hn::IfThenElseZero(keep, y);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#endif  // ATTEND_KERNELS_EXP_INL_H_
