#include "attend/kernels/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <vector>

#include "attend/base/error.h"
#include "attend/kernels/attention_rows.h"
#include "attend/kernels/counters.h"
#include "attend/kernels/gemm.h"
#include "attend/kernels/parallel.h"
#include "attend/kernels/random.h"

namespace attend::kernels {

namespace {

using In = View<const float, 4>;
using Out = View<float, 4>;

constexpr int64_t kKeyBlock = 512;

// Query rows per tile (long sequences amortise the K/V reads over more rows). Without a causal mask
// up to 256 queries stay one tile: the tiles' GEMM calls (two per tile and key block) cost more
// than their work at batch 1, and one tile per head halves them (measured: B 1, H 4, 144×96, D 16:
// 0.062 → 0.051 ms; B 32, H 8, 96², D 64, forward + backward: 21.7 → 18.8 ms). Causal tiles stay 64
// rows, which skips the masked key blocks (one 144-row tile was 8 % slower at B 32, H 4, D 16).
int64_t query_block(int64_t len_q, bool causal) {
  if (len_q <= 256 && !causal) return len_q;
  return len_q >= 768 ? 128 : 64;
}

// Leading dimension of a score tile: the key block, or len_k rounded up to 16 floats if shorter
// (the row functions read whole vectors up to there).
int64_t tile_ld(int64_t len_k) {
  return std::min(kKeyBlock, detail::padded_cols(len_k));
}

// Uninitialised float scratch (every element is written before it is read).
std::unique_ptr<float[]> scratch_floats(int64_t n) {
  return std::unique_ptr<float[]>(new float[std::max<int64_t>(n, 1)]);
}

// Adds the additive mask and the causal mask to a score tile S (rows × cols, stride lds) that
// covers queries [i0, i0 + rows) and keys [j0, j0 + cols) of head (b, h).
void apply_masks(float* s, int64_t rows, int64_t cols, int64_t lds, int64_t b, int64_t h,
                 int64_t i0, int64_t j0, const AttentionMask& mask, const AttentionParams& p) {
  if (mask.data) {
    const int64_t mk = mask.strides[3];
    for (int64_t i = 0; i < rows; ++i) {
      const float* mrow = mask.at(b, h, i0 + i, j0);
      float* row = s + i * lds;
      for (int64_t j = 0; j < cols; ++j) row[j] += mrow[j * mk];
    }
  }
  if (p.causal && j0 + cols - 1 > i0 + p.causal_offset) {
    for (int64_t i = 0; i < rows; ++i) {
      // j > i + offset
      int64_t first_masked = std::max<int64_t>(i0 + i + p.causal_offset + 1 - j0, 0);
      float* row = s + i * lds;
      for (int64_t j = first_masked; j < cols; ++j) row[j] = -INFINITY;
    }
  }
}

uint64_t dropout_counter(const AttentionParams& p, const AttentionDims& d, int64_t b, int64_t h,
                         int64_t i, int64_t j) {
  return p.offset + static_cast<uint64_t>(((b * d.heads + h) * d.len_q + i) * d.len_k + j);
}

// Multiplies a probability tile by keep/(1 − p) (the dropout mask of its (b, h, i0, j0) block).
void apply_dropout(float* s, int64_t rows, int64_t cols, int64_t lds, const AttentionDims& d,
                   const AttentionParams& p, int64_t b, int64_t h, int64_t i0, int64_t j0) {
  const float keep_scale = 1.0f / (1.0f - p.dropout_p);
  const uint32_t drop = draw16_threshold(p.dropout_p);
  if (j0 == 0 && cols == d.len_k) {
    // The tile spans whole rows: its counters are consecutive, one fill for all of them.
    std::vector<float> z(rows * cols);
    fill_draw16(p.seed, dropout_counter(p, d, b, h, i0, 0), rows * cols, drop, 0.0f, keep_scale,
                z.data());
    for (int64_t i = 0; i < rows; ++i) {
      float* row = s + i * lds;
      const float* zi = z.data() + i * cols;
      for (int64_t j = 0; j < cols; ++j) row[j] *= zi[j];
    }
    return;
  }
  std::vector<float> z(cols);
  for (int64_t i = 0; i < rows; ++i) {
    fill_draw16(p.seed, dropout_counter(p, d, b, h, i0 + i, j0), cols, drop, 0.0f, keep_scale,
                z.data());
    float* row = s + i * lds;
    for (int64_t j = 0; j < cols; ++j) row[j] *= z[j];
  }
}

// Number of keys query rows [i0, i0 + rows) may see.
int64_t key_end(const AttentionDims& d, const AttentionParams& p, int64_t i0, int64_t rows) {
  return p.causal ? std::min(d.len_k, i0 + rows + p.causal_offset) : d.len_k;
}

// Threads for `tasks` independent tasks of these dimensions: 1 below ~0.2 MFLOP.
int team_size(const AttentionDims& d, int64_t tasks, int threads) {
  double flops = 4.0 * d.batch * d.heads * d.len_q * d.len_k * std::max(d.dim, d.dim_v);
  const bool worth = threads > 1 && tasks > 1 && flops > 2e5;
  return worth ? static_cast<int>(std::min<int64_t>(threads, tasks)) : 1;
}

}  // namespace

bool attention_dropout_keep(const AttentionParams& p, const AttentionDims& d, int64_t b, int64_t h,
                            int64_t i, int64_t j) {
  return !draw16_below(p.seed, dropout_counter(p, d, b, h, i, j), draw16_threshold(p.dropout_p));
}

namespace {

// The row-wise kernel: per (b, h), K (and V for the backward) transposed into (dim, ldk) so each
// query row's scores are dim broadcast-FMAs across all keys, and P·V / the gradient updates are
// short axpys. No GEMM calls: for short sequences the per-call cost of a GEMM exceeds its work.
bool use_rows_kernel(const AttentionDims& d, const AttentionParams& p) {
  if (p.kernel != AttentionParams::Kernel::Auto) return p.kernel == AttentionParams::Kernel::Rows;
  // Measured (`attend bench attention --kernel rows|tiles`, 1 thread, forward / forward +
  // backward): rows wins for very short, narrow heads (B·H 896, D 16: Lk 12 0.86 / 2.2 ms against
  // 1.29 / 3.2; Lk 16 1.16 / 2.6 against 1.69 / 5.9; D 8, Lk 24: 2.2 vs 2.9 f+b in an earlier
  // run), the GEMM tiles from Lk 24 at D 16 up (B·H 128: Lk 24 0.23 / 0.71 against 0.33 / 0.80;
  // Lk 96 1.37 / 5.6 against 2.7 / 9.3).
  const int64_t width = std::max(d.dim, d.dim_v);
  return (d.len_k <= 16 && width <= 16) || (d.len_k <= 24 && width <= 8);
}

// z (lq, lk): the dropout multipliers keep/(1 − p) or 0 of head (b, h).
void dropout_head(const AttentionDims& d, const AttentionParams& p, int64_t b, int64_t h,
                  float* z) {
  const float keep_scale = 1.0f / (1.0f - p.dropout_p);
  const uint32_t drop = draw16_threshold(p.dropout_p);
  // A head's counters are consecutive (row-major (i, j)): one fill for all Lq·Lk draws.
  fill_draw16(p.seed, dropout_counter(p, d, b, h, 0, 0), d.len_q * d.len_k, drop, 0.0f, keep_scale,
              z);
}

// The per-head description shared by the forward and backward of the row-wise kernel.
detail::RowsHead rows_head(const AttentionDims& d, const In& q, const In& k, const In& v,
                           const AttentionMask& mask, const AttentionParams& p, int64_t b,
                           int64_t h) {
  detail::RowsHead r;
  r.q = q.at(b, h), r.q_ld = q.strides[2];
  r.k = k.at(b, h), r.k_ld = k.strides[2];
  r.v = v.at(b, h), r.v_ld = v.strides[2];
  if (mask.data) {
    r.mask = mask.at(b, h);
    r.mask_q = mask.strides[2], r.mask_k = mask.strides[3];
  }
  r.lq = d.len_q, r.lk = d.len_k, r.dim = d.dim, r.dim_v = d.dim_v;
  r.scale = p.scale;
  r.causal = p.causal;
  r.causal_offset = p.causal_offset;
  return r;
}

// The thread loop of the row-wise kernel: for every head bh = (b, h), r = rows_head(), then
// fill(r, b, h, bh) sets the output pointers of the pass, the dropout multipliers are drawn, and
// run(r, scratch) computes it (rows_head_forward or rows_head_backward).
template <typename Fill, typename Run>
void for_each_rows_head(const AttentionDims& d, const In& q, const In& k, const In& v,
                        const AttentionMask& mask, const AttentionParams& p, int threads, Fill fill,
                        Run run) {
  const int64_t heads = d.batch * d.heads;
  const bool dropout = p.dropout_p > 0.0f;
  const int team = team_size(d, heads, threads);
  parallel_region(team, [&](int64_t i, int64_t nt) {
    std::vector<float> scratch(detail::rows_head_scratch(d.len_k, d.dim, d.dim_v));
    std::vector<float> z(dropout ? d.len_q * d.len_k : 0);
    for (int64_t bh = heads * i / nt; bh < heads * (i + 1) / nt; ++bh) {
      const int64_t b = bh / d.heads, h = bh % d.heads;
      detail::RowsHead r = rows_head(d, q, k, v, mask, p, b, h);
      fill(r, b, h, bh);
      if (dropout) {
        dropout_head(d, p, b, h, z.data());
        r.dropout = z.data();
      }
      run(r, scratch.data());
    }
  });
}

void forward_rows(const AttentionDims& d, const In& q, const In& k, const In& v,
                  const AttentionMask& mask, const AttentionParams& p, const Out& o, float* lse,
                  int threads) {
  for_each_rows_head(
      d, q, k, v, mask, p, threads,
      [&](detail::RowsHead& r, int64_t b, int64_t h, int64_t bh) {
        r.out = o.at(b, h), r.out_ld = o.strides[2];
        r.lse = lse ? lse + bh * d.len_q : nullptr;
      },
      detail::rows_head_forward);
}

void backward_rows(const AttentionDims& d, const In& q, const In& k, const In& v,
                   const AttentionMask& mask, const AttentionParams& p, const In& o,
                   const float* lse, const In& dout, const Out& dq, const Out& dk, const Out& dv,
                   int threads) {
  for_each_rows_head(
      d, q, k, v, mask, p, threads,
      [&](detail::RowsHead& r, int64_t b, int64_t h, int64_t bh) {
        r.o = o.at(b, h), r.o_ld = o.strides[2];
        r.lse = const_cast<float*>(lse + bh * d.len_q);
        r.dout = dout.at(b, h), r.dout_ld = dout.strides[2];
        r.dq = dq.at(b, h), r.dq_ld = dq.strides[2];
        r.dk = dk.at(b, h), r.dk_ld = dk.strides[2];
        r.dv = dv.at(b, h), r.dv_ld = dv.strides[2];
      },
      detail::rows_head_backward);
}

}  // namespace

// Model FLOPs of attention: the forward's Q·Kᵀ and P·V, 2·B·H·Lq·Lk·(D + Dv); the backward
// twice that (dV, dP, dQ, dK), whatever the masks skip.
static double attention_flops(const AttentionDims& d) {
  return 2.0 * d.batch * d.heads * d.len_q * d.len_k * (d.dim + d.dim_v);
}

void attention_forward(In q, In k, In v, const AttentionMask& mask, const AttentionParams& p, Out o,
                       float* lse, int threads) {
  const AttentionDims d = attention_dims(q, k, v);
  const CountedCall counted(attention_counter(), attention_flops(d), threads);
  ATTEND_DEBUG_ASSERT(q.strides[3] == 1 && k.strides[3] == 1 && v.strides[3] == 1 &&
                      o.strides[3] == 1);
  if (use_rows_kernel(d, p)) {
    forward_rows(d, q, k, v, mask, p, o, lse, threads);
    return;
  }
  const int64_t ldq = q.strides[2], ldk = k.strides[2], ldv = v.strides[2], ldo = o.strides[2];
  const int64_t qb = query_block(d.len_q, p.causal);
  const int64_t n_qblocks = (d.len_q + qb - 1) / qb;
  const int64_t tasks = d.batch * d.heads * n_qblocks;
  const bool dropout = p.dropout_p > 0.0f;

  const int64_t lds = tile_ld(d.len_k);
  const int team = team_size(d, tasks, threads);
  parallel_region(team, [&](int64_t i, int64_t nt) {
    auto s = scratch_floats(qb * lds);
    std::vector<float> m(qb), l(qb), alpha(qb);
    for (int64_t t = tasks * i / nt; t < tasks * (i + 1) / nt; ++t) {
      const int64_t b = t / (d.heads * n_qblocks), h = (t / n_qblocks) % d.heads;
      const int64_t i0 = (t % n_qblocks) * qb, rows = std::min(qb, d.len_q - i0);
      const float* qt = q.at(b, h, i0);
      float* ot = o.at(b, h, i0);
      float* lt = lse ? lse + (b * d.heads + h) * d.len_q + i0 : nullptr;
      std::fill(m.begin(), m.begin() + rows, -INFINITY);
      std::fill(l.begin(), l.begin() + rows, 0.0f);
      const int64_t kend = key_end(d, p, i0, rows);
      if (kend == 0)  // no key visible: the output is zero
        for (int64_t i = 0; i < rows; ++i) std::fill(ot + i * ldo, ot + i * ldo + d.dim_v, 0.0f);
      for (int64_t j0 = 0; j0 < kend; j0 += kKeyBlock) {
        const int64_t cols = std::min(kKeyBlock, kend - j0);
        const float* kt = k.at(b, h, j0);
        const float* vt = v.at(b, h, j0);
        // S (rows, cols) = scale · Q_t K_tᵀ
        gemm({false, true, rows, cols, d.dim, ldq, ldk, lds}, p.scale, qt, kt, 0.0f, s.get(), 1);
        apply_masks(s.get(), rows, cols, lds, b, h, i0, j0, mask, p);
        detail::online_softmax_rows(s.get(), rows, cols, lds, m.data(), l.data(), alpha.data());
        // The first block writes O_t; later ones rescale it by alpha = exp(m_old − m_new).
        if (j0 > 0) detail::scale_rows(ot, rows, d.dim_v, ldo, alpha.data());
        if (dropout) apply_dropout(s.get(), rows, cols, lds, d, p, b, h, i0, j0);
        // O_t (rows, Dv) (+)= P V_t
        gemm({false, false, rows, d.dim_v, cols, lds, ldv, ldo}, 1.0f, s.get(), vt,
             j0 > 0 ? 1.0f : 0.0f, ot, 1);
      }
      // O_t ← O_t / l (a fully masked row has l = 0 and P = 0, so its output stays zero)
      for (int64_t i = 0; i < rows; ++i) {
        alpha[i] = l[i] > 0.0f ? 1.0f / l[i] : 1.0f;
        if (lt) lt[i] = l[i] > 0.0f ? m[i] + std::log(l[i]) : -INFINITY;
      }
      detail::scale_rows(ot, rows, d.dim_v, ldo, alpha.data());
    }
  });
}

void attention_backward(In q, In k, In v, const AttentionMask& mask, const AttentionParams& p, In o,
                        const float* lse, In dout, Out dq, Out dk, Out dv, int threads) {
  const AttentionDims d = attention_dims(q, k, v);
  const CountedCall counted(attention_counter(), 2 * attention_flops(d), threads);
  ATTEND_DEBUG_ASSERT(q.strides[3] == 1 && k.strides[3] == 1 && v.strides[3] == 1 &&
                      o.strides[3] == 1 && dout.strides[3] == 1 && dq.strides[3] == 1 &&
                      dk.strides[3] == 1 && dv.strides[3] == 1);
  if (use_rows_kernel(d, p)) {
    backward_rows(d, q, k, v, mask, p, o, lse, dout, dq, dk, dv, threads);
    return;
  }
  const int64_t ldq = q.strides[2], ldk = k.strides[2], ldv = v.strides[2], ldo = o.strides[2];
  const int64_t lddo = dout.strides[2], lddq = dq.strides[2], lddk = dk.strides[2],
                lddv = dv.strides[2];
  const int64_t qb = query_block(d.len_q, p.causal);
  const int64_t heads = d.batch * d.heads;
  const bool dropout = p.dropout_p > 0.0f;
  const float keep_scale = dropout ? 1.0f / (1.0f - p.dropout_p) : 1.0f;

  const int64_t lds = tile_ld(d.len_k);
  const int team = team_size(d, heads, threads);
  std::atomic<int64_t> next{0};
  parallel_region(team, [&](int64_t, int64_t) {
    auto s = scratch_floats(qb * lds), dp = scratch_floats(qb * lds);
    auto pd = scratch_floats(dropout ? qb * lds : 0);
    std::vector<float> di(d.len_q);
    for (int64_t bh; (bh = next.fetch_add(1, std::memory_order_relaxed)) < heads;) {
      const int64_t b = bh / d.heads, h = bh % d.heads;
      const float* qh = q.at(b, h);
      const float* kh = k.at(b, h);
      const float* vh = v.at(b, h);
      const float* oh = o.at(b, h);
      const float* doh = dout.at(b, h);
      const float* lh = lse + bh * d.len_q;
      float* dqh = dq.at(b, h);
      float* dkh = dk.at(b, h);
      float* dvh = dv.at(b, h);
      for (int64_t j = 0; j < d.len_k; ++j) {
        std::fill(dkh + j * lddk, dkh + j * lddk + d.dim, 0.0f);
        std::fill(dvh + j * lddv, dvh + j * lddv + d.dim_v, 0.0f);
      }
      // D_i = Σ_d dO_id · O_id  (= Σ_j P_ij dP_ij)
      for (int64_t i = 0; i < d.len_q; ++i)
        di[i] = detail::dot(doh + i * lddo, oh + i * ldo, d.dim_v);

      for (int64_t i0 = 0; i0 < d.len_q; i0 += qb) {
        const int64_t rows = std::min(qb, d.len_q - i0);
        const float* qt = qh + i0 * ldq;
        const float* dot_ = doh + i0 * lddo;
        float* dqt = dqh + i0 * lddq;
        for (int64_t i = 0; i < rows; ++i) std::fill(dqt + i * lddq, dqt + i * lddq + d.dim, 0.0f);
        const int64_t kend = key_end(d, p, i0, rows);
        for (int64_t j0 = 0; j0 < kend; j0 += kKeyBlock) {
          const int64_t cols = std::min(kKeyBlock, kend - j0);
          const float* kt = kh + j0 * ldk;
          const float* vt = vh + j0 * ldv;
          // P (rows, cols) = exp(scale · Q Kᵀ + mask − lse)
          gemm({false, true, rows, cols, d.dim, ldq, ldk, lds}, p.scale, qt, kt, 0.0f, s.get(), 1);
          apply_masks(s.get(), rows, cols, lds, b, h, i0, j0, mask, p);
          detail::exp_minus_rows(s.get(), rows, cols, lds, lh + i0);
          const float* p_used = s.get();  // the weights that multiplied V
          if (dropout) {
            for (int64_t i = 0; i < rows; ++i)
              std::copy(s.get() + i * lds, s.get() + i * lds + cols, pd.get() + i * lds);
            apply_dropout(pd.get(), rows, cols, lds, d, p, b, h, i0, j0);
            p_used = pd.get();
          }
          // dV_t (cols, Dv) += P_usedᵀ dO_t
          gemm({true, false, cols, d.dim_v, rows, lds, lddo, lddv}, 1.0f, p_used, dot_, 1.0f,
               dvh + j0 * lddv, 1);
          // dP (rows, cols) = dO_t V_tᵀ (then through the dropout mask)
          gemm({false, true, rows, cols, d.dim_v, lddo, ldv, lds}, 1.0f, dot_, vt, 0.0f, dp.get(),
               1);
          if (dropout)
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t j = 0; j < cols; ++j)
                dp[i * lds + j] *= pd[i * lds + j] != 0.0f ? keep_scale : 0.0f;
          // dS = P ∘ (dP − D)
          detail::softmax_grad_rows(dp.get(), s.get(), rows, cols, lds, di.data() + i0);
          // dQ_t += scale · dS K_t ;  dK_t += scale · dSᵀ Q_t
          gemm({false, false, rows, d.dim, cols, lds, ldk, lddq}, p.scale, dp.get(), kt, 1.0f, dqt,
               1);
          gemm({true, false, cols, d.dim, rows, lds, ldq, lddk}, p.scale, dp.get(), qt, 1.0f,
               dkh + j0 * lddk, 1);
        }
      }
    }
  });
}

