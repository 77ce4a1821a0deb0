#include "attend/ops/attention.h"

#include <algorithm>
#include <cmath>

#include "attend/autograd/node.h"
#include "attend/kernels/attention.h"
#include "attend/kernels/attention_rows.h"
#include "attend/kernels/parallel.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/linalg.h"
#include "attend/ops/nn_functional.h"
#include "attend/ops/shape.h"

namespace attend {

namespace {

using kernels::AttentionDims;
using kernels::AttentionMask;
using kernels::AttentionParams;

// x itself if its last dim is unit-stride, else a contiguous copy (kernels need rows of features).
// The copy is the differentiable contiguous() op, so gradients reach the caller's tensor.
Tensor rows_contiguous(const Tensor& x) {
  return x.strides().back() == 1 || x.size(-1) <= 1 ? x : contiguous(x);
}

template <typename T>
kernels::View<T, 4> view4(const Tensor& x) {
  return x.kernel_view<T, 4>();
}

// Uninitialised tensor shaped like x whose memory follows x's dim order (by decreasing stride), so
// a gradient of a permuted view comes back as the same permuted view of a dense buffer.
Tensor empty_like_layout(const Tensor& x) {
  int n = x.ndim();
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return x.strides()[a] > x.strides()[b]; });
  Shape dense_shape;
  for (int i : order) dense_shape.push_back(x.shape()[i]);
  Tensor dense = Tensor::empty(dense_shape, x.dtype(), x.context());
  Strides dense_strides = contiguous_strides(dense_shape), strides;
  strides.resize(n);
  for (int i = 0; i < n; ++i) strides[order[i]] = dense_strides[i];
  return dense.as_strided(x.shape(), strides, 0);
}

// The mask as an additive float32 tensor with 4-d broadcast strides for the kernel.
struct KernelMask {
  Tensor additive;  // keeps the data alive
  AttentionMask view;
};

KernelMask make_kernel_mask(const AttentionOptions& o, const AttentionDims& d) {
  KernelMask km;
  if (!o.mask.defined()) return km;
  const Tensor& m = o.mask;
  ATTEND_CHECK(m.ndim() <= 4, "[attention] mask of shape {} has more than 4 dims", m.shape().str());
  Shape target{d.batch, d.heads, d.len_q, d.len_k};
  Shape padded;
  for (int i = 0; i < 4 - m.ndim(); ++i) padded.push_back(1);
  for (int64_t s : m.shape()) padded.push_back(s);
  for (int i = 0; i < 4; ++i)
    ATTEND_CHECK(padded[i] == target[i] || padded[i] == 1,
                 "[attention] mask of shape {} does not broadcast to (B, H, Lq, Lk) = {}",
                 m.shape().str(), target.str());
  // Values: additive float32 of the mask's own shape (the kernels read float masks).
  std::vector<double> vals = m.to_vector<double>();
  if (o.mask_type == MaskType::Boolean)
    for (double& x : vals) x = x != 0.0 ? 0.0 : -INFINITY;
  km.additive = Tensor::from_doubles(vals, m.shape(), DType::F32, m.context());
  Strides st = contiguous_strides(padded);
  for (int i = 0; i < 4; ++i)
    if (padded[i] == 1) st[i] = 0;
  km.view = {km.additive.data<float>(),
             {target[0], target[1], target[2], target[3]},
             {st[0], st[1], st[2], st[3]}};
  return km;
}

// Dropout multiplier keep/(1 − p) or 0 for every (b, h, i, j), from the kernel's stream.
Tensor dropout_multiplier(const AttentionDims& d, const AttentionParams& p, DType dtype,
                          Context& ctx) {
  Tensor z = Tensor::empty({d.batch, d.heads, d.len_q, d.len_k}, DType::F64, ctx);
  double* zp = z.data<double>();
  double keep = 1.0 / (1.0 - p.dropout_p);
  int64_t n = 0;
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t h = 0; h < d.heads; ++h)
      for (int64_t i = 0; i < d.len_q; ++i)
        for (int64_t j = 0; j < d.len_k; ++j)
          zp[n++] = kernels::attention_dropout_keep(p, d, b, h, i, j) ? keep : 0.0;
  return dtype == DType::F64 ? z : z.copy_as(dtype);
}

