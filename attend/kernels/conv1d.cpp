#include "attend/kernels/conv1d.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "attend/kernels/elementwise.h"
#include "attend/kernels/gemm.h"
#include "attend/kernels/parallel.h"

namespace attend::kernels {

namespace {

// Output positions t in [lo, hi) read inside x for kernel tap j: 0 <= t·s − p + j·d < L_in.
inline void valid_range(const Conv1dShape& s, int64_t j, int64_t l_out, int64_t& lo, int64_t& hi) {
  int64_t shift = s.padding - j * s.dilation;  // t·s >= shift
  lo = shift > 0 ? (shift + s.stride - 1) / s.stride : 0;
  int64_t lim = s.l_in + shift;  // t·s < lim
  hi = lim > 0 ? (lim + s.stride - 1) / s.stride : 0;
  lo = std::min(lo, l_out);
  hi = std::clamp(hi, lo, l_out);
}

// Threads worth using for the convolution's gemms: one for small work (a fork costs more).
inline int conv_threads(const Conv1dShape& s, int threads) {
  double flops = 2.0 * s.n * s.c_out * s.l_out() * (s.c_in / s.groups) * s.k;
  return flops < 1e6 ? 1 : std::max(1, threads);
}

// y (rows, C) channel-innermost: y[r][o] = act(y[r][o] + bias[o]), act = ReLU or identity
// (Highway kernels for float32, the reference twins for float64).
inline void bias_act_rows(float* y, int64_t rows, int64_t c, const float* bias, bool relu) {
  if (bias) binary_inner(Binary::Add, y, bias, y, rows, c, false, 1);
  if (relu) unary(Unary::Relu, 0.f, y, y, rows * c, 1);
}
inline void bias_act_rows(double* y, int64_t rows, int64_t c, const double* bias, bool relu) {
  if (bias) binary_inner_reference(Binary::Add, y, bias, y, rows, c, false);
  if (relu) unary_reference(Unary::Relu, 0.0, y, y, rows * c);
}

// The gradient through the fused ReLU: dym = dy·[y > 0] (any layout: y and dy share it), placed at
// the end of scratch (Conv1dShape::scratch_size reserves it). Returns dy itself without relu.
template <typename T>
const T* relu_masked_dy(const Conv1dShape& s, const T* dy, const T* y, T* scratch) {
  if (!s.relu) return dy;
  const int64_t count = s.n * s.l_out() * s.c_out;
  T* dym = scratch + s.scratch_size() - count;
  if constexpr (std::is_same_v<T, float>)
    unary_backward(Unary::Relu, 0.f, y, y, dy, dym, count, 1);
  else
    unary_backward_reference(Unary::Relu, T(0), y, y, dy, dym, count);
  return dym;
}

}  // namespace

template <typename T>
void im2col1d(const Conv1dShape& s, const T* x, T* col, int64_t ld) {
  int64_t l_out = s.l_out();
  for (int64_t c = 0; c < s.c_in; ++c) {
    const T* xc = x + c * s.l_in;
    for (int64_t j = 0; j < s.k; ++j) {
      T* row = col + (c * s.k + j) * ld;
      int64_t lo, hi;
      valid_range(s, j, l_out, lo, hi);
      int64_t base = j * s.dilation - s.padding;
      for (int64_t t = 0; t < lo; ++t) row[t] = T(0);
      if (s.stride == 1) {
        if (hi > lo) std::memcpy(row + lo, xc + lo + base, (hi - lo) * sizeof(T));
      } else {
        for (int64_t t = lo; t < hi; ++t) row[t] = xc[t * s.stride + base];
      }
      for (int64_t t = hi; t < l_out; ++t) row[t] = T(0);
    }
  }
}

template <typename T>
void col2im1d(const Conv1dShape& s, const T* dcol, T* dx, int64_t ld) {
  int64_t l_out = s.l_out();
  for (int64_t c = 0; c < s.c_in; ++c) {
    T* dxc = dx + c * s.l_in;
    for (int64_t j = 0; j < s.k; ++j) {
      const T* row = dcol + (c * s.k + j) * ld;
      int64_t lo, hi;
      valid_range(s, j, l_out, lo, hi);
      int64_t base = j * s.dilation - s.padding;
      for (int64_t t = lo; t < hi; ++t) dxc[t * s.stride + base] += row[t];
    }
  }
}

namespace {

// col (C_in·K, N·L_out) of the whole batch: sample n fills columns [n·L_out, (n + 1)·L_out).
template <typename T>
void im2col_batch(const Conv1dShape& s, const T* x, T* col, int threads) {
  const int64_t l_out = s.l_out(), ld = s.n * l_out;
  parallel_chunks(s.n, threads, s.c_in * s.k * l_out, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) im2col1d(s, x + n * s.c_in * s.l_in, col + n * l_out, ld);
  });
}

