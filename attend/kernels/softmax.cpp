// Softmax kernels: Highway rows and plain reference loops.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/softmax.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "attend/kernels/exp-inl.h"
// clang-format on

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attend/kernels/parallel.h"
#include "attend/kernels/softmax.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One row: y = softmax(x) or log_softmax(x).
HWY_INLINE void SoftmaxRow(const float* HWY_RESTRICT x, float* HWY_RESTRICT y, int64_t n,
                           bool log) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const float ninf = -std::numeric_limits<float>::infinity();
  // max
  auto vm = hn::Set(d, ninf);
  int64_t i = 0;
  for (; i + N <= n; i += N) vm = hn::Max(vm, hn::LoadU(d, x + i));
  float m = hn::GetLane(hn::MaxOfLanes(d, vm));
  for (; i < n; ++i) m = std::max(m, x[i]);
  // exp(x − max) and its sum; -inf inputs give 0.
  const auto vmax = hn::Set(d, m);
  auto vs = hn::Zero(d);
  i = 0;
  for (; i + N <= n; i += N) {
    const auto e = ExpNonPositive(d, hn::LoadU(d, x + i) - vmax);
    vs = vs + e;
    if (!log) hn::StoreU(e, d, y + i);
  }
  float s = hn::GetLane(hn::SumOfLanes(d, vs));
  if (i < n) {
    HWY_ALIGN float buf[HWY_MAX_BYTES / sizeof(float)];
    for (int64_t k = 0; k < N; ++k) buf[k] = -1e30f;
    for (int64_t k = i; k < n; ++k) buf[k - i] = x[k] - m;
    const auto e = ExpNonPositive(d, hn::Load(d, buf));
    hn::Store(e, d, buf);
    for (int64_t k = i; k < n; ++k) {
      s += buf[k - i];
      if (!log) y[k] = buf[k - i];
    }
  }
  if (log) {
    const auto shift = hn::Set(d, m + std::log(s));
    i = 0;
    for (; i + N <= n; i += N) hn::StoreU(hn::LoadU(d, x + i) - shift, d, y + i);
    const float sh = m + std::log(s);
    for (; i < n; ++i) y[i] = x[i] - sh;
  } else {
    const float inv = 1.0f / s;
    const auto vinv = hn::Set(d, inv);
    i = 0;
    for (; i + N <= n; i += N) hn::StoreU(hn::LoadU(d, y + i) * vinv, d, y + i);
    for (; i < n; ++i) y[i] *= inv;
  }
}

HWY_INLINE void SoftmaxBackwardRow(const float* HWY_RESTRICT y, const float* HWY_RESTRICT dy,
                                   float* HWY_RESTRICT dx, int64_t n, bool log) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto acc = hn::Zero(d);
  int64_t i = 0;
  if (log) {
    for (; i + N <= n; i += N) acc = acc + hn::LoadU(d, dy + i);
    float s = hn::GetLane(hn::SumOfLanes(d, acc));
    for (; i < n; ++i) s += dy[i];
    const auto vs = hn::Set(d, s);
    i = 0;
    for (; i + N <= n; i += N)
      hn::StoreU(hn::NegMulAdd(hn::Exp(d, hn::LoadU(d, y + i)), vs, hn::LoadU(d, dy + i)), d,
                 dx + i);
    for (; i < n; ++i) dx[i] = dy[i] - std::exp(y[i]) * s;
  } else {
    for (; i + N <= n; i += N) acc = hn::MulAdd(hn::LoadU(d, dy + i), hn::LoadU(d, y + i), acc);
    float s = hn::GetLane(hn::SumOfLanes(d, acc));
    for (; i < n; ++i) s += dy[i] * y[i];
    const auto vs = hn::Set(d, s);
    i = 0;
    for (; i + N <= n; i += N)
      hn::StoreU(hn::LoadU(d, y + i) * (hn::LoadU(d, dy + i) - vs), d, dx + i);
    for (; i < n; ++i) dx[i] = y[i] * (dy[i] - s);
  }
}

void SoftmaxRows(const float* x, float* y, int64_t r0, int64_t r1, int64_t n, bool log) {
  for (int64_t r = r0; r < r1; ++r) SoftmaxRow(x + r * n, y + r * n, n, log);
}

void SoftmaxBackwardRows(const float* y, const float* dy, float* dx, int64_t r0, int64_t r1,
                         int64_t n, bool log) {
  for (int64_t r = r0; r < r1; ++r) SoftmaxBackwardRow(y + r * n, dy + r * n, dx + r * n, n, log);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(SoftmaxRows);
HWY_EXPORT(SoftmaxBackwardRows);

void softmax_forward(const float* x, float* y, int64_t rows, int64_t n, bool log, int threads) {
  parallel_chunks(rows, threads, 8 * n, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(SoftmaxRows)(x, y, b, e, n, log);
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t n, bool log,
                      int threads) {
  parallel_chunks(rows, threads, 4 * n, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(SoftmaxBackwardRows)(y, dy, dx, b, e, n, log);
  });
}

template <typename T>
void softmax_forward_reference(const T* x, T* y, int64_t outer, int64_t n, int64_t inner,
                               bool log) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* xp = x + o * n * inner + i;
      T* yp = y + o * n * inner + i;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t r = 0; r < n; ++r) m = std::max(m, xp[r * inner]);
      T s = 0;
      for (int64_t r = 0; r < n; ++r) s += std::exp(xp[r * inner] - m);
      if (log) {
        const T sh = m + std::log(s);
        for (int64_t r = 0; r < n; ++r) yp[r * inner] = xp[r * inner] - sh;
      } else {
        for (int64_t r = 0; r < n; ++r) yp[r * inner] = std::exp(xp[r * inner] - m) / s;
      }
    }
}

template <typename T>
void softmax_backward_reference(const T* y, const T* dy, T* dx, int64_t outer, int64_t n,
                                int64_t inner, bool log) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * n * inner + i;
      T s = 0;
      for (int64_t r = 0; r < n; ++r)
        s += log ? dy[base + r * inner] : dy[base + r * inner] * y[base + r * inner];
      for (int64_t r = 0; r < n; ++r) {
        const int64_t k = base + r * inner;
        dx[k] = log ? dy[k] - std::exp(y[k]) * s : y[k] * (dy[k] - s);
      }
    }
}

template void softmax_forward_reference<float>(const float*, float*, int64_t, int64_t, int64_t,
                                               bool);
template void softmax_forward_reference<double>(const double*, double*, int64_t, int64_t, int64_t,
                                                bool);
template void softmax_backward_reference<float>(const float*, const float*, float*, int64_t,
                                                int64_t, int64_t, bool);
template void softmax_backward_reference<double>(const double*, const double*, double*, int64_t,
                                                 int64_t, int64_t, bool);

}  // namespace attend::kernels
#endif  // HWY_ONCE
