// lstm_layer: the recurrence of one LSTM layer and its backward-through-time.
#include "attend/ops/lstm.h"

#include <algorithm>
#include <cstring>

#include "attend/autograd/node.h"
#include "attend/kernels/gemm.h"
#include "attend/kernels/lstm_cell.h"

namespace attend {

namespace {

// Dense (B, columns) row blocks of the time-major buffers, as the cell kernels take them.
template <typename T>
using Rows = kernels::View<T, 2>;
template <typename T>
using ConstRows = kernels::View<const T, 2>;

// What the backward of one layer needs (time-major buffers).
struct LayerSaved {
  Tensor act;  // (L, B, 4H) gate activations
  Tensor hs;   // (L + 1, B, H): h0, h_1 .. h_L
  Tensor cs;   // (L + 1, B, H): c0, c_1 .. c_L
  Tensor w_hh;
};

template <typename T>
void layer_forward(const Tensor& xproj, const Tensor& w_hh, const Tensor& b_hh, const Tensor& h0,
                   const Tensor& c0, LayerSaved& s, Tensor& out) {
  const int64_t B = xproj.size(0), L = xproj.size(1), G = xproj.size(2), H = G / 4;
  const int threads = xproj.context().threads();
  const T* xp = xproj.data<T>();
  const T* w = w_hh.data<T>();
  const T* bh = b_hh.defined() ? b_hh.data<T>() : nullptr;
  T* act = s.act.data<T>();
  T* hs = s.hs.data<T>();
  T* cs = s.cs.data<T>();
  T* o = out.data<T>();
  if (h0.defined())
    std::memcpy(hs, h0.data<T>(), B * H * sizeof(T));
  else
    std::fill(hs, hs + B * H, T(0));
  if (c0.defined())
    std::memcpy(cs, c0.data<T>(), B * H * sizeof(T));
  else
    std::fill(cs, cs + B * H, T(0));
  kernels::GemmShape gs{false, true, B, G, H, H, H, G};
  for (int64_t t = 0; t < L; ++t) {
    T* a = act + t * B * G;
    // a = xproj[:, t] + b_hh + h_{t-1}·W_hhᵀ
    for (int64_t b = 0; b < B; ++b) {
      const T* xr = xp + (b * L + t) * G;
      T* ar = a + b * G;
      if (bh)
        for (int64_t j = 0; j < G; ++j) ar[j] = xr[j] + bh[j];
      else
        std::memcpy(ar, xr, G * sizeof(T));
    }
    kernels::gemm(gs, T(1), hs + t * B * H, w, T(1), a, threads);
    kernels::lstm_cell_forward(Rows<T>::dense(a, {B, G}), Rows<T>::dense(cs + t * B * H, {B, H}),
                               Rows<T>::dense(cs + (t + 1) * B * H, {B, H}),
                               Rows<T>::dense(hs + (t + 1) * B * H, {B, H}), threads);
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(o + (b * L + t) * H, hs + (t + 1) * B * H + b * H, H * sizeof(T));
  }
}

// Gradients of (xproj, w_hh, b_hh, h0, c0) from those of (out, h_n, c_n) (any may be undefined).
template <typename T>
std::vector<Tensor> layer_backward(const LayerSaved& s, bool has_bias, const Tensor& g_out,
                                   const Tensor& g_hn, const Tensor& g_cn) {
  const int64_t L = s.act.size(0), B = s.act.size(1), G = s.act.size(2), H = G / 4;
  Context& ctx = s.act.context();
  const int threads = ctx.threads();
  const DType dt = s.act.dtype();
  Tensor dA = Tensor::empty({L, B, G}, dt, ctx);
  Tensor dh = g_hn.defined() ? g_hn.copy_as(dt) : Tensor::zeros({B, H}, dt, ctx);
  Tensor dc = g_cn.defined() ? g_cn.copy_as(dt) : Tensor::zeros({B, H}, dt, ctx);
  Tensor go = g_out.defined() ? g_out.contiguous_data() : Tensor();
  const T* act = s.act.data<T>();
  const T* hs = s.hs.data<T>();
  const T* cs = s.cs.data<T>();
  const T* w = s.w_hh.data<T>();
  const T* gop = go.defined() ? go.data<T>() : nullptr;
  T* da = dA.data<T>();
  T* dhp = dh.data<T>();
  T* dcp = dc.data<T>();
  kernels::GemmShape back_h{false, false, B, H, G, G, H, H};  // dh = dA_t · W_hh
  for (int64_t t = L - 1; t >= 0; --t) {
    if (gop)
      for (int64_t b = 0; b < B; ++b) {
        const T* gr = gop + (b * L + t) * H;
        T* dr = dhp + b * H;
        for (int64_t j = 0; j < H; ++j) dr[j] += gr[j];
      }
    T* dat = da + t * B * G;
    kernels::lstm_cell_backward(
        ConstRows<T>::dense(act + t * B * G, {B, G}), ConstRows<T>::dense(cs + t * B * H, {B, H}),
        ConstRows<T>::dense(cs + (t + 1) * B * H, {B, H}), ConstRows<T>::dense(dhp, {B, H}),
        Rows<T>::dense(dcp, {B, H}), Rows<T>::dense(dat, {B, G}), threads);
    kernels::gemm(back_h, T(1), dat, w, T(0), dhp, threads);
  }
  // dW_hh (4H, H) = Σ_t dA_tᵀ · h_{t-1} = dAᵀ (4H, L·B) · hs[0:L] (L·B, H)
  Tensor dw = Tensor::empty({G, H}, dt, ctx);
  kernels::GemmShape wshape{true, false, G, H, L * B, G, H, H};
  kernels::gemm(wshape, T(1), da, hs, T(0), dw.data<T>(), threads);
  Tensor db;
  if (has_bias) {
    db = Tensor::zeros({G}, dt, ctx);
    T* dbp = db.data<T>();
    for (int64_t r = 0; r < L * B; ++r) {
      const T* row = da + r * G;
      for (int64_t j = 0; j < G; ++j) dbp[j] += row[j];
    }
  }
  // dxproj (B, L, 4H) from dA (L, B, 4H)
  Tensor dx = Tensor::empty({B, L, G}, dt, ctx);
  T* dxp = dx.data<T>();
  for (int64_t t = 0; t < L; ++t)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(dxp + (b * L + t) * G, da + (t * B + b) * G, G * sizeof(T));
  return {dx, dw, db, dh, dc};
}

Tensor contiguous_or_undefined(const Tensor& t) {
  return t.defined() ? t.contiguous_data() : t;
}

}  // namespace

LSTMOutput lstm_layer(const Tensor& xproj_in, const Tensor& w_hh_in, const Tensor& b_hh_in,
                      const Tensor& h0_in, const Tensor& c0_in) {
  ATTEND_CHECK(xproj_in.defined() && xproj_in.ndim() == 3 && xproj_in.size(2) % 4 == 0,
               "[lstm_layer] expected xproj (B, L, 4H), got {}",
               xproj_in.defined() ? xproj_in.shape().str() : "undefined");
  const int64_t B = xproj_in.size(0), L = xproj_in.size(1), G = xproj_in.size(2), H = G / 4;
  ATTEND_CHECK(L > 0, "[lstm_layer] the sequence is empty: xproj {}", xproj_in.shape().str());
  ATTEND_CHECK(w_hh_in.defined() && w_hh_in.shape() == Shape({G, H}),
               "[lstm_layer] expected w_hh ({}, {}), got {}", G, H,
               w_hh_in.defined() ? w_hh_in.shape().str() : "undefined");
  ATTEND_CHECK(!b_hh_in.defined() || b_hh_in.shape() == Shape({G}),
               "[lstm_layer] expected b_hh ({}), got {}", G, b_hh_in.shape().str());
  for (const Tensor* t : {&h0_in, &c0_in})
    ATTEND_CHECK(!t->defined() || t->shape() == Shape({B, H}),
                 "[lstm_layer] expected initial state ({}, {}), got {}", B, H, t->shape().str());
  for (const Tensor* t : {&w_hh_in, &b_hh_in, &h0_in, &c0_in})
    ATTEND_CHECK(!t->defined() || t->dtype() == xproj_in.dtype(),
                 "[lstm_layer] dtypes differ: {} and {}", dtype_name(xproj_in.dtype()),
                 dtype_name(t->dtype()));

  Tensor xproj = xproj_in.contiguous_data(), w_hh = w_hh_in.contiguous_data();
  Tensor b_hh = contiguous_or_undefined(b_hh_in), h0 = contiguous_or_undefined(h0_in),
         c0 = contiguous_or_undefined(c0_in);
  Context& ctx = xproj.context();
  const DType dt = xproj.dtype();
  LayerSaved s{Tensor::empty({L, B, G}, dt, ctx), Tensor::empty({L + 1, B, H}, dt, ctx),
               Tensor::empty({L + 1, B, H}, dt, ctx), w_hh.detach()};
  LSTMOutput r;
  r.output = Tensor::empty({B, L, H}, dt, ctx);
  dispatch_float(dt, "lstm_layer", [&](auto tag) {
    layer_forward<decltype(tag)>(xproj, w_hh, b_hh, h0, c0, s, r.output);
  });
  r.h_n = s.hs.as_strided({B, H}, {H, 1}, L * B * H).copy_as(dt);
  r.c_n = s.cs.as_strided({B, H}, {H, 1}, L * B * H).copy_as(dt);
  if (needs_grad({xproj_in, w_hh_in, b_hh_in, h0_in, c0_in})) {
    const bool has_bias = b_hh.defined();
    record_multi("lstm_layer", {xproj_in, w_hh_in, b_hh_in, h0_in, c0_in}, {r.output, r.h_n, r.c_n},
                 [s, has_bias](const std::vector<Tensor>& g) -> std::vector<Tensor> {
                   return dispatch_float(s.act.dtype(), "lstm_layer", [&](auto tag) {
                     return layer_backward<decltype(tag)>(s, has_bias, g[0], g[1], g[2]);
                   });
                 });
  }
  return r;
}

}  // namespace attend
