// Bernoulli draws for dropout masks: a Highway path hashing a vector of counters at once (64-bit
// lane products: native on AVX-512, three 32 × 32 → 64-bit products on AVX2), and the scalar
// reference twin. The draws can fill a mask or scale a tensor directly (a dropout that stores no
// mask: its backward replays the same draws on the gradient).
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/random.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <algorithm>

#include "attend/kernels/random.h"

#ifndef ATTEND_KERNELS_RANDOM_SCALAR_ONCE  // foreach_target includes this file once per target
#define ATTEND_KERNELS_RANDOM_SCALAR_ONCE
namespace attend::kernels {
namespace detail {

// Draws [i, n) of the range, one at a time (also the unaligned head and the tail of the SIMD path):
// out[i] = m or x[i] · m, m = draw16(first + i) < threshold ? below : above.
inline void draw16_scalar(uint64_t seed, uint64_t first, int64_t i, int64_t n, uint32_t threshold,
                          float below, float above, const float* x, float* out) {
  while (i < n) {
    const uint64_t c = first + static_cast<uint64_t>(i);
    uint64_t h = random_bits(seed, c >> 2) >> (16 * (c & 3));
    for (uint64_t lane = c & 3; lane < 4 && i < n; ++lane, ++i, h >>= 16) {
      const float m = (h & 0xFFFF) < threshold ? below : above;
      out[i] = x ? x[i] * m : m;
    }
  }
}

}  // namespace detail
}  // namespace attend::kernels
#endif

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
// a · b mod 2^64 per 64-bit lane.
template <class D, class V>
HWY_INLINE V Mul64(D d64, V a, V b) {
#if HWY_TARGET <= HWY_AVX3
  (void)d64;
  return a * b;
#else
  // a·b = a_lo·b_lo + 2^32·(a_hi·b_lo + a_lo·b_hi)  (mod 2^64); MulEven: u32 lanes 0, 2, ... → u64
  const hn::Repartition<uint32_t, D> d32;
  const auto a32 = hn::BitCast(d32, a), b32 = hn::BitCast(d32, b);
  const auto a_hi = hn::BitCast(d32, hn::ShiftRight<32>(a));
  const auto b_hi = hn::BitCast(d32, hn::ShiftRight<32>(b));
  const V cross = hn::MulEven(a_hi, b32) + hn::MulEven(a32, b_hi);
  return hn::MulEven(a32, b32) + hn::ShiftLeft<32>(cross);
#endif
}
#endif

// x == nullptr: out[i] = m_i; else out[i] = x[i] · m_i  (m_i as in draw16_scalar).
void Draw16(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold, float below, float above,
            const float* x, float* out) {
  int64_t i = 0;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  if (threshold > 0 && threshold < 65536) {
    const hn::ScalableTag<uint64_t> d64;
    const hn::Repartition<uint16_t, decltype(d64)> d16;  // 4 draws per 64-bit hash
    const hn::Half<decltype(d16)> d16h;
    const hn::Rebind<uint32_t, decltype(d16h)> d32;
    const hn::Rebind<float, decltype(d32)> df;
    const int64_t n64 = static_cast<int64_t>(hn::Lanes(d64)),
                  n32 = static_cast<int64_t>(hn::Lanes(d32));
    // Scalar draws up to the first counter that starts a hash (c ≡ 0 mod 4).
    const int64_t head = std::min<int64_t>(n, static_cast<int64_t>((4 - (first & 3)) & 3));
    detail::draw16_scalar(seed, first, 0, head, threshold, below, above, x, out);
    i = head;
    const auto k0 = hn::Set(d64, seed * 0xD1B54A32D192ED03ull);
    const auto k1 = hn::Set(d64, 0x9E3779B97F4A7C15ull);
    const auto m1 = hn::Set(d64, 0xBF58476D1CE4E5B9ull);
    const auto m2 = hn::Set(d64, 0x94D049BB133111EBull);
    const auto thr = hn::Set(d32, threshold);
    const auto vb = hn::Set(df, below), va = hn::Set(df, above);
    for (; i + 4 * n64 <= n; i += 4 * n64) {
      // Hash counters h0 .. h0 + n64 − 1, h0 = (first + i) / 4.
      const uint64_t h0 = (first + static_cast<uint64_t>(i)) >> 2;
      auto z = k0 + Mul64(d64, hn::Iota(d64, h0 + 1), k1);
      z = Mul64(d64, hn::Xor(z, hn::ShiftRight<30>(z)), m1);
      z = Mul64(d64, hn::Xor(z, hn::ShiftRight<27>(z)), m2);
      z = hn::Xor(z, hn::ShiftRight<31>(z));
      // Little-endian: 16-bit lane 4k + m holds bits 16m.. of hash k, i.e. draw 4·(h0 + k) + m.
      const auto v16 = hn::BitCast(d16, z);
      const auto lo = hn::PromoteTo(d32, hn::LowerHalf(d16h, v16));
      const auto hi = hn::PromoteTo(d32, hn::UpperHalf(d16h, v16));
      auto m_lo = hn::IfThenElse(hn::RebindMask(df, hn::Lt(lo, thr)), vb, va);
      auto m_hi = hn::IfThenElse(hn::RebindMask(df, hn::Lt(hi, thr)), vb, va);
      if (x) {
        m_lo = hn::Mul(hn::LoadU(df, x + i), m_lo);
        m_hi = hn::Mul(hn::LoadU(df, x + i + n32), m_hi);
      }
      hn::StoreU(m_lo, df, out + i);
      hn::StoreU(m_hi, df, out + i + n32);
    }
  }
#endif
  detail::draw16_scalar(seed, first, i, n, threshold, below, above, x, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(Draw16);

void fill_draw16(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold, float below,
                 float above, float* out) {
  HWY_DYNAMIC_DISPATCH(Draw16)(seed, first, n, threshold, below, above, nullptr, out);
}

void fill_draw16_reference(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold,
                           float below, float above, float* out) {
  detail::draw16_scalar(seed, first, 0, n, threshold, below, above, nullptr, out);
}

void mul_draw16(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold, float below,
                float above, const float* x, float* out) {
  HWY_DYNAMIC_DISPATCH(Draw16)(seed, first, n, threshold, below, above, x, out);
}

void mul_draw16_reference(uint64_t seed, uint64_t first, int64_t n, uint32_t threshold, float below,
                          float above, const float* x, float* out) {
  detail::draw16_scalar(seed, first, 0, n, threshold, below, above, x, out);
}

}  // namespace attend::kernels
#endif
