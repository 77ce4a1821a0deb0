#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/attention_rows.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// foreach_target must come first.
#include <cfloat>
#include <cmath>

#include "attend/kernels/attention_rows.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void OnlineSoftmaxRows(float* s, int64_t rows, int64_t cols, int64_t lds, float* m, float* l,
                       float* alpha) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const auto lowest = hn::Set(df, -FLT_MAX);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = s + i * lds;
    auto vmax = hn::Set(df, -INFINITY);
    int64_t j = 0;
    for (; j + N <= cols; j += N) vmax = hn::Max(vmax, hn::LoadU(df, row + j));
    float mx = hn::GetLane(hn::MaxOfLanes(df, vmax));
    for (; j < cols; ++j) mx = std::max(mx, row[j]);
    float m_new = std::max(m[i], mx);
    if (m_new == -INFINITY) {  // everything masked so far
      for (j = 0; j < cols; ++j) row[j] = 0.0f;
      alpha[i] = 1.0f;
      continue;
    }
    const auto vm = hn::Set(df, m_new);
    auto vsum = hn::Zero(df);
    for (j = 0; j + N <= cols; j += N) {
      auto x = hn::Max(hn::Sub(hn::LoadU(df, row + j), vm), lowest);
      auto e = hn::Exp(df, x);
      hn::StoreU(e, df, row + j);
      vsum = hn::Add(vsum, e);
    }
    float sum = hn::GetLane(hn::SumOfLanes(df, vsum));
    for (; j < cols; ++j) {
      float e = row[j] == -INFINITY ? 0.0f : std::exp(row[j] - m_new);
      row[j] = e;
      sum += e;
    }
    alpha[i] = std::exp(m[i] - m_new);  // m = −inf gives 0
    l[i] = l[i] * alpha[i] + sum;
    m[i] = m_new;
  }
}

void ExpMinusRows(float* s, int64_t rows, int64_t cols, int64_t lds, const float* lse) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const auto lowest = hn::Set(df, -FLT_MAX);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = s + i * lds;
    if (lse[i] == -INFINITY) {
      for (int64_t j = 0; j < cols; ++j) row[j] = 0.0f;
      continue;
    }
    const auto vl = hn::Set(df, lse[i]);
    int64_t j = 0;
    for (; j + N <= cols; j += N)
      hn::StoreU(hn::Exp(df, hn::Max(hn::Sub(hn::LoadU(df, row + j), vl), lowest)), df, row + j);
    for (; j < cols; ++j) row[j] = row[j] == -INFINITY ? 0.0f : std::exp(row[j] - lse[i]);
  }
}

void SoftmaxGradRows(float* dp, const float* p, int64_t rows, int64_t cols, int64_t ld,
                     const float* di) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  for (int64_t i = 0; i < rows; ++i) {
    float* d = dp + i * ld;
    const float* pr = p + i * ld;
    const auto vd = hn::Set(df, di[i]);
    int64_t j = 0;
    for (; j + N <= cols; j += N)
      hn::StoreU(hn::Mul(hn::LoadU(df, pr + j), hn::Sub(hn::LoadU(df, d + j), vd)), df, d + j);
    for (; j < cols; ++j) d[j] = pr[j] * (d[j] - di[i]);
  }
}

void ScaleRow(float* y, int64_t n, float a) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const auto va = hn::Set(df, a);
  int64_t j = 0;
  for (; j + N <= n; j += N) hn::StoreU(hn::Mul(hn::LoadU(df, y + j), va), df, y + j);
  for (; j < n; ++j) y[j] *= a;
}

float Dot(const float* x, const float* y, int64_t n) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  auto acc = hn::Zero(df);
  int64_t j = 0;
  for (; j + N <= n; j += N) acc = hn::MulAdd(hn::LoadU(df, x + j), hn::LoadU(df, y + j), acc);
  float s = hn::GetLane(hn::SumOfLanes(df, acc));
  for (; j < n; ++j) s += x[j] * y[j];
  return s;
}

