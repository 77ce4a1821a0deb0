#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/attention_rows.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// foreach_target must come first.
#include <cfloat>
#include <cmath>

#include "attend/base/error.h"
#include "attend/kernels/attention_rows.h"
#include "hwy/highway.h"
// clang-format off
#include "attend/kernels/exp-inl.h"
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace attend::kernels::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using attend::kernels::HWY_NAMESPACE::ExpNonPositive;

// Rows are read in whole vectors past cols (the padding contract in attention_rows.h); those lanes
// are masked out of every result and never stored.
void OnlineSoftmaxRows(float* s, int64_t rows, int64_t cols, int64_t lds, float* m, float* l,
                       float* alpha) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const auto neg_inf = hn::Set(df, -INFINITY);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = s + i * lds;
    auto vmax = neg_inf;
    for (int64_t j = 0; j < cols; j += N) {
      auto x = hn::LoadU(df, row + j);
      if (j + N > cols) x = hn::IfThenElse(hn::FirstN(df, cols - j), x, neg_inf);
      vmax = hn::Max(vmax, x);
    }
    const float mx = hn::GetLane(hn::MaxOfLanes(df, vmax));
    const float m_new = std::max(m[i], mx);
    if (m_new == -INFINITY) {  // everything masked so far
      for (int64_t j = 0; j < cols; ++j) row[j] = 0.0f;
      alpha[i] = 1.0f;
      continue;
    }
    const auto vm = hn::Set(df, m_new);
    auto vsum = hn::Zero(df);
    for (int64_t j = 0; j < cols; j += N) {
      auto e = ExpNonPositive(df, hn::Sub(hn::LoadU(df, row + j), vm));
      if (j + N > cols) {
        const auto keep = hn::FirstN(df, cols - j);
        e = hn::IfThenElseZero(keep, e);
        hn::BlendedStore(e, keep, df, row + j);
      } else {
        hn::StoreU(e, df, row + j);
      }
      vsum = hn::Add(vsum, e);
    }
    alpha[i] = std::exp(m[i] - m_new);  // m = −inf gives 0
    l[i] = l[i] * alpha[i] + hn::GetLane(hn::SumOfLanes(df, vsum));
    m[i] = m_new;
  }
}

void ExpMinusRows(float* s, int64_t rows, int64_t cols, int64_t lds, const float* lse) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = s + i * lds;
    if (lse[i] == -INFINITY) {
      for (int64_t j = 0; j < cols; ++j) row[j] = 0.0f;
      continue;
    }
    const auto vl = hn::Set(df, lse[i]);
    for (int64_t j = 0; j < cols; j += N) {
      auto e = ExpNonPositive(df, hn::Sub(hn::LoadU(df, row + j), vl));
      if (j + N > cols)
        hn::BlendedStore(e, hn::FirstN(df, cols - j), df, row + j);
      else
        hn::StoreU(e, df, row + j);
    }
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
    for (int64_t j = 0; j < cols; j += N) {
      auto r = hn::Mul(hn::LoadU(df, pr + j), hn::Sub(hn::LoadU(df, d + j), vd));
      if (j + N > cols)
        hn::BlendedStore(r, hn::FirstN(df, cols - j), df, d + j);
      else
        hn::StoreU(r, df, d + j);
    }
  }
}

void ScaleRows(float* y, int64_t rows, int64_t n, int64_t ld, const float* a) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  for (int64_t i = 0; i < rows; ++i) {
    if (a[i] == 1.0f) continue;
    float* yi = y + i * ld;
    const auto va = hn::Set(df, a[i]);
    int64_t j = 0;
    for (; j + N <= n; j += N) hn::StoreU(hn::Mul(hn::LoadU(df, yi + j), va), df, yi + j);
    for (; j < n; ++j) yi[j] *= a[i];
  }
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

