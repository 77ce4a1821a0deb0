// lstm_layer: the recurrence of one LSTM layer and its backward-through-time.
#include "attend/ops/lstm.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <type_traits>

#include "attend/autograd/node.h"
#include "attend/kernels/counters.h"
#include "attend/kernels/gemm.h"
#include "attend/kernels/lstm_cell.h"
#include "attend/kernels/parallel.h"

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

// Whether lstm_layer(automatic) splits the recurrence by hidden units: with threads > 1, for
// per-step products 2·B·4H·H from 0.5 to 300 MFLOP with H ≥ 128. Measured on 2 Zen 3 cores, quiet
// (a layer of L 96, best of 5–9, by_steps on 2 threads / by_units, both with W_hh packed from
// batch 2): B 1, H 512: 1.29–1.74×; B 1, H 256: 1.42–1.68×; B 2, H 512: 1.76×; B 8, H 512: 1.97×;
// B 32, H 512: 1.27×; B 64, H 512: 1.24–1.29×; B 128, H 512: 1.19×; B 16, H 128: 1.34×. Even from
// ~500 MFLOP (B 256, H 512: 1.02×; B 256, H 256: 1.04×). It lost on smaller steps (B 1, H 64:
// 0.77–0.85×; B 1, H 32: 0.43–0.71×: the wait for the other thread, ~1 µs, against 1.5–4 µs a
// step) and with H 64 at large B (B 32: 0.78×).
bool split_by_units(int64_t B, int64_t H, int threads) {
  const double step_flops = 2.0 * B * 4 * H * H;
  return threads > 1 && H >= 128 && step_flops >= 5e5 && step_flops <= 3e8;
}

// Whether the recurrence (forward and backward, float32) packs W_hh once for all steps
// (kernels::pack_b) and runs each step's product with kernels::gemm_packed_b, instead of the
// backend, which packs the 4H × H matrix again inside every call (and gemm's small kernel, below
// H ≈ 50, transposes it again): from batch 2, or at batch 1 up to H 64. Measured on one Zen 3 core
// (bench_engine BM_RecurrentProduct, W_hh in L3, packed / backend): H 512: B 1 0.84×, B 2 1.98×,
// B 4 2.35×, B 8 1.69×, B 32 1.23×, B 64 1.07×; H 128: B 1 0.70×, B 2 1.51×, B 8 1.50×; H 64:
// B 1 1.02×, B 2 1.88×; H 32: B 1 2.07×. At batch 1 the step is a matrix–vector product bound by
// reading W_hh, which the backend's GEMV does as well without packing.
bool pack_recurrent_weights(int64_t B, int64_t H) {
  return B >= 2 || H <= 64;
}

// One recurrent product with W_hh (4H, H) as B operand: op(W_hh) = W_hhᵀ (H, 4H) in the forward
// (trans), W_hh in the backward. It is packed once per layer call (kernels::pack_b) for float32
// when pack_recurrent_weights says so; `packed` is then defined.
struct RecurrentWeight {
  template <typename T>
  RecurrentWeight(const T* w, bool trans, int64_t B, int64_t H, Context& ctx)
      : trans(trans), k(trans ? H : 4 * H), n(trans ? 4 * H : H) {
    if constexpr (std::is_same_v<T, float>)
      if (pack_recurrent_weights(B, H)) {
        packed = Tensor::empty({kernels::packed_b_floats(k, n)}, DType::F32, ctx);
        kernels::pack_b(trans, k, n, w, H, packed.data<float>());
      }
  }
  // c (m, n) = a (m, k) · op(W_hh) + beta · c, w the unpacked W_hh
  template <typename T>
  void multiply(int64_t m, const T* a, const T* w, T beta, T* c, int threads) const {
    if constexpr (std::is_same_v<T, float>) {
      if (packed.defined()) {
        kernels::gemm_packed_b(false, m, n, k, 1.0f, a, k, packed.data<float>(), beta, c, n,
                               threads);
        return;
      }
    }
    kernels::gemm(kernels::GemmShape{false, trans, m, n, k, k, trans ? k : n, n}, T(1), a, w, beta,
                  c, threads);
  }
  bool trans;
  int64_t k, n;
  Tensor packed;
};

