// Layer-norm kernels: Highway rows and plain reference loops.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/layer_norm.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <cmath>
#include <cstring>
#include <vector>

#include "attend/kernels/layer_norm.h"
#include "attend/kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void LayerNormRows(const float* HWY_RESTRICT x, const float* HWY_RESTRICT w,
                   const float* HWY_RESTRICT b, float* HWY_RESTRICT y, float* HWY_RESTRICT mean,
                   float* HWY_RESTRICT rstd, int64_t r0, int64_t r1, int64_t D, float eps) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    auto acc = hn::Zero(d);
    int64_t i = 0;
    for (; i + N <= D; i += N) acc = acc + hn::LoadU(d, xr + i);
    float s = hn::GetLane(hn::SumOfLanes(d, acc));
    for (; i < D; ++i) s += xr[i];
    const float mu = s / static_cast<float>(D);
    const auto vmu = hn::Set(d, mu);
    acc = hn::Zero(d);
    i = 0;
    for (; i + N <= D; i += N) {
      const auto c = hn::LoadU(d, xr + i) - vmu;
      acc = hn::MulAdd(c, c, acc);
    }
    float ss = hn::GetLane(hn::SumOfLanes(d, acc));
    for (; i < D; ++i) ss += (xr[i] - mu) * (xr[i] - mu);
    const float rs = 1.0f / std::sqrt(ss / static_cast<float>(D) + eps);
    mean[r] = mu;
    rstd[r] = rs;
    const auto vrs = hn::Set(d, rs);
    i = 0;
    for (; i + N <= D; i += N) {
      auto v = (hn::LoadU(d, xr + i) - vmu) * vrs;
      if (w) v = v * hn::LoadU(d, w + i);
      if (b) v = v + hn::LoadU(d, b + i);
      hn::StoreU(v, d, yr + i);
    }
    for (; i < D; ++i) {
      float v = (xr[i] - mu) * rs;
      if (w) v *= w[i];
      if (b) v += b[i];
      yr[i] = v;
    }
  }
}

// dx for rows [r0, r1); accumulates dw += dy·x̂ and db += dy when non-null.
void LayerNormBackwardRows(const float* HWY_RESTRICT x, const float* HWY_RESTRICT w,
                           const float* HWY_RESTRICT mean, const float* HWY_RESTRICT rstd,
                           const float* HWY_RESTRICT dy, float* HWY_RESTRICT dx,
                           float* HWY_RESTRICT dw, float* HWY_RESTRICT db, int64_t r0, int64_t r1,
                           int64_t D) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const float invD = 1.0f / static_cast<float>(D);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    const float* gr = dy + r * D;
    float* dxr = dx + r * D;
    const float mu = mean[r], rs = rstd[r];
    const auto vmu = hn::Set(d, mu), vrs = hn::Set(d, rs);
    auto a1 = hn::Zero(d), a2 = hn::Zero(d);
    int64_t i = 0;
    for (; i + N <= D; i += N) {
      const auto xh = (hn::LoadU(d, xr + i) - vmu) * vrs;
      const auto g = hn::LoadU(d, gr + i);
      const auto gh = w ? g * hn::LoadU(d, w + i) : g;
      a1 = a1 + gh;
      a2 = hn::MulAdd(gh, xh, a2);
      if (dw) hn::StoreU(hn::MulAdd(g, xh, hn::LoadU(d, dw + i)), d, dw + i);
      if (db) hn::StoreU(hn::LoadU(d, db + i) + g, d, db + i);
    }
    float s1 = hn::GetLane(hn::SumOfLanes(d, a1)), s2 = hn::GetLane(hn::SumOfLanes(d, a2));
    for (; i < D; ++i) {
      const float xh = (xr[i] - mu) * rs;
      const float gh = w ? gr[i] * w[i] : gr[i];
      s1 += gh;
      s2 += gh * xh;
      if (dw) dw[i] += gr[i] * xh;
      if (db) db[i] += gr[i];
    }
    const float m1 = s1 * invD, m2 = s2 * invD;
    const auto vm1 = hn::Set(d, m1), vm2 = hn::Set(d, m2);
    i = 0;
    for (; i + N <= D; i += N) {
      const auto xh = (hn::LoadU(d, xr + i) - vmu) * vrs;
      const auto g = hn::LoadU(d, gr + i);
      const auto gh = w ? g * hn::LoadU(d, w + i) : g;
      hn::StoreU(vrs * (gh - vm1 - xh * vm2), d, dxr + i);
    }
    for (; i < D; ++i) {
      const float xh = (xr[i] - mu) * rs;
      const float gh = w ? gr[i] * w[i] : gr[i];
      dxr[i] = rs * (gh - m1 - xh * m2);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(LayerNormRows);
HWY_EXPORT(LayerNormBackwardRows);

void layer_norm_forward(const float* x, const float* weight, const float* bias, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t d, float eps, int threads) {
  parallel_chunks(rows, threads, 4 * d, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(LayerNormRows)(x, weight, bias, y, mean, rstd, b, e, d, eps);
  });
}

