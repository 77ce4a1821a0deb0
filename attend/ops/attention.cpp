#include "attend/ops/attention.h"

#include <algorithm>
#include <cmath>

#include "attend/autograd/node.h"
#include "attend/kernels/attention.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/linalg.h"
#include "attend/ops/nn_functional.h"
#include "attend/ops/shape.h"

namespace attend {

namespace {

using kernels::AttentionDims;
using kernels::AttentionMask;
using kernels::AttentionParams;
using kernels::AttentionStrides;

// x itself if its last dim is unit-stride, else a contiguous copy (kernels need rows of features).
Tensor rows_contiguous(const Tensor& x) {
  return x.strides().back() == 1 || x.size(-1) <= 1 ? x : x.contiguous_data();
}

AttentionStrides strides_bhl(const Tensor& x) {
  return {x.strides()[0], x.strides()[1], x.strides()[2]};
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
  km.view = {km.additive.data<float>(), st[0], st[1], st[2], st[3]};
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
        for (int64_t j = i + 1; j < d.len_k; ++j) f[i * d.len_k + j] = 1;
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

  AttentionDims d{qsh[0], qsh[1], qsh[2], ksh[2], qsh[3], vsh[3]};
  AttentionParams p;
  p.scale = static_cast<float>(o.scale ? *o.scale : 1.0 / std::sqrt(static_cast<double>(d.dim)));
  p.causal = o.causal;
  p.dropout_p = static_cast<float>(o.dropout_p);
  if (o.dropout_p > 0) {
    Generator& g = q_in.context().generator();
    p.seed = g.seed();
    p.offset = g.reserve(static_cast<uint64_t>(d.batch * d.heads * d.len_q * d.len_k));
  }

  bool reference = o.path == AttentionPath::Reference ||
                   (o.path == AttentionPath::Auto && o.return_weights);
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
  Tensor lse = Tensor::empty({d.batch, d.heads, d.len_q}, q.dtype(), ctx);

  if (q.dtype() == DType::F32) {
    kernels::attention_forward(d, q.data<float>(), strides_bhl(q), k.data<float>(), strides_bhl(k),
                               v.data<float>(), strides_bhl(v), km.view, p, out.data<float>(),
                               strides_bhl(out), lse.data<float>(), ctx.threads());
  } else {
    ATTEND_CHECK(q.dtype() == DType::F64, "[attention] expects float32 or float64 inputs");
    kernels::attention_forward_reference<double>(
        d, q.data<double>(), strides_bhl(q), k.data<double>(), strides_bhl(k), v.data<double>(),
        strides_bhl(v), km.view, p, out.data<double>(), strides_bhl(out), lse.data<double>());
  }

  if (needs_grad({q_in, k_in, v_in})) {
    record("scaled_dot_product_attention", {q, k, v}, out,
           [q, k, v, km, p, d, o_saved = out.detach(), lse](const Tensor& g) {
             Tensor go = rows_contiguous(g);
             Tensor dq = empty_like_layout(q), dk = empty_like_layout(k), dv = empty_like_layout(v);
             if (q.dtype() == DType::F32) {
               kernels::attention_backward(
                   d, q.data<float>(), strides_bhl(q), k.data<float>(), strides_bhl(k),
                   v.data<float>(), strides_bhl(v), km.view, p, o_saved.data<float>(),
                   strides_bhl(o_saved), lse.data<float>(), go.data<float>(), strides_bhl(go),
                   dq.data<float>(), strides_bhl(dq), dk.data<float>(), strides_bhl(dk),
                   dv.data<float>(), strides_bhl(dv), q.context().threads());
             } else {
               kernels::attention_backward_reference<double>(
                   d, q.data<double>(), strides_bhl(q), k.data<double>(), strides_bhl(k),
                   v.data<double>(), strides_bhl(v), km.view, p, go.data<double>(),
                   strides_bhl(go), dq.data<double>(), strides_bhl(dq), dk.data<double>(),
                   strides_bhl(dk), dv.data<double>(), strides_bhl(dv));
             }
             return std::vector<Tensor>{dq, dk, dv};
           });
  }
  return {out, Tensor()};
}

}  // namespace attend