void SparsityMeasure(const float* q, int64_t q_ld, const float* k, int64_t k_ld, const int64_t* idx,
                     int64_t len_q, int64_t n_sample, int64_t dim, int64_t len_k, float* m) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  for (int64_t i = 0; i < len_q; ++i) {
    const float* qi = q + i * q_ld;
    float mx = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < n_sample; ++j) {
      const float* kj = k + idx[i * n_sample + j] * k_ld;
      auto acc = hn::Zero(df);
      int64_t c = 0;
      for (; c + N <= dim; c += N)
        acc = hn::MulAdd(hn::LoadU(df, qi + c), hn::LoadU(df, kj + c), acc);
      float s = hn::GetLane(hn::SumOfLanes(df, acc));
      for (; c < dim; ++c) s += qi[c] * kj[c];
      mx = std::max(mx, s);
      sum += s;
    }
    m[i] = mx - sum / static_cast<float>(len_k);
  }
}

// ---- row-wise head kernels
// -------------------------------------------------------------------------

// x (n rows, stride ld, dim features) -> xt (dim, ldk), zero padded past n.
void TransposeRows(const float* x, int64_t ld, int64_t n, int64_t dim, float* xt, int64_t ldk) {
  for (int64_t c = 0; c < dim; ++c) {
    float* row = xt + c * ldk;
    for (int64_t j = 0; j < n; ++j) row[j] = x[j * ld + c];
    for (int64_t j = n; j < ldk; ++j) row[j] = 0.0f;
  }
}

// s (ldk) = scale · Σ_c x_c · xt[c, :], then masks; lanes ≥ lk become −inf.
void HeadScores(const RowsHead& h, int64_t i, const float* kt, int64_t ldk, float* s) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const float* qi = h.q + i * h.q_ld;
  for (int64_t j = 0; j < ldk; j += N) {
    auto acc = hn::Zero(df);
    for (int64_t c = 0; c < h.dim; ++c)
      acc = hn::MulAdd(hn::Set(df, qi[c]), hn::LoadU(df, kt + c * ldk + j), acc);
    hn::StoreU(hn::Mul(acc, hn::Set(df, h.scale)), df, s + j);
  }
  if (h.mask) {
    const float* mrow = h.mask + i * h.mask_q;
    for (int64_t j = 0; j < h.lk; ++j) s[j] += mrow[j * h.mask_k];
  }
  const int64_t first_masked = h.causal ? std::min(i + 1 + h.causal_offset, h.lk) : h.lk;
  for (int64_t j = first_masked; j < ldk; ++j) s[j] = -INFINITY;
}

// out[c] = Σ_{j < n} p_j · v[j, c] for c < dim: per chunk of N columns one register accumulates
// the broadcast-weighted rows, so there is no horizontal sum and one store (a masked load/store
// for the last partial chunk).
void WeightedSumOfRows(const float* p, const float* v, int64_t v_ld, int64_t n, int64_t dim,
                       float* out) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  int64_t c = 0;
  for (; c + N <= dim; c += N) {
    auto acc = hn::Zero(df);
    for (int64_t j = 0; j < n; ++j)
      acc = hn::MulAdd(hn::Set(df, p[j]), hn::LoadU(df, v + j * v_ld + c), acc);
    hn::StoreU(acc, df, out + c);
  }
  if (c < dim) {
    const auto m = hn::FirstN(df, static_cast<size_t>(dim - c));
    auto acc = hn::Zero(df);
    for (int64_t j = 0; j < n; ++j)
      acc = hn::MulAdd(hn::Set(df, p[j]), hn::MaskedLoad(m, df, v + j * v_ld + c), acc);
    HWY_ALIGN float tmp[hn::MaxLanes(df)];
    hn::Store(acc, df, tmp);
    for (int64_t k = 0; k < dim - c; ++k) out[c + k] = tmp[k];
  }
}

// xt[c, :] += a_c · p for c < dim (rank-1 update across keys).
void Rank1AcrossKeys(const float* a, const float* p, float* xt, int64_t ldk, int64_t dim) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  for (int64_t c = 0; c < dim; ++c) {
    if (a[c] == 0.0f) continue;
    const auto va = hn::Set(df, a[c]);
    float* row = xt + c * ldk;
    for (int64_t j = 0; j < ldk; j += N)
      hn::StoreU(hn::MulAdd(va, hn::LoadU(df, p + j), hn::LoadU(df, row + j)), df, row + j);
  }
}

int64_t PaddedKeys(int64_t lk) {
  return (lk + 15) / 16 * 16;
}