// The recurrence with each step's GEMM and cell on all threads (the GEMM itself decides how many
// it uses).
template <typename T>
void layer_forward_by_steps(const Tensor& xproj, const Tensor& w_hh, const Tensor& b_hh,
                            LayerSaved& s, Tensor& out) {
  const int64_t B = xproj.size(0), L = xproj.size(1), G = xproj.size(2), H = G / 4;
  Context& ctx = xproj.context();
  const int threads = ctx.threads();
  const T* xp = xproj.data<T>();
  const T* w = w_hh.data<T>();
  const RecurrentWeight w_t(w, true, B, H, ctx);  // gates += h · W_hhᵀ
  const T* bh = b_hh.defined() ? b_hh.data<T>() : nullptr;
  T* act = s.act.data<T>();
  T* hs = s.hs.data<T>();
  T* cs = s.cs.data<T>();
  T* o = out.data<T>();
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
    w_t.multiply(B, hs + t * B * H, w, T(1), a, threads);
    kernels::lstm_cell_forward(Rows<T>::dense(a, {B, G}), Rows<T>::dense(cs + t * B * H, {B, H}),
                               Rows<T>::dense(cs + (t + 1) * B * H, {B, H}),
                               Rows<T>::dense(hs + (t + 1) * B * H, {B, H}), threads);
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(o + (b * L + t) * H, hs + (t + 1) * B * H + b * H, H * sizeof(T));
  }
}

// The recurrence split by hidden units, all threads on all L steps in one parallel region (a
// batch-1 step of H 512 is a 1 × 2048 × 512 product reading 4 MiB of W_hh: too small to thread by
// itself with sleeping workers, and bound by the cache's bandwidth, which two cores share: each
// reading half of W_hh, they take ~60 % of one core's time). The units are cut into chunks of
// u = max(64, H / (2·threads)) units (a multiple of a cache line, so that no two chunks write one
// line of h or c); the task (t, chunk [u0, u1)) computes the gates of those units at step t —
// rows q·H + u0 .. q·H + u1 of W_hh for q = i, f, g, o, packed at step 0 as rows 4·u0 .. 4·u1 of
// wp ([i; f; g; o], n = u1 − u0 rows each) — into columns 4·u0 .. 4·u1 of gates (B, 4H) with a
// one-thread GEMM, then the cell of its units, which needs only its own gates. Threads take
// tasks in order from one counter, a task of step t once every task of step t − 1 is done
// (waiting spinning: step t reads all of h_{t−1}), so that a thread that starts late (a sleeping
// worker waking) or is descheduled while it waits leaves the tasks to the others instead of
// stalling them. A task's result does not depend on which thread runs it.
template <typename T>
void layer_forward_by_units(const Tensor& xproj, const Tensor& w_hh, const Tensor& b_hh,
                            LayerSaved& s, Tensor& out) {
  const int64_t B = xproj.size(0), L = xproj.size(1), G = xproj.size(2), H = G / 4;
  Context& ctx = xproj.context();
  const int threads = ctx.threads();
  const T* xp = xproj.data<T>();
  const T* w = w_hh.data<T>();
  const T* bh = b_hh.defined() ? b_hh.data<T>() : nullptr;
  T* act = s.act.data<T>();
  T* hs = s.hs.data<T>();
  T* cs = s.cs.data<T>();
  T* o = out.data<T>();
  constexpr int64_t kLine = 64 / sizeof(T);
  const int64_t share = (H + 2 * threads - 1) / (2 * threads);
  const int64_t chunk = std::max<int64_t>(64, (share + kLine - 1) / kLine * kLine);
  const int64_t chunks = (H + chunk - 1) / chunk;
  // float32 from batch 2: each gate's rows of a chunk in kernels::pack_b's panels (gate_floats
  // each), for gemm_packed_b; else the chunk's rows back to back for kernels::gemm.
  const bool panels = std::is_same_v<T, float> && B >= 2;
  const int64_t gate_floats = panels ? kernels::packed_b_floats(H, chunk) : chunk * H;
  Tensor packed = Tensor::empty({chunks * 4 * gate_floats}, xproj.dtype(), ctx);
  Tensor gates_buffer = Tensor::empty({B, G}, xproj.dtype(), ctx);
  T* wp = packed.data<T>();
  T* gates = gates_buffer.data<T>();
  // The GEMMs inside count as one call of the whole layer's FLOPs.
  std::optional<kernels::CountedCall> counted;
  if constexpr (std::is_same_v<T, float>)
    counted.emplace(kernels::gemm_counter(), 2.0 * L * B * G * H, threads);
  alignas(64) std::atomic<int64_t> next{0};
  alignas(64) std::atomic<int64_t> done{0};
  kernels::parallel_region(threads, [&](int, int) {
    for (;;) {
      // Claims the next task once the step before it is done, so that a waiting thread (which may
      // yield its core) holds no task that the others would have to wait for.
      int64_t task = next.load(std::memory_order_relaxed);
      if (task >= L * chunks) break;
      const int64_t t = task / chunks;
      kernels::spin_until([&] { return done.load(std::memory_order_acquire) >= t * chunks; });
      if (!next.compare_exchange_strong(task, task + 1, std::memory_order_relaxed)) continue;
      const int64_t u0 = task % chunks * chunk, u1 = std::min(H, u0 + chunk), n = u1 - u0;
      T* wk = wp + task % chunks * 4 * gate_floats;
      T* gk = gates + 4 * u0;
      if (t == 0)
        for (int64_t q = 0; q < 4; ++q) {
          if constexpr (std::is_same_v<T, float>)
            if (panels) {
              kernels::pack_b(true, H, n, w + (q * H + u0) * H, H, wk + q * gate_floats);
              continue;
            }
          std::memcpy(wk + q * n * H, w + (q * H + u0) * H, n * H * sizeof(T));
        }
      // gates[b, 4·u0 + q·n + j] = xproj[b, t, q·H + u0 + j] + b_hh[q·H + u0 + j] + h_{t−1}·W_hhᵀ
      for (int64_t b = 0; b < B; ++b)
        for (int64_t q = 0; q < 4; ++q) {
          const T* xr = xp + (b * L + t) * G + q * H + u0;
          T* gr = gk + b * G + q * n;
          if (bh)
            for (int64_t j = 0; j < n; ++j) gr[j] = xr[j] + bh[q * H + u0 + j];
          else
            std::memcpy(gr, xr, n * sizeof(T));
        }
      if (panels) {
        if constexpr (std::is_same_v<T, float>)
          for (int64_t q = 0; q < 4; ++q)
            kernels::gemm_packed_b(false, B, n, H, 1.0f, hs + t * B * H, H, wk + q * gate_floats,
                                   1.0f, gk + q * n, G, 1);
      } else {
        const kernels::GemmShape gs{false, true, B, 4 * n, H, H, H, G};
        kernels::gemm(gs, T(1), hs + t * B * H, wk, T(1), gk, 1);
      }
      T* h = hs + (t + 1) * B * H + u0;
      kernels::lstm_cell_forward(
          Rows<T>{gk, {B, 4 * n}, {G, 1}}, ConstRows<T>{cs + t * B * H + u0, {B, n}, {H, 1}},
          Rows<T>{cs + (t + 1) * B * H + u0, {B, n}, {H, 1}}, Rows<T>{h, {B, n}, {H, 1}}, 1);
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t q = 0; q < 4; ++q)
          std::memcpy(act + (t * B + b) * G + q * H + u0, gk + b * G + q * n, n * sizeof(T));
        std::memcpy(o + (b * L + t) * H + u0, h + b * H, n * sizeof(T));
      }
      done.fetch_add(1, std::memory_order_release);
    }
  });
}