void attention_forward(View<const double, 4> q, View<const double, 4> k, View<const double, 4> v,
                       const AttentionMask& mask, const AttentionParams& p, View<double, 4> o,
                       double* lse, int) {
  attention_forward_reference<double>(q, k, v, mask, p, o, lse);
}

void attention_backward(View<const double, 4> q, View<const double, 4> k, View<const double, 4> v,
                        const AttentionMask& mask, const AttentionParams& p, View<const double, 4>,
                        const double*, View<const double, 4> dout, View<double, 4> dq,
                        View<double, 4> dk, View<double, 4> dv, int) {
  attention_backward_reference<double>(q, k, v, mask, p, dout, dq, dk, dv);
}

// ---- reference twin
// ------------------------------------------------------------------------------

namespace {

// Row i of the scores of head (b, h) with masks, into `scores` (len_k).
template <typename T>
void reference_scores(const AttentionDims& d, const View<const T, 4>& q, const View<const T, 4>& k,
                      const AttentionMask& mask, const AttentionParams& p, int64_t b, int64_t h,
                      int64_t i, std::vector<T>& scores) {
  for (int64_t j = 0; j < d.len_k; ++j) {
    T acc = 0;
    const T* qi = q.at(b, h, i);
    const T* kj = k.at(b, h, j);
    for (int64_t c = 0; c < d.dim; ++c) acc += qi[c] * kj[c];
    T sc = acc * static_cast<T>(p.scale);
    if (mask.data) sc += *mask.at(b, h, i, j);
    if (p.causal && j > i + p.causal_offset) sc = -INFINITY;
    scores[j] = sc;
  }
}

// Softmax of a row in place; returns the log-sum-exp (−inf and all zeros when fully masked).
template <typename T>
T reference_softmax(std::vector<T>& row) {
  T mx = -INFINITY;
  for (T x : row) mx = std::max(mx, x);
  if (mx == -INFINITY) {
    std::fill(row.begin(), row.end(), T(0));
    return -INFINITY;
  }
  T sum = 0;
  for (T& x : row) sum += (x = std::exp(x - mx));
  for (T& x : row) x /= sum;
  return mx + std::log(sum);
}

}  // namespace