// out[c] = Σ_{j < n} p_j · v[j, c] for c < dim ≤ N, with p held in a vector (n ≤ N): each p_j is
// broadcast by a permute, so no scalar reload of just-stored lanes (a store-forwarding stall).
template <class D, class V>
HWY_INLINE void WeightedSumOfRowsFromVector(D df, V p, const float* v, int64_t v_ld, int64_t n,
                                            int64_t dim, float* out) {
  const hn::RebindToSigned<D> di;
  const auto cols = hn::FirstN(df, static_cast<size_t>(dim));
  auto o = hn::Zero(df);
  for (int64_t j = 0; j < n; ++j) {
    const auto pj =
        hn::TableLookupLanes(p, hn::IndicesFromVec(df, hn::Set(di, static_cast<int32_t>(j))));
    o = hn::MulAdd(pj, hn::MaskedLoad(cols, df, v + j * v_ld), o);
  }
  if (dim == static_cast<int64_t>(hn::Lanes(df)))
    hn::StoreU(o, df, out);
  else
    hn::BlendedStore(o, cols, df, out);
}

// Forward of a head whose keys and value rows each fit one vector (Lk ≤ N, Dv ≤ N; kt (dim, N)):
// a query's scores, softmax and P·V stay in registers, and P_ij is broadcast to all lanes by a
// permute instead of being stored and reloaded as a scalar (a store-forwarding stall per key).
void RowsHeadForwardOneVector(const RowsHead& h, const float* kt) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const auto neg_inf = hn::Set(df, -INFINITY);
  const auto vscale = hn::Set(df, h.scale);
  const auto keys = hn::FirstN(df, static_cast<size_t>(h.lk));
  HWY_ALIGN float tmp[hn::MaxLanes(df)];
  for (int64_t i = 0; i < h.lq; ++i) {
    float* oi = h.out + i * h.out_ld;
    // S_i = scale · q_i Kᵀ (+ mask), keys ≥ Lk (and > i + offset when causal) at −inf
    const float* qi = h.q + i * h.q_ld;
    auto acc = hn::Zero(df);
    for (int64_t c = 0; c < h.dim; ++c)
      acc = hn::MulAdd(hn::Set(df, qi[c]), hn::LoadU(df, kt + c * N), acc);
    acc = hn::Mul(acc, vscale);
    if (h.mask) {
      hn::Store(acc, df, tmp);
      const float* mrow = h.mask + i * h.mask_q;
      for (int64_t j = 0; j < h.lk; ++j) tmp[j] += mrow[j * h.mask_k];
      acc = hn::Load(df, tmp);
    }
    const int64_t seen = h.causal ? std::min(i + 1 + h.causal_offset, h.lk) : h.lk;
    acc = hn::IfThenElse(hn::FirstN(df, static_cast<size_t>(seen)), acc, neg_inf);
    const float m = hn::GetLane(hn::MaxOfLanes(df, acc));
    if (m == -INFINITY) {  // every key masked: zero output
      for (int64_t c = 0; c < h.dim_v; ++c) oi[c] = 0.0f;
      if (h.lse) h.lse[i] = -INFINITY;
      continue;
    }
    // P_i = exp(S_i − m) / Σ (−inf lanes give 0), then the dropout multipliers
    auto e = ExpNonPositive(df, hn::Sub(acc, hn::Set(df, m)));
    const float sum = hn::GetLane(hn::SumOfLanes(df, e));
    if (h.lse) h.lse[i] = m + std::log(sum);
    auto p = hn::Mul(e, hn::Set(df, 1.0f / sum));
    if (h.dropout) p = hn::Mul(p, hn::MaskedLoad(keys, df, h.dropout + i * h.lk));
    // O_i = Σ_{j < seen} P_ij · v_j
    WeightedSumOfRowsFromVector(df, p, h.v, h.v_ld, seen, h.dim_v, oi);
  }
}