AttentionResult reference_path(const Tensor& q, const Tensor& k, const Tensor& v,
                               const AttentionOptions& o, const AttentionDims& d,
                               const AttentionParams& p) {
  // S = scale · Q Kᵀ (+ mask), P = softmax(S), O = dropout(P) V
  Tensor s = mul(matmul(q, transpose(k, -2, -1)), static_cast<double>(p.scale));
  if (o.mask.defined()) {
    if (o.mask_type == MaskType::Boolean) {
      Tensor masked_out = where(o.mask, Tensor::zeros({}, q.dtype(), q.context()),
                                Tensor::ones({}, q.dtype(), q.context()));
      s = masked_fill(s, masked_out, -INFINITY);
    } else {
      s = add(s, o.mask.dtype() == q.dtype() ? o.mask : o.mask.copy_as(q.dtype()));
    }
  }
  if (o.causal) {
    Tensor future = Tensor::zeros({d.len_q, d.len_k}, q.dtype(), q.context());
    dispatch_float(q.dtype(), "attention", [&](auto tag) {
      using T = decltype(tag);
      T* f = future.data<T>();
      for (int64_t i = 0; i < d.len_q; ++i)
        for (int64_t j = i + 1 + o.causal_offset; j < d.len_k; ++j) f[i * d.len_k + j] = 1;
    });
    s = masked_fill(s, future, -INFINITY);
  }
  // Fully masked rows: softmax of all −inf is NaN. Such rows get finite scores before the softmax
  // and weight 0 after it, so both the output and the gradients stay zero there.
  Tensor row_dead = Tensor::zeros({d.batch, d.heads, d.len_q, 1}, q.dtype(), q.context());
  bool any_dead = false;
  {
    std::vector<double> sv = s.detach().to_vector<double>();
    dispatch_float(q.dtype(), "attention", [&](auto tag) {
      using T = decltype(tag);
      T* rd = row_dead.data<T>();
      for (int64_t r = 0; r < d.batch * d.heads * d.len_q; ++r) {
        bool dead = true;
        for (int64_t j = 0; j < d.len_k && dead; ++j) dead = sv[r * d.len_k + j] == -INFINITY;
        if (dead) rd[r] = 1, any_dead = true;
      }
    });
  }
  if (any_dead) s = masked_fill(s, row_dead, 0.0);
  Tensor w = softmax(s, -1);
  if (any_dead) w = masked_fill(w, row_dead, 0.0);
  Tensor w_used = w;
  if (p.dropout_p > 0) w_used = mul(w, dropout_multiplier(d, p, q.dtype(), q.context()));
  return {matmul(w_used, v), o.return_weights ? w : Tensor()};
}

}  // namespace