// Between the batch-major (N, C, L) and channel-major (C, N·L) layouts of one tensor, adding
// bias[c] (if given) and applying the ReLU (if asked) on the way to batch-major.
template <typename T>
void to_batch_major(const T* cm, const T* bias, bool relu, int64_t n, int64_t c, int64_t l, T* bm) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < c; ++o) {
      const T* src = cm + (o * n + i) * l;
      T* dst = bm + (i * c + o) * l;
      const T b = bias ? bias[o] : T(0);
      if (relu)
        for (int64_t t = 0; t < l; ++t) dst[t] = std::max(src[t] + b, T(0));
      else if (bias)
        for (int64_t t = 0; t < l; ++t) dst[t] = src[t] + b;
      else
        std::memcpy(dst, src, l * sizeof(T));
    }
}
template <typename T>
void to_channel_major(const T* bm, int64_t n, int64_t c, int64_t l, T* cm) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < c; ++o)
      std::memcpy(cm + (o * n + i) * l, bm + (i * c + o) * l, l * sizeof(T));
}

}  // namespace

// ---- channels-last: x (N, L_in, C_in), y (N, L_out, C_out)

namespace {

// col (N·L_out, C_in·K), row n·L_out + t = [g][j][c] = x[n][t·s − p + j·d][g·cig + c] or 0.
template <typename T>
void im2col_nlc(const Conv1dShape& s, const T* x, T* col, int threads) {
  const int64_t l_out = s.l_out(), cig = s.c_in / s.groups, ld = s.c_in * s.k;
  parallel_chunks(s.n, threads, l_out * ld, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t t = 0; t < l_out; ++t) {
        T* row = col + (n * l_out + t) * ld;
        for (int64_t j = 0; j < s.k; ++j) {
          const int64_t pos = t * s.stride - s.padding + j * s.dilation;
          const bool inside = pos >= 0 && pos < s.l_in;
          const T* src = x + (n * s.l_in + pos) * s.c_in;
          for (int64_t g = 0; g < s.groups; ++g) {
            T* dst = row + (g * s.k + j) * cig;
            if (inside)
              std::memcpy(dst, src + g * cig, cig * sizeof(T));
            else
              std::fill_n(dst, cig, T(0));
          }
        }
      }
  });
}

// Adjoint of im2col_nlc: dx (N, L_in, C_in) = scatter-add of dcol (zeroed first).
template <typename T>
void col2im_nlc(const Conv1dShape& s, const T* dcol, T* dx, int threads) {
  const int64_t l_out = s.l_out(), cig = s.c_in / s.groups, ld = s.c_in * s.k;
  std::fill_n(dx, s.n * s.l_in * s.c_in, T(0));
  parallel_chunks(s.n, threads, l_out * ld, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t t = 0; t < l_out; ++t) {
        const T* row = dcol + (n * l_out + t) * ld;
        for (int64_t j = 0; j < s.k; ++j) {
          const int64_t pos = t * s.stride - s.padding + j * s.dilation;
          if (pos < 0 || pos >= s.l_in) continue;
          T* dst = dx + (n * s.l_in + pos) * s.c_in;
          for (int64_t g = 0; g < s.groups; ++g) {
            const T* src = row + (g * s.k + j) * cig;
            for (int64_t c = 0; c < cig; ++c) dst[g * cig + c] += src[c];
          }
        }
      }
  });
}

// w (C_out, cig, K) <-> w' (C_out, K, cig)
template <typename T>
void weight_to_kc(const T* w, int64_t c_out, int64_t cig, int64_t k, T* wp) {
  for (int64_t o = 0; o < c_out; ++o)
    for (int64_t c = 0; c < cig; ++c)
      for (int64_t j = 0; j < k; ++j) wp[(o * k + j) * cig + c] = w[(o * cig + c) * k + j];
}
template <typename T>
void weight_from_kc(const T* wp, int64_t c_out, int64_t cig, int64_t k, T* w) {
  for (int64_t o = 0; o < c_out; ++o)
    for (int64_t c = 0; c < cig; ++c)
      for (int64_t j = 0; j < k; ++j) w[(o * cig + c) * k + j] = wp[(o * k + j) * cig + c];
}