void RowsHeadForward(const RowsHead& h, float* scratch) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const int64_t ldk = PaddedKeys(h.lk);
  float* kt = scratch;          // Kᵀ (dim, ldk)
  float* s = kt + h.dim * ldk;  // one row of scores (ldk)
  TransposeRows(h.k, h.k_ld, h.lk, h.dim, kt, ldk);
  if (ldk == N && h.dim_v <= N) return RowsHeadForwardOneVector(h, kt);
  for (int64_t i = 0; i < h.lq; ++i) {
    float* oi = h.out + i * h.out_ld;
    HeadScores(h, i, kt, ldk, s);
    auto vmax = hn::Set(df, -INFINITY);
    for (int64_t j = 0; j < ldk; j += N) vmax = hn::Max(vmax, hn::LoadU(df, s + j));
    const float m = hn::GetLane(hn::MaxOfLanes(df, vmax));
    if (m == -INFINITY) {  // every key masked: zero output
      for (int64_t c = 0; c < h.dim_v; ++c) oi[c] = 0.0f;
      if (h.lse) h.lse[i] = -INFINITY;
      continue;
    }
    const auto vm = hn::Set(df, m);
    auto vsum = hn::Zero(df);
    for (int64_t j = 0; j < ldk; j += N) {
      const auto e = ExpNonPositive(df, hn::Sub(hn::LoadU(df, s + j), vm));
      hn::StoreU(e, df, s + j);
      vsum = hn::Add(vsum, e);
    }
    // Lanes that were −inf give 0.
    const float sum = hn::GetLane(hn::SumOfLanes(df, vsum));
    if (h.lse) h.lse[i] = m + std::log(sum);
    const auto inv = hn::Set(df, 1.0f / sum);
    const float* z = h.dropout ? h.dropout + i * h.lk : nullptr;
    for (int64_t j = 0; j < ldk; j += N) hn::StoreU(hn::Mul(hn::LoadU(df, s + j), inv), df, s + j);
    if (z)
      for (int64_t j = 0; j < h.lk; ++j) s[j] *= z[j];
    // O_i = P_i · V over the keys the row can see (j ≤ i + offset when causal).
    const int64_t seen = h.causal ? std::min(i + 1 + h.causal_offset, h.lk) : h.lk;
    WeightedSumOfRows(s, h.v, h.v_ld, seen, h.dim_v, oi);
  }
}