void layer_norm_backward(const float* x, const float* weight, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dweight, float* dbias, int64_t rows,
                         int64_t d, int threads) {
  if (dweight) std::memset(dweight, 0, d * sizeof(float));
  if (dbias) std::memset(dbias, 0, d * sizeof(float));
  if (threads <= 1 || rows < 2 || rows * d * 6 < kParallelMinWork || (!dweight && !dbias)) {
    parallel_chunks(rows, threads, 6 * d, [&](int64_t b, int64_t e) {
      HWY_DYNAMIC_DISPATCH(LayerNormBackwardRows)
      (x, weight, mean, rstd, dy, dx, dweight, dbias, b, e, d);
    });
    return;
  }
  // Per-chunk partial dweight/dbias, summed at the end (deterministic for a given thread count).
  const int64_t chunks = std::min<int64_t>(threads, rows);
  std::vector<float> part(static_cast<size_t>(chunks * 2 * d), 0.0f);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = rows * c / chunks, e = rows * (c + 1) / chunks;
    float* pw = part.data() + c * 2 * d;
    HWY_DYNAMIC_DISPATCH(LayerNormBackwardRows)
    (x, weight, mean, rstd, dy, dx, dweight ? pw : nullptr, dbias ? pw + d : nullptr, b, e, d);
  }
  for (int64_t c = 0; c < chunks; ++c) {
    const float* pw = part.data() + c * 2 * d;
    for (int64_t i = 0; i < d; ++i) {
      if (dweight) dweight[i] += pw[i];
      if (dbias) dbias[i] += pw[d + i];
    }
  }
}

template <typename T>
void layer_norm_forward_reference(const T* x, const T* weight, const T* bias, T* y, T* mean,
                                  T* rstd, int64_t rows, int64_t d, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * d;
    T s = 0;
    for (int64_t i = 0; i < d; ++i) s += xr[i];
    const T mu = s / static_cast<T>(d);
    T ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += (xr[i] - mu) * (xr[i] - mu);
    const T rs = T(1) / std::sqrt(ss / static_cast<T>(d) + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (int64_t i = 0; i < d; ++i) {
      T v = (xr[i] - mu) * rs;
      if (weight) v *= weight[i];
      if (bias) v += bias[i];
      y[r * d + i] = v;
    }
  }
}

template <typename T>
void layer_norm_backward_reference(const T* x, const T* weight, const T* mean, const T* rstd,
                                   const T* dy, T* dx, T* dweight, T* dbias, int64_t rows,
                                   int64_t d) {
  if (dweight)
    for (int64_t i = 0; i < d; ++i) dweight[i] = 0;
  if (dbias)
    for (int64_t i = 0; i < d; ++i) dbias[i] = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T mu = mean[r], rs = rstd[r];
    T s1 = 0, s2 = 0;
    for (int64_t i = 0; i < d; ++i) {
      const T xh = (x[r * d + i] - mu) * rs;
      const T g = dy[r * d + i];
      const T gh = weight ? g * weight[i] : g;
      s1 += gh;
      s2 += gh * xh;
      if (dweight) dweight[i] += g * xh;
      if (dbias) dbias[i] += g;
    }
    const T m1 = s1 / static_cast<T>(d), m2 = s2 / static_cast<T>(d);
    for (int64_t i = 0; i < d; ++i) {
      const T xh = (x[r * d + i] - mu) * rs;
      const T g = dy[r * d + i];
      const T gh = weight ? g * weight[i] : g;
      dx[r * d + i] = rs * (gh - m1 - xh * m2);
    }
  }
}

template void layer_norm_forward_reference<float>(const float*, const float*, const float*, float*,
                                                  float*, float*, int64_t, int64_t, float);
template void layer_norm_forward_reference<double>(const double*, const double*, const double*,
                                                   double*, double*, double*, int64_t, int64_t,
                                                   double);
template void layer_norm_backward_reference<float>(const float*, const float*, const float*,
                                                   const float*, const float*, float*, float*,
                                                   float*, int64_t, int64_t);
template void layer_norm_backward_reference<double>(const double*, const double*, const double*,
                                                    const double*, const double*, double*, double*,
                                                    double*, int64_t, int64_t);

}  // namespace attend::kernels
#endif  // HWY_ONCE
