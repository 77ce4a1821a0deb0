#include "attend/kernels/conv1d.h"

#include <algorithm>
#include <cstring>

#include "attend/kernels/gemm.h"

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

}  // namespace

template <typename T>
void im2col1d(const Conv1dShape& s, const T* x, T* col) {
  int64_t l_out = s.l_out();
  for (int64_t c = 0; c < s.c_in; ++c) {
    const T* xc = x + c * s.l_in;
    for (int64_t j = 0; j < s.k; ++j) {
      T* row = col + (c * s.k + j) * l_out;
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
void col2im1d(const Conv1dShape& s, const T* dcol, T* dx) {
  int64_t l_out = s.l_out();
  for (int64_t c = 0; c < s.c_in; ++c) {
    T* dxc = dx + c * s.l_in;
    for (int64_t j = 0; j < s.k; ++j) {
      const T* row = dcol + (c * s.k + j) * l_out;
      int64_t lo, hi;
      valid_range(s, j, l_out, lo, hi);
      int64_t base = j * s.dilation - s.padding;
      for (int64_t t = lo; t < hi; ++t) dxc[t * s.stride + base] += row[t];
    }
  }
}

template <typename T>
void conv1d_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y, T* col,
                    int threads) {
  threads = conv_threads(s, threads);
  int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  int64_t kk = cig * s.k;  // reduction length per group
  const T* b = x;
  int64_t b_stride = s.c_in * s.l_in;
  if (!s.is_pointwise()) {
    int64_t per = s.c_in * s.k * l_out;
#pragma omp parallel for num_threads(threads) if (s.n > 1 && s.n * per > 32768)
    for (int64_t n = 0; n < s.n; ++n) im2col1d(s, x + n * s.c_in * s.l_in, col + n * per);
    b = col;
    b_stride = per;
  }
  T beta = T(0);
  if (bias) {
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t o = 0; o < s.c_out; ++o)
        std::fill_n(y + (n * s.c_out + o) * l_out, l_out, bias[o]);
    beta = T(1);
  }
  // y_{n,g} (C_out/g, L_out) = W_g (C_out/g, C_in/g·K) · col_{n,g} (C_in/g·K, L_out)
  GemmShape gs{false,
               false,
               cog,
               l_out,
               kk,
               std::max<int64_t>(kk, 1),
               std::max<int64_t>(l_out, 1),
               std::max<int64_t>(l_out, 1)};
  for (int64_t g = 0; g < s.groups; ++g)
    gemm_batched(gs, s.n, T(1), w + g * cog * kk, 0, b + g * kk * l_out, b_stride, beta,
                 y + g * cog * l_out, s.c_out * l_out, threads);
}

template <typename T>
void conv1d_backward(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                     T* col, int threads) {
  threads = conv_threads(s, threads);
  int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  int64_t kk = cig * s.k;
  int64_t ly = std::max<int64_t>(l_out, 1), lk = std::max<int64_t>(kk, 1);
  if (db) {
    for (int64_t o = 0; o < s.c_out; ++o) {
      T acc = T(0);
      for (int64_t n = 0; n < s.n; ++n) {
        const T* r = dy + (n * s.c_out + o) * l_out;
        for (int64_t t = 0; t < l_out; ++t) acc += r[t];
      }
      db[o] = acc;
    }
  }
  bool pointwise = s.is_pointwise();
  int64_t per = pointwise ? s.c_in * s.l_in : s.c_in * s.k * l_out;
  if (dw) {
    const T* b = x;
    if (!pointwise) {
#pragma omp parallel for num_threads(threads) if (s.n > 1 && s.n * per > 32768)
      for (int64_t n = 0; n < s.n; ++n) im2col1d(s, x + n * s.c_in * s.l_in, col + n * per);
      b = col;
    }
    // dW_g (C_out/g, C_in/g·K) = Σ_n dy_{n,g} (C_out/g, L_out) · col_{n,g}ᵀ (L_out, C_in/g·K)
    GemmShape gs{false, true, cog, kk, l_out, ly, ly, lk};
    for (int64_t g = 0; g < s.groups; ++g)
      for (int64_t n = 0; n < s.n; ++n)
        gemm(gs, T(1), dy + n * s.c_out * l_out + g * cog * l_out, b + n * per + g * kk * l_out,
             n == 0 ? T(0) : T(1), dw + g * cog * kk, threads);
    if (s.n == 0) std::fill_n(dw, s.c_out * kk, T(0));
  }
  if (dx) {
    // dcol_{n,g} (C_in/g·K, L_out) = W_gᵀ (C_in/g·K, C_out/g) · dy_{n,g} (C_out/g, L_out)
    T* dcol = pointwise ? dx : col;
    GemmShape gs{true, false, kk, l_out, cog, lk, ly, ly};
    for (int64_t g = 0; g < s.groups; ++g)
      gemm_batched(gs, s.n, T(1), w + g * cog * kk, 0, dy + g * cog * l_out, s.c_out * l_out, T(0),
                   dcol + g * kk * l_out, per, threads);
    if (!pointwise) {
      std::fill_n(dx, s.n * s.c_in * s.l_in, T(0));
#pragma omp parallel for num_threads(threads) if (s.n > 1 && s.n * per > 32768)
      for (int64_t n = 0; n < s.n; ++n) col2im1d(s, col + n * per, dx + n * s.c_in * s.l_in);
    }
  }
}

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
            acc += w[(o * cig + c) * s.k + j] * x[(n * s.c_in + g * cig + c) * s.l_in + pos];
          }
        y[(n * s.c_out + o) * l_out + t] = acc;
      }
    }
}

