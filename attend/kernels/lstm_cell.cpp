// LSTM cell kernels: Highway rows (float) and plain reference loops.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/lstm_cell.cpp"
// clang-format off
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
// clang-format on

#include <cmath>

#include "attend/kernels/lstm_cell.h"
#include "attend/kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D, class V>
HWY_INLINE V Sigmoid(D d, V a) {
  const auto one = hn::Set(d, 1.0f);
  return hn::Div(one, hn::Add(one, hn::Exp(d, hn::Neg(a))));
}

// Rows [b0, b1) of the forward; columns in vectors, the tail through a padded buffer.
void LstmForwardRows(int64_t b0, int64_t b1, int64_t H, float* HWY_RESTRICT gates, int64_t ld,
                     const float* HWY_RESTRICT c_prev, float* HWY_RESTRICT c,
                     float* HWY_RESTRICT h) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t b = b0; b < b1; ++b) {
    float* gi = gates + b * ld;
    float* gf = gi + H;
    float* gg = gi + 2 * H;
    float* go = gi + 3 * H;
    const float* cp = c_prev + b * H;
    float* cr = c + b * H;
    float* hr = h + b * H;
    int64_t j = 0;
    for (; j + N <= H; j += N) {
      const auto i = Sigmoid(d, hn::LoadU(d, gi + j));
      const auto f = Sigmoid(d, hn::LoadU(d, gf + j));
      const auto g = hn::Tanh(d, hn::LoadU(d, gg + j));
      const auto o = Sigmoid(d, hn::LoadU(d, go + j));
      const auto cn = hn::MulAdd(f, hn::LoadU(d, cp + j), hn::Mul(i, g));
      hn::StoreU(i, d, gi + j);
      hn::StoreU(f, d, gf + j);
      hn::StoreU(g, d, gg + j);
      hn::StoreU(o, d, go + j);
      hn::StoreU(cn, d, cr + j);
      hn::StoreU(hn::Mul(o, hn::Tanh(d, cn)), d, hr + j);
    }
    for (; j < H; ++j) {
      const float i = 1.0f / (1.0f + std::exp(-gi[j])), f = 1.0f / (1.0f + std::exp(-gf[j]));
      const float g = std::tanh(gg[j]), o = 1.0f / (1.0f + std::exp(-go[j]));
      const float cn = f * cp[j] + i * g;
      gi[j] = i;
      gf[j] = f;
      gg[j] = g;
      go[j] = o;
      cr[j] = cn;
      hr[j] = o * std::tanh(cn);
    }
  }
}

void LstmBackwardRows(int64_t b0, int64_t b1, int64_t H, const float* HWY_RESTRICT act, int64_t ld,
                      const float* HWY_RESTRICT c_prev, const float* HWY_RESTRICT c,
                      const float* HWY_RESTRICT dh, float* HWY_RESTRICT dc,
                      float* HWY_RESTRICT dgates) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto one = hn::Set(d, 1.0f);
  for (int64_t b = b0; b < b1; ++b) {
    const float* ai = act + b * ld;
    const float* af = ai + H;
    const float* ag = ai + 2 * H;
    const float* ao = ai + 3 * H;
    float* di = dgates + b * ld;
    float* df = di + H;
    float* dg = di + 2 * H;
    float* dout = di + 3 * H;
    const float* cp = c_prev + b * H;
    const float* cr = c + b * H;
    const float* dhr = dh + b * H;
    float* dcr = dc + b * H;
    int64_t j = 0;
    for (; j + N <= H; j += N) {
      const auto i = hn::LoadU(d, ai + j), f = hn::LoadU(d, af + j);
      const auto g = hn::LoadU(d, ag + j), o = hn::LoadU(d, ao + j);
      const auto tc = hn::Tanh(d, hn::LoadU(d, cr + j));
      const auto vdh = hn::LoadU(d, dhr + j);
      const auto dct =
          hn::MulAdd(hn::Mul(vdh, o), hn::NegMulAdd(tc, tc, one), hn::LoadU(d, dcr + j));
      hn::StoreU(hn::Mul(hn::Mul(dct, g), hn::Mul(i, hn::Sub(one, i))), d, di + j);
      hn::StoreU(hn::Mul(hn::Mul(dct, hn::LoadU(d, cp + j)), hn::Mul(f, hn::Sub(one, f))), d,
                 df + j);
      hn::StoreU(hn::Mul(hn::Mul(dct, i), hn::NegMulAdd(g, g, one)), d, dg + j);
      hn::StoreU(hn::Mul(hn::Mul(vdh, tc), hn::Mul(o, hn::Sub(one, o))), d, dout + j);
      hn::StoreU(hn::Mul(dct, f), d, dcr + j);
    }
    for (; j < H; ++j) {
      const float i = ai[j], f = af[j], g = ag[j], o = ao[j], tc = std::tanh(cr[j]);
      const float dct = dcr[j] + dhr[j] * o * (1.0f - tc * tc);
      di[j] = dct * g * (i * (1.0f - i));
      df[j] = dct * cp[j] * (f * (1.0f - f));
      dg[j] = dct * i * (1.0f - g * g);
      dout[j] = dhr[j] * tc * (o * (1.0f - o));
      dcr[j] = dct * f;
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(LstmForwardRows);
HWY_EXPORT(LstmBackwardRows);

void lstm_cell_forward(int64_t B, int64_t H, float* gates, int64_t ld, const float* c_prev,
                       float* c, float* h, int threads) {
  parallel_chunks(B, threads, 8 * H, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(LstmForwardRows)(b, e, H, gates, ld, c_prev, c, h);
  });
}

void lstm_cell_forward(int64_t B, int64_t H, double* gates, int64_t ld, const double* c_prev,
                       double* c, double* h, int) {
  lstm_cell_forward_reference(B, H, gates, ld, c_prev, c, h);
}

void lstm_cell_backward(int64_t B, int64_t H, const float* act, int64_t ld, const float* c_prev,
                        const float* c, const float* dh, float* dc, float* dgates, int threads) {
  parallel_chunks(B, threads, 8 * H, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(LstmBackwardRows)(b, e, H, act, ld, c_prev, c, dh, dc, dgates);
  });
}