template <typename T>
void conv1d_forward_nlc(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y,
                        T* scratch, int threads) {
  const int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  const int64_t kk = s.k * cig, rows = s.n * l_out, ld = s.c_in * s.k;
  if (rows <= 0) return;
  T* wp = scratch;  // (C_out, K, cig)
  weight_to_kc(w, s.c_out, cig, s.k, wp);
  const T* col = x;
  if (!s.is_pointwise()) {
    T* c = scratch + 2 * s.c_out * kk;
    im2col_nlc(s, x, c, threads);
    col = c;
  }
  // Y_g (N·L_out, C_out/g) = col_g (N·L_out, K·cig) · W'_gᵀ (K·cig, C_out/g), then bias and ReLU
  const GemmShape gs{false, true, rows, cog, kk, ld, std::max<int64_t>(kk, 1), s.c_out};
  for (int64_t g = 0; g < s.groups; ++g)
    gemm(gs, T(1), col + g * kk, wp + g * cog * kk, T(0), y + g * cog, threads);
  if (bias || s.relu) bias_act_rows(y, rows, s.c_out, bias, s.relu);
}

template <typename T>
void conv1d_backward_nlc(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw,
                         T* db, T* scratch, int threads, const T* forward_scratch, const T* y) {
  const int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  const int64_t kk = s.k * cig, rows = s.n * l_out, ld = s.c_in * s.k;
  dy = relu_masked_dy(s, dy, y, scratch);
  if (db) {
    // db[o] = Σ_rows dy[r][o]: rows added as vectors.
    std::fill_n(db, s.c_out, T(0));
    for (int64_t r = 0; r < rows; ++r) {
      const T* d = dy + r * s.c_out;
      for (int64_t o = 0; o < s.c_out; ++o) db[o] += d[o];
    }
  }
  if (!dw && !dx) return;
  if (rows <= 0) {
    if (dw) std::fill_n(dw, s.c_out * kk, T(0));
    if (dx) std::fill_n(dx, s.n * s.l_in * s.c_in, T(0));
    return;
  }
  T* wp = scratch;                  // W' (C_out, K, cig)
  T* dwp = scratch + s.c_out * kk;  // dW' (C_out, K, cig)
  T* colbuf = dwp + s.c_out * kk;   // (N·L_out, C_in·K) unless pointwise
  if (dw) {
    const T* col = x;
    if (!s.is_pointwise()) {
      if (forward_scratch) {
        col = forward_scratch + 2 * s.c_out * kk;  // where the forward built it
      } else {
        im2col_nlc(s, x, colbuf, threads);
        col = colbuf;
      }
    }
    // dW'_g (C_out/g, K·cig) = dY_gᵀ (C_out/g, N·L_out) · col_g (N·L_out, K·cig)
    const GemmShape gs{true, false, cog, kk, rows, s.c_out, ld, std::max<int64_t>(kk, 1)};
    for (int64_t g = 0; g < s.groups; ++g)
      gemm(gs, T(1), dy + g * cog, col + g * kk, T(0), dwp + g * cog * kk, threads);
    weight_from_kc(dwp, s.c_out, cig, s.k, dw);
  }
  if (dx) {
    weight_to_kc(w, s.c_out, cig, s.k, wp);
    // dcol_g (N·L_out, K·cig) = dY_g (N·L_out, C_out/g) · W'_g (C_out/g, K·cig); pointwise: dx.
    T* dcol = s.is_pointwise() ? dx : colbuf;
    const GemmShape gs{false, false, rows, kk, cog, s.c_out, std::max<int64_t>(kk, 1), ld};
    for (int64_t g = 0; g < s.groups; ++g)
      gemm(gs, T(1), dy + g * cog, wp + g * cog * kk, T(0), dcol + g * kk, threads);
    if (!s.is_pointwise()) col2im_nlc(s, dcol, dx, threads);
  }
}

}  // namespace