void Axpy(float a, const float* x, float* y, int64_t n) {
  const hn::ScalableTag<float> df;
  const hn::CappedTag<float, 8> d8;
  const int64_t N = hn::Lanes(df);
  const auto va = hn::Set(df, a);
  int64_t j = 0;
  for (; j + N <= n; j += N)
    hn::StoreU(hn::MulAdd(va, hn::LoadU(df, x + j), hn::LoadU(df, y + j)), df, y + j);
  const int64_t N8 = hn::Lanes(d8);
  const auto va8 = hn::Set(d8, a);
  for (; j + N8 <= n; j += N8)
    hn::StoreU(hn::MulAdd(va8, hn::LoadU(d8, x + j), hn::LoadU(d8, y + j)), d8, y + j);
  for (; j < n; ++j) y[j] += a * x[j];
}

void ScoresRow(const float* x, const float* kt, int64_t ldk, int64_t dim, int64_t n, float scale,
               float* s) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  int64_t j = 0;
  // Four vectors of keys at a time: dim FMAs each, x_d broadcast.
  for (; j + 4 * N <= n; j += 4 * N) {
    auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    for (int64_t d = 0; d < dim; ++d) {
      const auto xd = hn::Set(df, x[d]);
      const float* row = kt + d * ldk + j;
      a0 = hn::MulAdd(xd, hn::LoadU(df, row), a0);
      a1 = hn::MulAdd(xd, hn::LoadU(df, row + N), a1);
      a2 = hn::MulAdd(xd, hn::LoadU(df, row + 2 * N), a2);
      a3 = hn::MulAdd(xd, hn::LoadU(df, row + 3 * N), a3);
    }
    const auto vs = hn::Set(df, scale);
    hn::StoreU(hn::Mul(a0, vs), df, s + j);
    hn::StoreU(hn::Mul(a1, vs), df, s + j + N);
    hn::StoreU(hn::Mul(a2, vs), df, s + j + 2 * N);
    hn::StoreU(hn::Mul(a3, vs), df, s + j + 3 * N);
  }
  // Remaining keys: whole vectors over the padded row (ldk ≥ n rounded up to N), stored partially.
  for (; j < n; j += N) {
    auto acc = hn::Zero(df);
    for (int64_t d = 0; d < dim; ++d)
      acc = hn::MulAdd(hn::Set(df, x[d]), hn::LoadU(df, kt + d * ldk + j), acc);
    acc = hn::Mul(acc, hn::Set(df, scale));
    if (j + N <= n) {
      hn::StoreU(acc, df, s + j);
    } else {
      HWY_ALIGN float tmp[hn::MaxLanes(df)];
      hn::Store(acc, df, tmp);
      for (int64_t t = 0; t < n - j; ++t) s[j + t] = tmp[t];
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels::detail {
HWY_EXPORT(OnlineSoftmaxRows);
HWY_EXPORT(ExpMinusRows);
HWY_EXPORT(SoftmaxGradRows);
HWY_EXPORT(ScaleRow);
HWY_EXPORT(Dot);
HWY_EXPORT(Axpy);
HWY_EXPORT(ScoresRow);

void axpy(float a, const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(Axpy)(a, x, y, n); }
void scores_row(const float* x, const float* kt, int64_t ldk, int64_t dim, int64_t n, float scale,
                float* s) {
  HWY_DYNAMIC_DISPATCH(ScoresRow)(x, kt, ldk, dim, n, scale, s);
}

void online_softmax_rows(float* s, int64_t rows, int64_t cols, int64_t lds, float* m, float* l,
                         float* alpha) {
  HWY_DYNAMIC_DISPATCH(OnlineSoftmaxRows)(s, rows, cols, lds, m, l, alpha);
}
void exp_minus_rows(float* s, int64_t rows, int64_t cols, int64_t lds, const float* lse) {
  HWY_DYNAMIC_DISPATCH(ExpMinusRows)(s, rows, cols, lds, lse);
}
void softmax_grad_rows(float* dp, const float* p, int64_t rows, int64_t cols, int64_t ld,
                       const float* di) {
  HWY_DYNAMIC_DISPATCH(SoftmaxGradRows)(dp, p, rows, cols, ld, di);
}
void scale_row(float* y, int64_t n, float a) { HWY_DYNAMIC_DISPATCH(ScaleRow)(y, n, a); }
float dot(const float* x, const float* y, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(Dot)(x, y, n);
}
}  // namespace attend::kernels::detail
#endif