AttentionResult scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in,
                                             const Tensor& v_in, const AttentionOptions& o) {
  ATTEND_CHECK(q_in.defined() && k_in.defined() && v_in.defined(), "[attention] undefined input");
  ATTEND_CHECK(q_in.ndim() == 4 && k_in.ndim() == 4 && v_in.ndim() == 4,
               "[attention] q, k, v must be 4-d (B, H, L, D); got {}, {}, {}", q_in.shape().str(),
               k_in.shape().str(), v_in.shape().str());
  ATTEND_CHECK(q_in.dtype() == k_in.dtype() && q_in.dtype() == v_in.dtype(),
               "[attention] q, k, v dtypes differ");
  const Shape &qsh = q_in.shape(), &ksh = k_in.shape(), &vsh = v_in.shape();
  ATTEND_CHECK(qsh[0] == ksh[0] && qsh[0] == vsh[0] && qsh[1] == ksh[1] && qsh[1] == vsh[1] &&
                   qsh[3] == ksh[3] && ksh[2] == vsh[2],
               "[attention] shapes q {}, k {}, v {} do not agree: need q (B, H, Lq, D), "
               "k (B, H, Lk, D), v (B, H, Lk, Dv)",
               qsh.str(), ksh.str(), vsh.str());
  ATTEND_CHECK(o.dropout_p >= 0.0 && o.dropout_p < 1.0,
               "[attention] dropout probability {} is not in [0, 1)", o.dropout_p);
  ATTEND_CHECK(o.causal_offset >= 0, "[attention] causal_offset must be >= 0, got {}",
               o.causal_offset);

  AttentionDims d{qsh[0], qsh[1], qsh[2], ksh[2], qsh[3], vsh[3]};
  AttentionParams p;
  p.scale = static_cast<float>(o.scale ? *o.scale : 1.0 / std::sqrt(static_cast<double>(d.dim)));
  p.causal = o.causal;
  p.causal_offset = o.causal_offset;
  p.dropout_p = static_cast<float>(o.dropout_p);
  switch (o.fused_kernel) {
    case AttentionOptions::FusedKernel::Auto:
      p.kernel = AttentionParams::Kernel::Auto;
      break;
    case AttentionOptions::FusedKernel::Tiles:
      p.kernel = AttentionParams::Kernel::Tiles;
      break;
    case AttentionOptions::FusedKernel::Rows:
      p.kernel = AttentionParams::Kernel::Rows;
      break;
  }
  if (o.dropout_p > 0) {
    Generator& g = q_in.context().generator();
    p.seed = g.seed();
    p.offset = g.reserve_rows(static_cast<uint64_t>(d.batch * d.heads * d.len_q * d.len_k));
  }

  bool reference =
      o.path == AttentionPath::Reference || (o.path == AttentionPath::Auto && o.return_weights);
  ATTEND_CHECK(!(o.path == AttentionPath::Fused && o.return_weights),
               "[attention] the fused path does not return weights; use Auto or Reference");
  if (reference) return reference_path(q_in, k_in, v_in, o, d, p);

  Tensor q = rows_contiguous(q_in), k = rows_contiguous(k_in), v = rows_contiguous(v_in);
  Context& ctx = q.context();
  KernelMask km = make_kernel_mask(o, d);
  // Output buffer (B, Lq, H, Dv), returned as the (B, H, Lq, Dv) view.
  Tensor buf = Tensor::empty({d.batch, d.len_q, d.heads, d.dim_v}, q.dtype(), ctx);
  Tensor out = buf.as_strided({d.batch, d.heads, d.len_q, d.dim_v},
                              {d.len_q * d.heads * d.dim_v, d.dim_v, d.heads * d.dim_v, 1}, 0);
  // The log-sum-exp rows only serve the backward: not computed for inference (float32).
  const bool grad = needs_grad({q_in, k_in, v_in});
  Tensor lse;
  if (grad || q.dtype() != DType::F32)
    lse = Tensor::empty({d.batch, d.heads, d.len_q}, q.dtype(), ctx);

  // float32: the fused kernels; float64: their reference twins (the kernels' float64 overloads).
  ATTEND_CHECK(q.dtype() == DType::F32 || q.dtype() == DType::F64,
               "[attention] expects float32 or float64 inputs");
  dispatch_float(q.dtype(), "attention", [&](auto tag) {
    using T = decltype(tag);
    kernels::attention_forward(view4<T>(q), view4<T>(k), view4<T>(v), km.view, p, view4<T>(out),
                               lse.defined() ? lse.data<T>() : nullptr, ctx.threads());
  });

  if (grad) {
    record("scaled_dot_product_attention", {q, k, v}, out,
           [q, k, v, km, p, o_saved = out.detach(), lse](const Tensor& g) {
             Tensor go = rows_contiguous(g);
             Tensor dq = empty_like_layout(q), dk = empty_like_layout(k), dv = empty_like_layout(v);
             dispatch_float(q.dtype(), "attention", [&](auto tag) {
               using T = decltype(tag);
               kernels::attention_backward(view4<T>(q), view4<T>(k), view4<T>(v), km.view, p,
                                           view4<T>(o_saved), lse.data<T>(), view4<T>(go),
                                           view4<T>(dq), view4<T>(dk), view4<T>(dv),
                                           q.context().threads());
             });
             return std::vector<Tensor>{dq, dk, dv};
           });
  }
  return {out, Tensor()};
}

}  // namespace attend