template <typename T>
void layer_forward(const Tensor& xproj, const Tensor& w_hh, const Tensor& b_hh, const Tensor& h0,
                   const Tensor& c0, LSTMThreading threading, LayerSaved& s, Tensor& out) {
  const int64_t B = xproj.size(0), H = xproj.size(2) / 4;
  T* hs = s.hs.data<T>();
  T* cs = s.cs.data<T>();
  if (h0.defined())
    std::memcpy(hs, h0.data<T>(), B * H * sizeof(T));
  else
    std::fill(hs, hs + B * H, T(0));
  if (c0.defined())
    std::memcpy(cs, c0.data<T>(), B * H * sizeof(T));
  else
    std::fill(cs, cs + B * H, T(0));
  const bool by_units =
      threading == LSTMThreading::by_units ||
      (threading == LSTMThreading::automatic && split_by_units(B, H, xproj.context().threads()));
  if (by_units)
    layer_forward_by_units<T>(xproj, w_hh, b_hh, s, out);
  else
    layer_forward_by_steps<T>(xproj, w_hh, b_hh, s, out);
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
  const RecurrentWeight w_back(w, false, B, H, ctx);  // dh = dA_t · W_hh
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
    // dh (B, H) = dA_t (B, 4H) · W_hh (4H, H)
    w_back.multiply(B, dat, w, T(0), dhp, threads);
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
                      const Tensor& h0_in, const Tensor& c0_in, LSTMThreading threading) {
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
    layer_forward<decltype(tag)>(xproj, w_hh, b_hh, h0, c0, threading, s, r.output);
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