template <typename T>
void attention_forward_reference(View<const T, 4> q, View<const T, 4> k, View<const T, 4> v,
                                 const AttentionMask& mask, const AttentionParams& p, View<T, 4> o,
                                 T* lse) {
  const AttentionDims d = attention_dims(q, k, v);
  std::vector<T> row(d.len_k);
  const T keep_scale = p.dropout_p > 0 ? T(1) / (T(1) - T(p.dropout_p)) : T(1);
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t h = 0; h < d.heads; ++h)
      for (int64_t i = 0; i < d.len_q; ++i) {
        reference_scores(d, q, k, mask, p, b, h, i, row);
        T l = reference_softmax(row);
        if (lse) lse[(b * d.heads + h) * d.len_q + i] = l;
        T* oi = o.at(b, h, i);
        for (int64_t c = 0; c < d.dim_v; ++c) oi[c] = 0;
        for (int64_t j = 0; j < d.len_k; ++j) {
          T w = row[j];
          if (p.dropout_p > 0) w *= attention_dropout_keep(p, d, b, h, i, j) ? keep_scale : T(0);
          const T* vj = v.at(b, h, j);
          for (int64_t c = 0; c < d.dim_v; ++c) oi[c] += w * vj[c];
        }
      }
}

template <typename T>
void attention_backward_reference(View<const T, 4> q, View<const T, 4> k, View<const T, 4> v,
                                  const AttentionMask& mask, const AttentionParams& p,
                                  View<const T, 4> dout, View<T, 4> dq, View<T, 4> dk,
                                  View<T, 4> dv) {
  const AttentionDims d = attention_dims(q, k, v);
  std::vector<T> prob(d.len_k), dprob(d.len_k);
  const T keep_scale = p.dropout_p > 0 ? T(1) / (T(1) - T(p.dropout_p)) : T(1);
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t h = 0; h < d.heads; ++h) {
      for (int64_t j = 0; j < d.len_k; ++j) {
        std::fill(dk.at(b, h, j), dk.at(b, h, j) + d.dim, T(0));
        std::fill(dv.at(b, h, j), dv.at(b, h, j) + d.dim_v, T(0));
      }
      for (int64_t i = 0; i < d.len_q; ++i) {
        reference_scores(d, q, k, mask, p, b, h, i, prob);
        reference_softmax(prob);
        const T* doi = dout.at(b, h, i);
        // dP_ij = z_ij · (dO_i · V_j); dV_j += z_ij P_ij dO_i
        T di = 0;
        for (int64_t j = 0; j < d.len_k; ++j) {
          T z = p.dropout_p > 0 ? (attention_dropout_keep(p, d, b, h, i, j) ? keep_scale : T(0))
                                : T(1);
          const T* vj = v.at(b, h, j);
          T acc = 0;
          for (int64_t c = 0; c < d.dim_v; ++c) acc += doi[c] * vj[c];
          dprob[j] = z * acc;
          di += prob[j] * dprob[j];
          T* dvj = dv.at(b, h, j);
          for (int64_t c = 0; c < d.dim_v; ++c) dvj[c] += z * prob[j] * doi[c];
        }
        // dS_ij = P_ij (dP_ij − Σ_k P_ik dP_ik); dQ_i = scale Σ_j dS_ij K_j; dK_j += scale dS_ij
        // Q_i
        T* dqi = dq.at(b, h, i);
        const T* qi = q.at(b, h, i);
        for (int64_t c = 0; c < d.dim; ++c) dqi[c] = 0;
        for (int64_t j = 0; j < d.len_k; ++j) {
          T ds = prob[j] * (dprob[j] - di) * static_cast<T>(p.scale);
          const T* kj = k.at(b, h, j);
          T* dkj = dk.at(b, h, j);
          for (int64_t c = 0; c < d.dim; ++c) {
            dqi[c] += ds * kj[c];
            dkj[c] += ds * qi[c];
          }
        }
      }
    }
}

template void attention_forward_reference<float>(View<const float, 4>, View<const float, 4>,
                                                 View<const float, 4>, const AttentionMask&,
                                                 const AttentionParams&, View<float, 4>, float*);
template void attention_forward_reference<double>(View<const double, 4>, View<const double, 4>,
                                                  View<const double, 4>, const AttentionMask&,
                                                  const AttentionParams&, View<double, 4>, double*);
template void attention_backward_reference<float>(View<const float, 4>, View<const float, 4>,
                                                  View<const float, 4>, const AttentionMask&,
                                                  const AttentionParams&, View<const float, 4>,
                                                  View<float, 4>, View<float, 4>, View<float, 4>);
template void attention_backward_reference<double>(View<const double, 4>, View<const double, 4>,
                                                   View<const double, 4>, const AttentionMask&,
                                                   const AttentionParams&, View<const double, 4>,
                                                   View<double, 4>, View<double, 4>,
                                                   View<double, 4>);

}  // namespace attend::kernels