// ---- ProbSparse attention
// --------------------------------------------------------------------------

namespace attend {

namespace {

// M_i = max_j(q_i·k_idx) − Σ_j(q_i·k_idx)/Lk over each query's sampled keys (SIMD for float32).
void sparsity_measure_any(const float* q, int64_t q_ld, const float* k, int64_t k_ld,
                          const int64_t* idx, int64_t len_q, int64_t n_sample, int64_t dim,
                          int64_t len_k, float* m) {
  kernels::detail::sparsity_measure(q, q_ld, k, k_ld, idx, len_q, n_sample, dim, len_k, m);
}
void sparsity_measure_any(const double* q, int64_t q_ld, const double* k, int64_t k_ld,
                          const int64_t* idx, int64_t len_q, int64_t n_sample, int64_t dim,
                          int64_t len_k, double* m) {
  for (int64_t i = 0; i < len_q; ++i) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < n_sample; ++j) {
      double s = 0;
      for (int64_t c = 0; c < dim; ++c) s += q[i * q_ld + c] * k[idx[i * n_sample + j] * k_ld + c];
      mx = std::max(mx, s);
      sum += s;
    }
    m[i] = mx - sum / static_cast<double>(len_k);
  }
}

int64_t ceil_log(int64_t n) {
  return static_cast<int64_t>(std::ceil(std::log(static_cast<double>(n))));
}

struct ProbSparsePlan {
  AttentionDims full;  // (B, H, Lq, Lk, D, Dv)
  AttentionDims top;   // (B, H, u, Lk, D, Dv)
  AttentionParams params;
  Tensor selected;  // int64 (B, H, u), ascending
  Tensor mask;      // float32 (B, H, u, Lk) additive causal mask, or undefined
  AttentionMask mask_view;
};

