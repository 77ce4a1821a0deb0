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

// One row xr -> yr (D); its mean and rstd out.
HWY_INLINE void LayerNormRow(int64_t D, const float* HWY_RESTRICT xr, const float* HWY_RESTRICT w,
                             const float* HWY_RESTRICT b, float eps, float* HWY_RESTRICT yr,
                             float& mean, float& rstd) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
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
  mean = mu;
  rstd = rs;
}

void LayerNormRows(int64_t r0, int64_t r1, View<const float, 2> x, const float* w, const float* b,
                   float eps, View<float, 2> y, float* mean, float* rstd) {
  for (int64_t r = r0; r < r1; ++r)
    LayerNormRow(x.shape[1], x.at(r), w, b, eps, y.at(r), mean[r], rstd[r]);
}

// dx of one row (D) from x xr and dy gr; accumulates dw += dy·x̂ and db += dy when non-null.
HWY_INLINE void LayerNormBackwardRow(int64_t D, const float* HWY_RESTRICT xr,
                                     const float* HWY_RESTRICT w, float mu, float rs,
                                     const float* HWY_RESTRICT gr, float* HWY_RESTRICT dxr,
                                     float* HWY_RESTRICT dw, float* HWY_RESTRICT db) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const float invD = 1.0f / static_cast<float>(D);
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

// dx for rows [r0, r1); accumulates dw, db as LayerNormBackwardRow.
void LayerNormBackwardRows(int64_t r0, int64_t r1, View<const float, 2> x, const float* w,
                           const float* mean, const float* rstd, View<const float, 2> dy,
                           View<float, 2> dx, float* dw, float* db) {
  for (int64_t r = r0; r < r1; ++r)
    LayerNormBackwardRow(x.shape[1], x.at(r), w, mean[r], rstd[r], dy.at(r), dx.at(r), dw, db);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(LayerNormRows);
HWY_EXPORT(LayerNormBackwardRows);

void layer_norm_forward(View<const float, 2> x, const float* weight, const float* bias, float eps,
                        View<float, 2> y, float* mean, float* rstd, int threads) {
  parallel_chunks(x.shape[0], threads, 4 * x.shape[1], [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(LayerNormRows)(b, e, x, weight, bias, eps, y, mean, rstd);
  });
}

void layer_norm_forward(View<const double, 2> x, const double* weight, const double* bias,
                        double eps, View<double, 2> y, double* mean, double* rstd, int) {
  layer_norm_forward_reference(x, weight, bias, eps, y, mean, rstd);
}

void layer_norm_backward(View<const float, 2> x, const float* weight, const float* mean,
                         const float* rstd, View<const float, 2> dy, View<float, 2> dx,
                         float* dweight, float* dbias, int threads) {
  const int64_t rows = x.shape[0], d = x.shape[1];
  if (dweight) std::memset(dweight, 0, d * sizeof(float));
  if (dbias) std::memset(dbias, 0, d * sizeof(float));
  if (threads <= 1 || rows < 2 || rows * d * 6 < kParallelMinWork || (!dweight && !dbias)) {
    parallel_chunks(rows, threads, 6 * d, [&](int64_t b, int64_t e) {
      HWY_DYNAMIC_DISPATCH(LayerNormBackwardRows)
      (b, e, x, weight, mean, rstd, dy, dx, dweight, dbias);
    });
    return;
  }
  // Per-chunk partial dweight/dbias, summed at the end (deterministic for a given thread count).
  const int64_t chunks = std::min<int64_t>(threads, rows);
  std::vector<float> part(static_cast<size_t>(chunks * 2 * d), 0.0f);
  parallel_region(static_cast<int>(chunks), [&](int64_t i, int64_t n) {
    for (int64_t c = i; c < chunks; c += n) {  // n < chunks only inside another region
      const int64_t b = rows * c / chunks, e = rows * (c + 1) / chunks;
      float* pw = part.data() + c * 2 * d;
      const auto kernel = HWY_DYNAMIC_DISPATCH(LayerNormBackwardRows);
      kernel(b, e, x, weight, mean, rstd, dy, dx, dweight ? pw : nullptr, dbias ? pw + d : nullptr);
    }
  });
  for (int64_t c = 0; c < chunks; ++c) {
    const float* pw = part.data() + c * 2 * d;
    for (int64_t i = 0; i < d; ++i) {
      if (dweight) dweight[i] += pw[i];
      if (dbias) dbias[i] += pw[d + i];
    }
  }
}

void layer_norm_backward(View<const double, 2> x, const double* weight, const double* mean,
                         const double* rstd, View<const double, 2> dy, View<double, 2> dx,
                         double* dweight, double* dbias, int) {
  layer_norm_backward_reference(x, weight, mean, rstd, dy, dx, dweight, dbias);
}

template <typename T>
void layer_norm_forward_reference(View<const T, 2> x, const T* weight, const T* bias, T eps,
                                  View<T, 2> y, T* mean, T* rstd) {
  const int64_t rows = x.shape[0], d = x.shape[1];
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x.at(r);
    T* yr = y.at(r);
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
      yr[i] = v;
    }
  }
}

template <typename T>
void layer_norm_backward_reference(View<const T, 2> x, const T* weight, const T* mean,
                                   const T* rstd, View<const T, 2> dy, View<T, 2> dx, T* dweight,
                                   T* dbias) {
  const int64_t rows = x.shape[0], d = x.shape[1];
  if (dweight)
    for (int64_t i = 0; i < d; ++i) dweight[i] = 0;
  if (dbias)
    for (int64_t i = 0; i < d; ++i) dbias[i] = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x.at(r);
    const T* gr = dy.at(r);
    T* dxr = dx.at(r);
    const T mu = mean[r], rs = rstd[r];
    T s1 = 0, s2 = 0;
    for (int64_t i = 0; i < d; ++i) {
      const T xh = (xr[i] - mu) * rs;
      const T g = gr[i];
      const T gh = weight ? g * weight[i] : g;
      s1 += gh;
      s2 += gh * xh;
      if (dweight) dweight[i] += g * xh;
      if (dbias) dbias[i] += g;
    }
    const T m1 = s1 / static_cast<T>(d), m2 = s2 / static_cast<T>(d);
    for (int64_t i = 0; i < d; ++i) {
      const T xh = (xr[i] - mu) * rs;
      const T g = gr[i];
      const T gh = weight ? g * weight[i] : g;
      dxr[i] = rs * (gh - m1 - xh * m2);
    }
  }
}

template void layer_norm_forward_reference<float>(View<const float, 2>, const float*, const float*,
                                                  float, View<float, 2>, float*, float*);
template void layer_norm_forward_reference<double>(View<const double, 2>, const double*,
                                                   const double*, double, View<double, 2>, double*,
                                                   double*);
template void layer_norm_backward_reference<float>(View<const float, 2>, const float*, const float*,
                                                   const float*, View<const float, 2>,
                                                   View<float, 2>, float*, float*);
template void layer_norm_backward_reference<double>(View<const double, 2>, const double*,
                                                    const double*, const double*,
                                                    View<const double, 2>, View<double, 2>, double*,
                                                    double*);

}  // namespace attend::kernels
#endif  // HWY_ONCE