template <typename T>
void conv1d_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y, T* scratch,
                    int threads) {
  threads = conv_threads(s, threads);
  if (s.channels_last) return conv1d_forward_nlc(s, x, w, bias, y, scratch, threads);
  const int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  const int64_t kk = cig * s.k;  // reduction length per group
  const int64_t cols = s.n * l_out;
  if (s.n == 0 || l_out <= 0) return;
  // B (C_in·K, N·L_out): x itself for one pointwise sample, else the im2col matrix.
  const T* b = x;
  T* rest = scratch;
  if (!(s.is_pointwise() && s.n == 1)) {
    im2col_batch(s, x, scratch, threads);
    b = scratch;
    rest = scratch + s.c_in * s.k * cols;
  }
  // Y (C_out, N·L_out): y itself for one sample (the layouts agree), else scratch.
  T* yc = s.n == 1 ? y : rest;
  T beta = T(0);
  if (bias && s.n == 1) {
    for (int64_t o = 0; o < s.c_out; ++o) std::fill_n(y + o * l_out, l_out, bias[o]);
    beta = T(1);
  }
  // Y_g (C_out/g, N·L_out) = W_g (C_out/g, C_in/g·K) · B_g (C_in/g·K, N·L_out)
  const GemmShape gs{false, false, cog, cols, kk, std::max<int64_t>(kk, 1), cols, cols};
  for (int64_t g = 0; g < s.groups; ++g)
    gemm(gs, T(1), w + g * cog * kk, b + g * kk * cols, beta, yc + g * cog * cols, threads);
  if (s.n > 1)
    to_batch_major(yc, bias, s.relu, s.n, s.c_out, l_out, y);
  else if (s.relu)
    bias_act_rows(y, s.c_out, l_out, static_cast<const T*>(nullptr), true);
}

template <typename T>
void conv1d_backward(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                     T* scratch, int threads, const T* forward_scratch, const T* y) {
  threads = conv_threads(s, threads);
  if (s.channels_last)
    return conv1d_backward_nlc(s, x, w, dy, dx, dw, db, scratch, threads, forward_scratch, y);
  const int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  const int64_t kk = cig * s.k, cols = s.n * l_out;
  dy = relu_masked_dy(s, dy, y, scratch);
  if (db) {
    // db[o] = Σ_{n, t} dy[n][o][t], in 16 independent partial sums (vectorisable in order).
    for (int64_t o = 0; o < s.c_out; ++o) {
      T part[16] = {};
      T tail = T(0);
      for (int64_t n = 0; n < s.n; ++n) {
        const T* r = dy + (n * s.c_out + o) * l_out;
        int64_t t = 0;
        for (; t + 16 <= l_out; t += 16)
          for (int i = 0; i < 16; ++i) part[i] += r[t + i];
        for (; t < l_out; ++t) tail += r[t];
      }
      T acc = tail;
      for (T v : part) acc += v;
      db[o] = acc;
    }
  }
  if (!dw && !dx) return;
  if (s.n == 0 || l_out <= 0) {
    if (dw) std::fill_n(dw, s.c_out * kk, T(0));
    if (dx) std::fill_n(dx, s.n * s.c_in * s.l_in, T(0));
    return;
  }
  const bool x_is_col = s.is_pointwise() && s.n == 1;
  T* col = scratch;  // (C_in·K, N·L_out), unless x is already that matrix
  T* rest = x_is_col ? scratch : scratch + s.c_in * s.k * cols;
  // dY (C_out, N·L_out): dy itself for one sample, else re-laid out into scratch.
  const T* dyc = dy;
  if (s.n > 1) {
    to_channel_major(dy, s.n, s.c_out, l_out, rest);
    dyc = rest;
  }
  if (dw) {
    const T* b = x;
    if (!x_is_col) {
      if (forward_scratch) {
        b = forward_scratch;  // the forward's im2col matrix starts its scratch
      } else {
        im2col_batch(s, x, col, threads);
        b = col;
      }
    }
    // dW_g (C_out/g, C_in/g·K) = dY_g (C_out/g, N·L_out) · B_gᵀ (N·L_out, C_in/g·K)
    const GemmShape gs{false, true, cog, kk, cols, cols, cols, std::max<int64_t>(kk, 1)};
    for (int64_t g = 0; g < s.groups; ++g)
      gemm(gs, T(1), dyc + g * cog * cols, b + g * kk * cols, T(0), dw + g * cog * kk, threads);
  }
  if (dx) {
    // dB_g (C_in/g·K, N·L_out) = W_gᵀ (C_in/g·K, C_out/g) · dY_g (C_out/g, N·L_out); the col
    // buffer is free again once dW is done.
    T* dcol = x_is_col ? dx : col;
    const GemmShape gs{true, false, kk, cols, cog, std::max<int64_t>(kk, 1), cols, cols};
    for (int64_t g = 0; g < s.groups; ++g)
      gemm(gs, T(1), w + g * cog * kk, dyc + g * cog * cols, T(0), dcol + g * kk * cols, threads);
    if (!x_is_col) {
      std::fill_n(dx, s.n * s.c_in * s.l_in, T(0));
      parallel_chunks(s.n, threads, s.c_in * s.k * l_out, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n)
          col2im1d(s, col + n * l_out, dx + n * s.c_in * s.l_in, cols);
      });
    }
  }
}