template <typename T>
ProbSparseResult prob_sparse_impl(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const ProbSparseOptions& o, ProbSparsePlan& plan) {
  const AttentionDims& d = plan.full;
  Context& ctx = q.context();
  const int64_t n_sample = std::max<int64_t>(1, std::min(o.factor * ceil_log(d.len_k), d.len_k));
  const int64_t n_top = std::max<int64_t>(1, std::min(o.factor * ceil_log(d.len_q), d.len_q));

  // Key sample (Lq, U), shared by every batch element and head as in TSLib.
  Tensor sample = o.index_sample;
  if (sample.defined()) {
    ATTEND_CHECK(sample.dtype() == DType::I64 && sample.ndim() == 2 && sample.size(0) == d.len_q &&
                     sample.size(1) == n_sample,
                 "[prob_sparse_attention] index_sample must be int64 (Lq, U) = ({}, {}), got {} {}",
                 d.len_q, n_sample, dtype_name(sample.dtype()), sample.shape().str());
    sample = sample.contiguous_data();
    for (int64_t x : sample.to_vector<int64_t>())
      ATTEND_CHECK(x >= 0 && x < d.len_k,
                   "[prob_sparse_attention] index_sample value {} is out of range [0, {})", x,
                   d.len_k);
  } else {
    sample = Tensor::empty({d.len_q, n_sample}, DType::I64, ctx);
    int64_t* s = sample.data<int64_t>();
    for (int64_t i = 0; i < d.len_q * n_sample; ++i)
      s[i] = static_cast<int64_t>(ctx.generator().randint(static_cast<uint64_t>(d.len_k)));
  }
  const int64_t* idx = sample.data<int64_t>();

  // Sparsity measure M and the top-u queries of every (b, h).
  plan.top = {d.batch, d.heads, n_top, d.len_k, d.dim, d.dim_v};
  plan.selected = Tensor::empty({d.batch, d.heads, n_top}, DType::I64, ctx);
  int64_t* sel = plan.selected.data<int64_t>();
  const kernels::View<T, 4> qv = view4<T>(q), kv = view4<T>(k), vv = view4<T>(v);
  const int64_t heads = d.batch * d.heads;
  const bool threaded = heads > 1 && d.len_q * n_sample * d.dim > 65536;
  kernels::parallel_region(
      threaded ? static_cast<int>(std::min<int64_t>(ctx.threads(), heads)) : 1,
      [&](int64_t i, int64_t nt) {
        std::vector<T> m(d.len_q);
        std::vector<int64_t> order(d.len_q);
        for (int64_t bh = heads * i / nt; bh < heads * (i + 1) / nt; ++bh) {
          const int64_t b = bh / d.heads, h = bh % d.heads;
          sparsity_measure_any(qv.at(b, h), qv.strides[2], kv.at(b, h), kv.strides[2], idx, d.len_q,
                               n_sample, d.dim, d.len_k, m.data());
          for (int64_t i = 0; i < d.len_q; ++i) order[i] = i;
          std::partial_sort(
              order.begin(), order.begin() + n_top, order.end(),
              [&](int64_t a, int64_t c) { return m[a] > m[c] || (m[a] == m[c] && a < c); });
          std::sort(order.begin(), order.begin() + n_top);
          std::copy(order.begin(), order.begin() + n_top, sel + bh * n_top);
        }
      });

  // Causal: selected query at position s sees keys j ≤ s.
  if (o.causal) {
    plan.mask = Tensor::empty({d.batch, d.heads, n_top, d.len_k}, DType::F32, ctx);
    float* mk = plan.mask.data<float>();
    for (int64_t r = 0; r < d.batch * d.heads * n_top; ++r)
      for (int64_t j = 0; j < d.len_k; ++j) mk[r * d.len_k + j] = j <= sel[r] ? 0.0f : -INFINITY;
    plan.mask_view = AttentionMask::dense(mk, {d.batch, d.heads, n_top, d.len_k});
  }

  // Selected queries (B, H, u, D), attention over all keys.
  Tensor q_top = Tensor::empty({d.batch, d.heads, n_top, d.dim}, q.dtype(), ctx);
  T* qt = q_top.data<T>();
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t h = 0; h < d.heads; ++h)
      for (int64_t r = 0; r < n_top; ++r) {
        const T* src = qv.at(b, h, sel[(b * d.heads + h) * n_top + r]);
        std::copy(src, src + d.dim, qt + ((b * d.heads + h) * n_top + r) * d.dim);
      }
  Tensor o_top = Tensor::empty({d.batch, d.heads, n_top, d.dim_v}, q.dtype(), ctx);
  Tensor lse = Tensor::empty({d.batch, d.heads, n_top}, q.dtype(), ctx);
  kernels::attention_forward(view4<T>(q_top), kv, vv, plan.mask_view, plan.params, view4<T>(o_top),
                             lse.data<T>(), ctx.threads());

  // Context: mean(V) (or cumsum(V) when causal) for every query, selected rows overwritten.
  Tensor out = Tensor::empty({d.batch, d.heads, d.len_q, d.dim_v}, q.dtype(), ctx);
  T* op = out.data<T>();
  const T* ot = o_top.data<T>();
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t h = 0; h < d.heads; ++h) {
      T* oh = op + (b * d.heads + h) * d.len_q * d.dim_v;
      const T* vh = vv.at(b, h);
      // Row by row, so that the inner loops run along contiguous Dv.
      if (o.causal) {
        // oh[i] = Σ_{j ≤ i} v[j]
        std::copy(vh, vh + d.dim_v, oh);
        for (int64_t i = 1; i < d.len_q; ++i) {
          const T* prev = oh + (i - 1) * d.dim_v;
          const T* vi = vh + i * vv.strides[2];
          T* oi = oh + i * d.dim_v;
          for (int64_t c = 0; c < d.dim_v; ++c) oi[c] = prev[c] + vi[c];
        }
      } else {
        // oh[i] = Σ_j v[j] / Lk for every i
        T* o0 = oh;
        std::copy(vh, vh + d.dim_v, o0);
        for (int64_t j = 1; j < d.len_k; ++j) {
          const T* vj = vh + j * vv.strides[2];
          for (int64_t c = 0; c < d.dim_v; ++c) o0[c] += vj[c];
        }
        for (int64_t c = 0; c < d.dim_v; ++c) o0[c] /= static_cast<T>(d.len_k);
        for (int64_t i = 1; i < d.len_q; ++i) std::copy(o0, o0 + d.dim_v, oh + i * d.dim_v);
      }
      for (int64_t r = 0; r < n_top; ++r) {
        const T* src = ot + ((b * d.heads + h) * n_top + r) * d.dim_v;
        std::copy(src, src + d.dim_v, oh + sel[(b * d.heads + h) * n_top + r] * d.dim_v);
      }
    }

  ProbSparseResult result{out, Tensor(), plan.selected, sample};
  if (o.return_weights) {
    // TSLib's output_attention: 1/Lk everywhere, the selected rows' softmax weights in place.
    Tensor w = Tensor::full({d.batch, d.heads, d.len_q, d.len_k}, 1.0 / d.len_k, q.dtype(), ctx);
    T* wp = w.data<T>();
    const T* lp = lse.data<T>();
    for (int64_t b = 0; b < d.batch; ++b)
      for (int64_t h = 0; h < d.heads; ++h)
        for (int64_t r = 0; r < n_top; ++r) {
          int64_t row = (b * d.heads + h) * n_top + r, i = sel[row];
          T* wr = wp + ((b * d.heads + h) * d.len_q + i) * d.len_k;
          const T* qi = qt + row * d.dim;
          for (int64_t j = 0; j < d.len_k; ++j) {
            if (o.causal && j > i) {
              wr[j] = 0;
              continue;
            }
            const T* kj = kv.at(b, h, j);
            T s = 0;
            for (int64_t c = 0; c < d.dim; ++c) s += qi[c] * kj[c];
            wr[j] = std::exp(s * static_cast<T>(plan.params.scale) - lp[row]);
          }
        }
    result.weights = w;
  }

  if (needs_grad({q, k, v})) {
    record("prob_sparse_attention", {q, k, v}, out,
           [q, k, v, q_top, o_top, lse, plan, causal = o.causal](const Tensor& g_in) {
             const AttentionDims& d = plan.full;
             const int64_t n_top = plan.top.len_q;
             Tensor g = g_in.contiguous_data();
             const T* gp = g.data<T>();
             const int64_t* sel = plan.selected.data<int64_t>();
             Context& ctx = q.context();
             // Gradient rows of the selected queries (B, H, u, Dv).
             Tensor g_top = Tensor::empty({d.batch, d.heads, n_top, d.dim_v}, q.dtype(), ctx);
             T* gt = g_top.data<T>();
             std::vector<char> is_sel(d.len_q);
             for (int64_t bh = 0; bh < d.batch * d.heads; ++bh)
               for (int64_t r = 0; r < n_top; ++r) {
                 const T* src = gp + (bh * d.len_q + sel[bh * n_top + r]) * d.dim_v;
                 std::copy(src, src + d.dim_v, gt + (bh * n_top + r) * d.dim_v);
               }
             Tensor dq_top = Tensor::empty({d.batch, d.heads, n_top, d.dim}, q.dtype(), ctx);
             Tensor dq = empty_like_layout(q), dk = empty_like_layout(k), dv = empty_like_layout(v);
             const kernels::View<T, 4> dqv = view4<T>(dq), dvv = view4<T>(dv);
             kernels::attention_backward(view4<T>(q_top), view4<T>(k), view4<T>(v), plan.mask_view,
                                         plan.params, view4<T>(o_top), lse.data<T>(),
                                         view4<T>(g_top), view4<T>(dq_top), view4<T>(dk), dvv,
                                         ctx.threads());
             const int64_t ldq = dqv.strides[2], ldv = dvv.strides[2];
             const T* dqt = dq_top.data<T>();
             for (int64_t b = 0; b < d.batch; ++b)
               for (int64_t h = 0; h < d.heads; ++h) {
                 const int64_t bh = b * d.heads + h;
                 T* dqh = dqv.at(b, h);
                 for (int64_t i = 0; i < d.len_q; ++i)
                   std::fill(dqh + i * ldq, dqh + i * ldq + d.dim, T(0));
                 std::fill(is_sel.begin(), is_sel.end(), 0);
                 for (int64_t r = 0; r < n_top; ++r) {
                   int64_t i = sel[bh * n_top + r];
                   is_sel[i] = 1;
                   std::copy(dqt + (bh * n_top + r) * d.dim, dqt + (bh * n_top + r + 1) * d.dim,
                             dqh + i * ldq);
                 }
                 // Rows left at the initial context pass their gradient to V.
                 const T* gh = gp + bh * d.len_q * d.dim_v;
                 T* dvh = dvv.at(b, h);
                 for (int64_t c = 0; c < d.dim_v; ++c) {
                   if (causal) {  // out_i = Σ_{j ≤ i} v_j  ⇒  dv_j += Σ_{i ≥ j, unselected} g_i
                     T acc = 0;
                     for (int64_t i = d.len_q - 1; i >= 0; --i) {
                       if (!is_sel[i]) acc += gh[i * d.dim_v + c];
                       dvh[i * ldv + c] += acc;
                     }
                   } else {  // out_i = mean_j v_j  ⇒  dv_j += Σ_{unselected i} g_i / Lk
                     T acc = 0;
                     for (int64_t i = 0; i < d.len_q; ++i)
                       if (!is_sel[i]) acc += gh[i * d.dim_v + c];
                     acc /= static_cast<T>(d.len_k);
                     for (int64_t j = 0; j < d.len_k; ++j) dvh[j * ldv + c] += acc;
                   }
                 }
               }
             return std::vector<Tensor>{dq, dk, dv};
           });
  }
  return result;
}

}  // namespace

