// Reduction kernels: Highway sum and plain loops.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/reduce.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <cmath>
#include <cstring>

#include "attend/kernels/parallel.h"
#include "attend/kernels/reduce.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Σ x[0..n).
HWY_INLINE float RowSum(const float* HWY_RESTRICT x, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = s0 + hn::LoadU(d, x + i);
    s1 = s1 + hn::LoadU(d, x + i + N);
    s2 = s2 + hn::LoadU(d, x + i + 2 * N);
    s3 = s3 + hn::LoadU(d, x + i + 3 * N);
  }
  for (; i + N <= n; i += N) s0 = s0 + hn::LoadU(d, x + i);
  float s = hn::GetLane(hn::SumOfLanes(d, (s0 + s1) + (s2 + s3)));
  for (; i < n; ++i) s += x[i];
  return s;
}

// out[o] = Σ_r x[o, r] for rows [o0, o1).
void SumRows(const float* x, float* out, int64_t o0, int64_t o1, int64_t n) {
  for (int64_t o = o0; o < o1; ++o) out[o] = RowSum(x + o * n, n);
}

// out[o, c0..c1) = Σ_r x[o, r, c0..c1) for one o.
void SumColumns(const float* HWY_RESTRICT x, float* HWY_RESTRICT out, int64_t n, int64_t inner,
                int64_t c0, int64_t c1) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t c = c0;
  for (; c + 2 * N <= c1; c += 2 * N) {
    auto a0 = hn::Zero(d), a1 = hn::Zero(d);
    for (int64_t r = 0; r < n; ++r) {
      a0 = a0 + hn::LoadU(d, x + r * inner + c);
      a1 = a1 + hn::LoadU(d, x + r * inner + c + N);
    }
    hn::StoreU(a0, d, out + c);
    hn::StoreU(a1, d, out + c + N);
  }
  for (; c < c1; ++c) {
    float s = 0;
    for (int64_t r = 0; r < n; ++r) s += x[r * inner + c];
    out[c] = s;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(SumRows);
HWY_EXPORT(SumColumns);

void sum_reduce(const float* x, float* out, int64_t outer, int64_t n, int64_t inner, int threads) {
  if (n == 0) {
    std::memset(out, 0, outer * inner * sizeof(float));
    return;
  }
  if (inner == 1) {
    parallel_chunks(outer, threads, n, [&](int64_t b, int64_t e) {
      HWY_DYNAMIC_DISPATCH(SumRows)(x, out, b, e, n);
    });
    return;
  }
  // Work items: (o, column block of 256).
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_chunks(outer * blocks, threads, n * std::min(inner, kBlock), [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      const int64_t o = w / blocks, c0 = (w % blocks) * kBlock;
      const int64_t c1 = std::min(inner, c0 + kBlock);
      HWY_DYNAMIC_DISPATCH(SumColumns)(x + o * n * inner, out + o * inner, n, inner, c0, c1);
    }
  });
}

template <typename T>
void sum_reduce_reference(const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      T s = 0;
      for (int64_t r = 0; r < n; ++r) s += x[(o * n + r) * inner + i];
      out[o * inner + i] = s;
    }
}

template <typename T>
void extremum_reduce(const T* x, T* out, int64_t* idx, int64_t outer, int64_t n, int64_t inner,
                     bool is_min) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* p = x + o * n * inner + i;
      T best = p[0];
      int64_t arg = 0;
      for (int64_t r = 1; r < n && !std::isnan(best); ++r) {
        const T v = p[r * inner];
        if (std::isnan(v) || (is_min ? v < best : v > best)) {
          best = v;
          arg = r;
        }
      }
      out[o * inner + i] = best;
      if (idx) idx[o * inner + i] = arg;
    }
}

template <typename T>
void cumsum(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* xo = x + o * n * inner;
    T* yo = out + o * n * inner;
    if (!reverse) {
      for (int64_t i = 0; i < inner; ++i) yo[i] = xo[i];
      for (int64_t r = 1; r < n; ++r)
        for (int64_t i = 0; i < inner; ++i)
          yo[r * inner + i] = yo[(r - 1) * inner + i] + xo[r * inner + i];
    } else {
      if (n == 0) continue;
      for (int64_t i = 0; i < inner; ++i) yo[(n - 1) * inner + i] = xo[(n - 1) * inner + i];
      for (int64_t r = n - 2; r >= 0; --r)
        for (int64_t i = 0; i < inner; ++i)
          yo[r * inner + i] = yo[(r + 1) * inner + i] + xo[r * inner + i];
    }
  }
}

template <typename T>
void broadcast_middle(const T* g, T* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* go = g + o * inner;
    T* yo = out + o * n * inner;
    if (inner == 1) {
      const T v = go[0];
      for (int64_t r = 0; r < n; ++r) yo[r] = v;
    } else {
      for (int64_t r = 0; r < n; ++r) std::memcpy(yo + r * inner, go, inner * sizeof(T));
    }
  }
}

#define ATTEND_INSTANTIATE(T)                                                                \
  template void sum_reduce_reference<T>(const T*, T*, int64_t, int64_t, int64_t);            \
  template void extremum_reduce<T>(const T*, T*, int64_t*, int64_t, int64_t, int64_t, bool); \
  template void cumsum<T>(const T*, T*, int64_t, int64_t, int64_t, bool);                    \
  template void broadcast_middle<T>(const T*, T*, int64_t, int64_t, int64_t);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend::kernels
#endif  // HWY_ONCE