namespace {
// Element offset of (sample n, channel c, position t) in a tensor of C channels and length L.
inline int64_t at(const Conv1dShape& s, int64_t n, int64_t c, int64_t t, int64_t C, int64_t L) {
  return s.channels_last ? (n * L + t) * C + c : (n * C + c) * L + t;
}
}  // namespace

template <typename T>
void conv1d_forward_reference(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y) {
  int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.c_out; ++o) {
      int64_t g = o / cog;
      for (int64_t t = 0; t < l_out; ++t) {
        T acc = bias ? bias[o] : T(0);
        for (int64_t c = 0; c < cig; ++c)
          for (int64_t j = 0; j < s.k; ++j) {
            int64_t pos = t * s.stride - s.padding + j * s.dilation;
            if (pos < 0 || pos >= s.l_in) continue;
            acc += w[(o * cig + c) * s.k + j] * x[at(s, n, g * cig + c, pos, s.c_in, s.l_in)];
          }
        y[at(s, n, o, t, s.c_out, l_out)] = s.relu ? std::max(acc, T(0)) : acc;
      }
    }
}

template <typename T>
void conv1d_backward_reference(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx,
                               T* dw, T* db, const T* y) {
  int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  if (dx) std::fill_n(dx, s.n * s.c_in * s.l_in, T(0));
  if (dw) std::fill_n(dw, s.c_out * cig * s.k, T(0));
  if (db) std::fill_n(db, s.c_out, T(0));
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.c_out; ++o) {
      int64_t g = o / cog;
      for (int64_t t = 0; t < l_out; ++t) {
        const int64_t yi = at(s, n, o, t, s.c_out, l_out);
        T gy = s.relu && !(y[yi] > T(0)) ? T(0) : dy[yi];
        if (db) db[o] += gy;
        for (int64_t c = 0; c < cig; ++c)
          for (int64_t j = 0; j < s.k; ++j) {
            int64_t pos = t * s.stride - s.padding + j * s.dilation;
            if (pos < 0 || pos >= s.l_in) continue;
            int64_t xi = at(s, n, g * cig + c, pos, s.c_in, s.l_in), wi = (o * cig + c) * s.k + j;
            if (dx) dx[xi] += w[wi] * gy;
            if (dw) dw[wi] += x[xi] * gy;
          }
      }
    }
}

#define ATTEND_CONV1D_INSTANTIATE(T)                                                               \
  template void im2col1d<T>(const Conv1dShape&, const T*, T*, int64_t);                            \
  template void col2im1d<T>(const Conv1dShape&, const T*, T*, int64_t);                            \
  template void conv1d_forward<T>(const Conv1dShape&, const T*, const T*, const T*, T*, T*, int);  \
  template void conv1d_backward<T>(const Conv1dShape&, const T*, const T*, const T*, T*, T*, T*,   \
                                   T*, int, const T*, const T*);                                   \
  template void conv1d_forward_reference<T>(const Conv1dShape&, const T*, const T*, const T*, T*); \
  template void conv1d_backward_reference<T>(const Conv1dShape&, const T*, const T*, const T*, T*, \
                                             T*, T*, const T*);
ATTEND_CONV1D_INSTANTIATE(float)
ATTEND_CONV1D_INSTANTIATE(double)
#undef ATTEND_CONV1D_INSTANTIATE

}  // namespace attend::kernels