template <typename T>
void conv1d_backward_reference(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx,
                               T* dw, T* db) {
  int64_t l_out = s.l_out(), cig = s.c_in / s.groups, cog = s.c_out / s.groups;
  if (dx) std::fill_n(dx, s.n * s.c_in * s.l_in, T(0));
  if (dw) std::fill_n(dw, s.c_out * cig * s.k, T(0));
  if (db) std::fill_n(db, s.c_out, T(0));
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.c_out; ++o) {
      int64_t g = o / cog;
      for (int64_t t = 0; t < l_out; ++t) {
        T gy = dy[(n * s.c_out + o) * l_out + t];
        if (db) db[o] += gy;
        for (int64_t c = 0; c < cig; ++c)
          for (int64_t j = 0; j < s.k; ++j) {
            int64_t pos = t * s.stride - s.padding + j * s.dilation;
            if (pos < 0 || pos >= s.l_in) continue;
            int64_t xi = (n * s.c_in + g * cig + c) * s.l_in + pos, wi = (o * cig + c) * s.k + j;
            if (dx) dx[xi] += w[wi] * gy;
            if (dw) dw[wi] += x[xi] * gy;
          }
      }
    }
}

#define ATTEND_CONV1D_INSTANTIATE(T)                                                               \
  template void im2col1d<T>(const Conv1dShape&, const T*, T*);                                     \
  template void col2im1d<T>(const Conv1dShape&, const T*, T*);                                     \
  template void conv1d_forward<T>(const Conv1dShape&, const T*, const T*, const T*, T*, T*, int);  \
  template void conv1d_backward<T>(const Conv1dShape&, const T*, const T*, const T*, T*, T*, T*,   \
                                   T*, int);                                                       \
  template void conv1d_forward_reference<T>(const Conv1dShape&, const T*, const T*, const T*, T*); \
  template void conv1d_backward_reference<T>(const Conv1dShape&, const T*, const T*, const T*, T*, \
                                             T*, T*);
ATTEND_CONV1D_INSTANTIATE(float)
ATTEND_CONV1D_INSTANTIATE(double)
#undef ATTEND_CONV1D_INSTANTIATE

}  // namespace attend::kernels