void RowsHeadBackward(const RowsHead& h, float* scratch) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const int64_t ldk = PaddedKeys(h.lk);
  float* kt = scratch;
  float* vt = kt + h.dim * ldk;
  float* dkt = vt + h.dim_v * ldk;
  float* dvt = dkt + h.dim * ldk;
  float* s = dvt + h.dim_v * ldk;
  float* dp = s + ldk;
  float* pd = dp + ldk;
  float* qs = pd + ldk;  // (dim) scale · q_i
  TransposeRows(h.k, h.k_ld, h.lk, h.dim, kt, ldk);
  TransposeRows(h.v, h.v_ld, h.lk, h.dim_v, vt, ldk);
  for (int64_t j = 0; j < (h.dim + h.dim_v) * ldk; ++j) dkt[j] = 0.0f;
  for (int64_t i = 0; i < h.lq; ++i) {
    float* dqi = h.dq + i * h.dq_ld;
    const float l = h.lse[i];
    if (l == -INFINITY) {  // fully masked row: no gradient
      for (int64_t c = 0; c < h.dim; ++c) dqi[c] = 0.0f;
      continue;
    }
    const float* doi = h.dout + i * h.dout_ld;
    // P_i = exp(S_i − lse_i);  dP_i = dO_i · Vᵀ
    HeadScores(h, i, kt, ldk, s);
    const auto vl = hn::Set(df, l);
    for (int64_t j = 0; j < ldk; j += N)
      hn::StoreU(ExpNonPositive(df, hn::Sub(hn::LoadU(df, s + j), vl)), df, s + j);
    for (int64_t j = 0; j < ldk; j += N) {
      auto acc = hn::Zero(df);
      for (int64_t c = 0; c < h.dim_v; ++c)
        acc = hn::MulAdd(hn::Set(df, doi[c]), hn::LoadU(df, vt + c * ldk + j), acc);
      hn::StoreU(acc, df, dp + j);
    }
    const float di = Dot(doi, h.o + i * h.o_ld, h.dim_v);
    const float* p_used = s;
    if (h.dropout) {  // weights that multiplied V, and dP through the same mask
      const float* z = h.dropout + i * h.lk;
      for (int64_t j = 0; j < h.lk; ++j) {
        pd[j] = s[j] * z[j];
        dp[j] *= z[j];
      }
      for (int64_t j = h.lk; j < ldk; ++j) pd[j] = 0.0f;
      p_used = pd;
    }
    // dVᵀ[c, :] += dO_i[c] · P_used
    Rank1AcrossKeys(doi, p_used, dvt, ldk, h.dim_v);
    // dS = P ∘ (dP − D_i) · scale (stored in dp)
    const auto vd = hn::Set(df, di), vsc = hn::Set(df, h.scale);
    for (int64_t j = 0; j < ldk; j += N)
      hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(df, s + j), hn::Sub(hn::LoadU(df, dp + j), vd)), vsc),
                 df, dp + j);
    // dQ_i = dS · K ;  dKᵀ[c, :] += q_i[c] · dS
    if (ldk == N && h.dim <= N)
      WeightedSumOfRowsFromVector(df, hn::LoadU(df, dp), h.k, h.k_ld, h.lk, h.dim, dqi);
    else
      WeightedSumOfRows(dp, h.k, h.k_ld, h.lk, h.dim, dqi);
    const float* qi = h.q + i * h.q_ld;
    for (int64_t c = 0; c < h.dim; ++c) qs[c] = qi[c];
    Rank1AcrossKeys(qs, dp, dkt, ldk, h.dim);
  }
  for (int64_t j = 0; j < h.lk; ++j) {
    for (int64_t c = 0; c < h.dim; ++c) h.dk[j * h.dk_ld + c] = dkt[c * ldk + j];
    for (int64_t c = 0; c < h.dim_v; ++c) h.dv[j * h.dv_ld + c] = dvt[c * ldk + j];
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
HWY_EXPORT(ScaleRows);
HWY_EXPORT(Dot);
HWY_EXPORT(RowsHeadForward);
HWY_EXPORT(SparsityMeasure);

void sparsity_measure(const float* q, int64_t q_ld, const float* k, int64_t k_ld,
                      const int64_t* idx, int64_t len_q, int64_t n_sample, int64_t dim,
                      int64_t len_k, float* m) {
  HWY_DYNAMIC_DISPATCH(SparsityMeasure)(q, q_ld, k, k_ld, idx, len_q, n_sample, dim, len_k, m);
}
HWY_EXPORT(RowsHeadBackward);

int64_t rows_head_scratch(int64_t lk, int64_t dim, int64_t dim_v) {
  const int64_t ldk = (lk + 15) / 16 * 16;
  return 2 * (dim + dim_v) * ldk + 3 * ldk + dim + 64;
}
void rows_head_forward(const RowsHead& h, float* scratch) {
  HWY_DYNAMIC_DISPATCH(RowsHeadForward)(h, scratch);
}
void rows_head_backward(const RowsHead& h, float* scratch) {
  HWY_DYNAMIC_DISPATCH(RowsHeadBackward)(h, scratch);
}

void online_softmax_rows(float* s, int64_t rows, int64_t cols, int64_t lds, float* m, float* l,
                         float* alpha) {
  ATTEND_DEBUG_ASSERT(lds >= padded_cols(cols));
  HWY_DYNAMIC_DISPATCH(OnlineSoftmaxRows)(s, rows, cols, lds, m, l, alpha);
}
void exp_minus_rows(float* s, int64_t rows, int64_t cols, int64_t lds, const float* lse) {
  ATTEND_DEBUG_ASSERT(lds >= padded_cols(cols));
  HWY_DYNAMIC_DISPATCH(ExpMinusRows)(s, rows, cols, lds, lse);
}
void softmax_grad_rows(float* dp, const float* p, int64_t rows, int64_t cols, int64_t ld,
                       const float* di) {
  ATTEND_DEBUG_ASSERT(ld >= padded_cols(cols));
  HWY_DYNAMIC_DISPATCH(SoftmaxGradRows)(dp, p, rows, cols, ld, di);
}
void scale_rows(float* y, int64_t rows, int64_t n, int64_t ld, const float* a) {
  HWY_DYNAMIC_DISPATCH(ScaleRows)(y, rows, n, ld, a);
}
float dot(const float* x, const float* y, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(Dot)(x, y, n);
}
}  // namespace attend::kernels::detail
#endif