ProbSparseResult prob_sparse_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                       const ProbSparseOptions& o) {
  ATTEND_CHECK(q_in.defined() && k_in.defined() && v_in.defined(),
               "[prob_sparse_attention] undefined input");
  ATTEND_CHECK(q_in.ndim() == 4 && k_in.ndim() == 4 && v_in.ndim() == 4,
               "[prob_sparse_attention] q, k, v must be 4-d (B, H, L, D); got {}, {}, {}",
               q_in.shape().str(), k_in.shape().str(), v_in.shape().str());
  ATTEND_CHECK(q_in.dtype() == k_in.dtype() && q_in.dtype() == v_in.dtype(),
               "[prob_sparse_attention] q, k, v dtypes differ");
  const Shape &qsh = q_in.shape(), &ksh = k_in.shape(), &vsh = v_in.shape();
  ATTEND_CHECK(
      qsh[0] == ksh[0] && qsh[0] == vsh[0] && qsh[1] == ksh[1] && qsh[1] == vsh[1] &&
          qsh[3] == ksh[3] && ksh[2] == vsh[2] && ksh[2] > 0 && qsh[2] > 0,
      "[prob_sparse_attention] shapes q {}, k {}, v {} do not agree: need q (B, H, Lq, D), "
      "k (B, H, Lk, D), v (B, H, Lk, Dv) with Lq, Lk > 0",
      qsh.str(), ksh.str(), vsh.str());
  ATTEND_CHECK(!o.causal || qsh[2] == ksh[2],
               "[prob_sparse_attention] the causal (masked) form needs Lq == Lk, got {} and {}",
               qsh[2], ksh[2]);
  ATTEND_CHECK(o.factor > 0, "[prob_sparse_attention] factor must be positive, got {}", o.factor);
  ProbSparsePlan plan;
  plan.full = {qsh[0], qsh[1], qsh[2], ksh[2], qsh[3], vsh[3]};
  plan.params.scale =
      static_cast<float>(o.scale ? *o.scale : 1.0 / std::sqrt(static_cast<double>(qsh[3])));
  Tensor q = rows_contiguous(q_in), k = rows_contiguous(k_in), v = rows_contiguous(v_in);
  return dispatch_float(q.dtype(), "prob_sparse_attention", [&](auto tag) {
    return prob_sparse_impl<decltype(tag)>(q, k, v, o, plan);
  });
}

}  // namespace attend
