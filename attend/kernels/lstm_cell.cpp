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

// One row of the forward: gates gi (4H) in and out, c_prev cp, c cr, h hr (H); columns in
// vectors, then a scalar tail.
HWY_INLINE void LstmForwardRow(int64_t H, float* HWY_RESTRICT gi, const float* HWY_RESTRICT cp,
                               float* HWY_RESTRICT cr, float* HWY_RESTRICT hr) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  float* gf = gi + H;
  float* gg = gi + 2 * H;
  float* go = gi + 3 * H;
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

// Rows [b0, b1) of the forward.
void LstmForwardRows(int64_t b0, int64_t b1, View<float, 2> gates, View<const float, 2> c_prev,
                     View<float, 2> c, View<float, 2> h) {
  const int64_t H = c.shape[1];
  for (int64_t b = b0; b < b1; ++b) LstmForwardRow(H, gates.at(b), c_prev.at(b), c.at(b), h.at(b));
}

// One row of the backward: act ai, dgates di (4H); c_prev cp, c cr, dh dhr, dc dcr (H).
HWY_INLINE void LstmBackwardRow(int64_t H, const float* HWY_RESTRICT ai,
                                const float* HWY_RESTRICT cp, const float* HWY_RESTRICT cr,
                                const float* HWY_RESTRICT dhr, float* HWY_RESTRICT dcr,
                                float* HWY_RESTRICT di) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto one = hn::Set(d, 1.0f);
  const float* af = ai + H;
  const float* ag = ai + 2 * H;
  const float* ao = ai + 3 * H;
  float* df = di + H;
  float* dg = di + 2 * H;
  float* dout = di + 3 * H;
  int64_t j = 0;
  for (; j + N <= H; j += N) {
    const auto i = hn::LoadU(d, ai + j), f = hn::LoadU(d, af + j);
    const auto g = hn::LoadU(d, ag + j), o = hn::LoadU(d, ao + j);
    const auto tc = hn::Tanh(d, hn::LoadU(d, cr + j));
    const auto vdh = hn::LoadU(d, dhr + j);
    const auto dct = hn::MulAdd(hn::Mul(vdh, o), hn::NegMulAdd(tc, tc, one), hn::LoadU(d, dcr + j));
    hn::StoreU(hn::Mul(hn::Mul(dct, g), hn::Mul(i, hn::Sub(one, i))), d, di + j);
    hn::StoreU(hn::Mul(hn::Mul(dct, hn::LoadU(d, cp + j)), hn::Mul(f, hn::Sub(one, f))), d, df + j);
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

void LstmBackwardRows(int64_t b0, int64_t b1, View<const float, 2> act, View<const float, 2> c_prev,
                      View<const float, 2> c, View<const float, 2> dh, View<float, 2> dc,
                      View<float, 2> dgates) {
  const int64_t H = c.shape[1];
  for (int64_t b = b0; b < b1; ++b)
    LstmBackwardRow(H, act.at(b), c_prev.at(b), c.at(b), dh.at(b), dc.at(b), dgates.at(b));
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(LstmForwardRows);
HWY_EXPORT(LstmBackwardRows);

void lstm_cell_forward(View<float, 2> gates, View<const float, 2> c_prev, View<float, 2> c,
                       View<float, 2> h, int threads) {
  parallel_chunks(c.shape[0], threads, 8 * c.shape[1], [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(LstmForwardRows)(b, e, gates, c_prev, c, h);
  });
}

void lstm_cell_forward(View<double, 2> gates, View<const double, 2> c_prev, View<double, 2> c,
                       View<double, 2> h, int) {
  lstm_cell_forward_reference(gates, c_prev, c, h);
}

void lstm_cell_backward(View<const float, 2> act, View<const float, 2> c_prev,
                        View<const float, 2> c, View<const float, 2> dh, View<float, 2> dc,
                        View<float, 2> dgates, int threads) {
  parallel_chunks(c.shape[0], threads, 8 * c.shape[1], [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(LstmBackwardRows)(b, e, act, c_prev, c, dh, dc, dgates);
  });
}

void lstm_cell_backward(View<const double, 2> act, View<const double, 2> c_prev,
                        View<const double, 2> c, View<const double, 2> dh, View<double, 2> dc,
                        View<double, 2> dgates, int) {
  lstm_cell_backward_reference(act, c_prev, c, dh, dc, dgates);
}

template <typename T>
void lstm_cell_forward_reference(View<T, 2> gates, View<const T, 2> c_prev, View<T, 2> c,
                                 View<T, 2> h) {
  auto sigmoid = [](T x) { return T(1) / (T(1) + std::exp(-x)); };
  const int64_t B = c.shape[0], H = c.shape[1];
  for (int64_t b = 0; b < B; ++b) {
    T* a = gates.at(b);
    const T* cp = c_prev.at(b);
    T* cr = c.at(b);
    T* hr = h.at(b);
    for (int64_t j = 0; j < H; ++j) {
      const T i = sigmoid(a[j]), f = sigmoid(a[H + j]), g = std::tanh(a[2 * H + j]),
              o = sigmoid(a[3 * H + j]);
      const T cn = f * cp[j] + i * g;
      a[j] = i;
      a[H + j] = f;
      a[2 * H + j] = g;
      a[3 * H + j] = o;
      cr[j] = cn;
      hr[j] = o * std::tanh(cn);
    }
  }
}

template <typename T>
void lstm_cell_backward_reference(View<const T, 2> act, View<const T, 2> c_prev, View<const T, 2> c,
                                  View<const T, 2> dh, View<T, 2> dc, View<T, 2> dgates) {
  const int64_t B = c.shape[0], H = c.shape[1];
  for (int64_t b = 0; b < B; ++b) {
    const T* a = act.at(b);
    T* da = dgates.at(b);
    const T* cp = c_prev.at(b);
    const T* cr = c.at(b);
    const T* dhr = dh.at(b);
    T* dcr = dc.at(b);
    for (int64_t j = 0; j < H; ++j) {
      const T i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], tc = std::tanh(cr[j]);
      const T dct = dcr[j] + dhr[j] * o * (T(1) - tc * tc);
      da[j] = dct * g * (i * (T(1) - i));
      da[H + j] = dct * cp[j] * (f * (T(1) - f));
      da[2 * H + j] = dct * i * (T(1) - g * g);
      da[3 * H + j] = dhr[j] * tc * (o * (T(1) - o));
      dcr[j] = dct * f;
    }
  }
}

template void lstm_cell_forward_reference<float>(View<float, 2>, View<const float, 2>,
                                                 View<float, 2>, View<float, 2>);
template void lstm_cell_forward_reference<double>(View<double, 2>, View<const double, 2>,
                                                  View<double, 2>, View<double, 2>);
template void lstm_cell_backward_reference<float>(View<const float, 2>, View<const float, 2>,
                                                  View<const float, 2>, View<const float, 2>,
                                                  View<float, 2>, View<float, 2>);
template void lstm_cell_backward_reference<double>(View<const double, 2>, View<const double, 2>,
                                                   View<const double, 2>, View<const double, 2>,
                                                   View<double, 2>, View<double, 2>);

}  // namespace attend::kernels
#endif  // HWY_ONCE