void lstm_cell_backward(int64_t B, int64_t H, const double* act, int64_t ld, const double* c_prev,
                        const double* c, const double* dh, double* dc, double* dgates, int) {
  lstm_cell_backward_reference(B, H, act, ld, c_prev, c, dh, dc, dgates);
}

template <typename T>
void lstm_cell_forward_reference(int64_t B, int64_t H, T* gates, int64_t ld, const T* c_prev, T* c,
                                 T* h) {
  auto sigmoid = [](T x) { return T(1) / (T(1) + std::exp(-x)); };
  for (int64_t b = 0; b < B; ++b) {
    T* a = gates + b * ld;
    for (int64_t j = 0; j < H; ++j) {
      const T i = sigmoid(a[j]), f = sigmoid(a[H + j]), g = std::tanh(a[2 * H + j]),
              o = sigmoid(a[3 * H + j]);
      const T cn = f * c_prev[b * H + j] + i * g;
      a[j] = i;
      a[H + j] = f;
      a[2 * H + j] = g;
      a[3 * H + j] = o;
      c[b * H + j] = cn;
      h[b * H + j] = o * std::tanh(cn);
    }
  }
}

template <typename T>
void lstm_cell_backward_reference(int64_t B, int64_t H, const T* act, int64_t ld, const T* c_prev,
                                  const T* c, const T* dh, T* dc, T* dgates) {
  for (int64_t b = 0; b < B; ++b) {
    const T* a = act + b * ld;
    T* da = dgates + b * ld;
    for (int64_t j = 0; j < H; ++j) {
      const int64_t k = b * H + j;
      const T i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], tc = std::tanh(c[k]);
      const T dct = dc[k] + dh[k] * o * (T(1) - tc * tc);
      da[j] = dct * g * (i * (T(1) - i));
      da[H + j] = dct * c_prev[k] * (f * (T(1) - f));
      da[2 * H + j] = dct * i * (T(1) - g * g);
      da[3 * H + j] = dh[k] * tc * (o * (T(1) - o));
      dc[k] = dct * f;
    }
  }
}

template void lstm_cell_forward_reference<float>(int64_t, int64_t, float*, int64_t, const float*,
                                                 float*, float*);
template void lstm_cell_forward_reference<double>(int64_t, int64_t, double*, int64_t, const double*,
                                                  double*, double*);
template void lstm_cell_backward_reference<float>(int64_t, int64_t, const float*, int64_t,
                                                  const float*, const float*, const float*, float*,
                                                  float*);
template void lstm_cell_backward_reference<double>(int64_t, int64_t, const double*, int64_t,
                                                   const double*, const double*, const double*,
                                                   double*, double*);

}  // namespace attend::kernels
#endif  // HWY_ONCE
