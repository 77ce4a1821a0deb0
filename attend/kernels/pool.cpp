#include "attend/kernels/pool.h"

#include <algorithm>
#include <cmath>

#include "attend/kernels/parallel.h"

namespace attend::kernels {

template <typename T>
void max_pool1d_forward(const T* x, int64_t rows, int64_t l_in, int64_t k, int64_t stride,
                        int64_t padding, int64_t l_out, T* y, int64_t* argmax, int threads) {
  parallel_chunks(rows, threads, l_out * k, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * l_in;
      for (int64_t t = 0; t < l_out; ++t) {
        int64_t lo = std::max<int64_t>(t * stride - padding, 0);
        int64_t hi = std::min<int64_t>(t * stride - padding + k, l_in);
        int64_t best = lo;
        T m = xr[lo];
        for (int64_t i = lo + 1; i < hi && !std::isnan(m); ++i)
          if (xr[i] > m || std::isnan(xr[i])) m = xr[i], best = i;
        y[r * l_out + t] = m;
        argmax[r * l_out + t] = best;
      }
    }
  });
}

template <typename T>
void max_pool1d_backward(const T* dy, const int64_t* argmax, int64_t rows, int64_t l_in,
                         int64_t l_out, T* dx) {
  std::fill_n(dx, rows * l_in, T(0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < l_out; ++t) dx[r * l_in + argmax[r * l_out + t]] += dy[r * l_out + t];
}

template <typename T>
void avg_pool1d_forward(const T* x, int64_t rows, int64_t l_in, int64_t k, int64_t stride,
                        int64_t padding, int64_t l_out, T* y, int threads) {
  T inv = T(1) / static_cast<T>(k);
  parallel_chunks(rows, threads, l_out * k, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * l_in;
      T* yr = y + r * l_out;
      if (stride == 1) {
        // Sliding window: window t covers [t − p, t − p + k) ∩ [0, L_in); the running sum adds the
        // element entering and drops the one leaving, in double so that it stays within an ulp or
        // two of the direct sum.
        double acc = 0;
        int64_t lo = 0, hi = 0;  // the sum covers [lo, hi)
        for (int64_t t = 0; t < l_out; ++t) {
          int64_t want_lo = std::max<int64_t>(t - padding, 0);
          int64_t want_hi = std::clamp<int64_t>(t - padding + k, want_lo, l_in);
          for (; hi < want_hi; ++hi) acc += static_cast<double>(xr[hi]);
          for (; lo < want_lo; ++lo) acc -= static_cast<double>(xr[lo]);
          yr[t] = static_cast<T>(acc) * inv;
        }
        continue;
      }
      for (int64_t t = 0; t < l_out; ++t) {
        int64_t lo = std::max<int64_t>(t * stride - padding, 0);
        int64_t hi = std::min<int64_t>(t * stride - padding + k, l_in);
        T acc = T(0);
        for (int64_t i = lo; i < hi; ++i) acc += xr[i];
        yr[t] = acc * inv;
      }
    }
  });
}

template <typename T>
void avg_pool1d_backward(const T* dy, int64_t rows, int64_t l_in, int64_t k, int64_t stride,
                         int64_t padding, int64_t l_out, T* dx) {
  T inv = T(1) / static_cast<T>(k);
  std::fill_n(dx, rows * l_in, T(0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < l_out; ++t) {
      int64_t lo = std::max<int64_t>(t * stride - padding, 0);
      int64_t hi = std::min<int64_t>(t * stride - padding + k, l_in);
      T g = dy[r * l_out + t] * inv;
      for (int64_t i = lo; i < hi; ++i) dx[r * l_in + i] += g;
    }
}

#define ATTEND_POOL_INSTANTIATE(T)                                                               \
  template void max_pool1d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                                      int64_t, T*, int64_t*, int);                               \
  template void max_pool1d_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, T*); \
  template void avg_pool1d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                                      int64_t, T*, int);                                         \
  template void avg_pool1d_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t,    \
                                       int64_t, T*);
ATTEND_POOL_INSTANTIATE(float)
ATTEND_POOL_INSTANTIATE(double)
#undef ATTEND_POOL_INSTANTIATE

}  // namespace attend::kernels
