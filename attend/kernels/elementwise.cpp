// Elementwise kernels: Highway (runtime-dispatched) float32 paths and plain reference twins.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/elementwise.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "attend/kernels/exp-inl.h"
// clang-format on

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "attend/kernels/elementwise.h"
#include "attend/kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// erf(x) by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
template <class D, class V>
HWY_INLINE V ErfApprox(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V ax = hn::Min(hn::Abs(x), hn::Set(d, 10.0f));
  const V t = one / hn::MulAdd(hn::Set(d, 0.3275911f), ax, one);
  V p = hn::Set(d, 1.061405429f);
  p = hn::MulAdd(p, t, hn::Set(d, -1.453152027f));
  p = hn::MulAdd(p, t, hn::Set(d, 1.421413741f));
  p = hn::MulAdd(p, t, hn::Set(d, -0.284496736f));
  p = hn::MulAdd(p, t, hn::Set(d, 0.254829592f));
  p = p * t;
  const V y = hn::NegMulAdd(p, ExpNonPositive(d, hn::Neg(ax * ax)), one);
  return hn::CopySign(y, x);
}

template <class D, class V>
HWY_INLINE V ExpSafe(D d, V x) {
  return hn::Exp(d, hn::Min(x, hn::Set(d, 100.0f)));
}

// σ(x) = 1 / (1 + e^−x)
template <class D, class V>
HWY_INLINE V SigmoidV(D d, V x) {
  return hn::Set(d, 1.0f) / (hn::Set(d, 1.0f) + ExpSafe(d, hn::Neg(x)));
}

// f(x) for one vector.
template <class D, class V>
HWY_INLINE V UnaryVec(Unary op, float param, D d, V v) {
  switch (op) {
    case Unary::Neg:
      return hn::Neg(v);
    case Unary::Exp:
      return ExpSafe(d, v);
    case Unary::Log: {
      V r = hn::Log(d, v);
      r = hn::IfThenElse(v == hn::Zero(d), hn::Set(d, -std::numeric_limits<float>::infinity()), r);
      return hn::IfThenElse(v < hn::Zero(d), hn::Set(d, std::numeric_limits<float>::quiet_NaN()),
                            r);
    }
    case Unary::Sqrt:
      return hn::Sqrt(v);
    case Unary::Abs:
      return hn::Abs(v);
    case Unary::Tanh:
      return hn::Tanh(d, v);
    case Unary::Sigmoid:
      return SigmoidV(d, v);
    case Unary::Relu:
      return hn::Max(v, hn::Zero(d));
    case Unary::Gelu: {
      const V half = hn::Set(d, 0.5f);
      const V e = ErfApprox(d, v * hn::Set(d, 0.70710678118654752f));
      return half * v * (hn::Set(d, 1.0f) + e);
    }
    case Unary::Elu: {
      const V neg = hn::Set(d, param) * hn::Expm1(d, hn::Min(v, hn::Zero(d)));
      return hn::IfThenElse(v > hn::Zero(d), v, neg);
    }
    case Unary::Pow: {
      if (param == 2.0f) return v * v;
      if (param == 3.0f) return v * v * v;
      if (param == 1.0f) return v;
      if (param == 0.5f) return hn::Sqrt(v);
      if (param == -1.0f) return hn::Set(d, 1.0f) / v;
      return hn::Set(d, 1.0f);  // param == 0 (others never reach here)
    }
  }
  return v;
}

// g · f'(x) for one vector (y = f(x)).
template <class D, class V>
HWY_INLINE V UnaryBackVec(Unary op, float param, D d, V x, V y, V g) {
  switch (op) {
    case Unary::Neg:
      return hn::Neg(g);
    case Unary::Exp:
      return g * y;
    case Unary::Log:
      return g / x;
    case Unary::Sqrt:
      return g / (y + y);
    case Unary::Abs: {
      const V z = hn::Zero(d);
      const V s =
          hn::IfThenElse(x > z, hn::Set(d, 1.0f), hn::IfThenElse(x < z, hn::Set(d, -1.0f), z));
      return g * s;
    }
    case Unary::Tanh:
      return hn::NegMulAdd(y, y, hn::Set(d, 1.0f)) * g;
    case Unary::Sigmoid:
      return g * y * (hn::Set(d, 1.0f) - y);
    case Unary::Relu:
      return hn::IfThenElseZero(x > hn::Zero(d), g);
    case Unary::Gelu: {
      const V cdf = hn::Set(d, 0.5f) *
                    (hn::Set(d, 1.0f) + ErfApprox(d, x * hn::Set(d, 0.70710678118654752f)));
      const V pdf =
          hn::Set(d, 0.39894228040143268f) * ExpNonPositive(d, hn::Neg(x * x) * hn::Set(d, 0.5f));
      return g * hn::MulAdd(x, pdf, cdf);
    }
    case Unary::Elu:
      return hn::IfThenElse(x > hn::Zero(d), g, g * (y + hn::Set(d, param)));
    case Unary::Pow: {
      if (param == 2.0f) return g * (x + x);
      if (param == 1.0f) return g;
      if (param == 0.0f) return hn::Zero(d);
      if (param == 3.0f) return g * hn::Set(d, 3.0f) * x * x;
      if (param == 0.5f) return g / (y + y);
      return hn::Neg(g) * y * y;  // param == -1
    }
  }
  return g;
}

void UnaryRange(Unary op, float param, const float* HWY_RESTRICT x, float* HWY_RESTRICT out,
                int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(UnaryVec(op, param, d, hn::LoadU(d, x + i)), d, out + i);
  if (i < n) {
    HWY_ALIGN float buf[HWY_MAX_BYTES / sizeof(float)] = {};
    std::memcpy(buf, x + i, (n - i) * sizeof(float));
    hn::Store(UnaryVec(op, param, d, hn::Load(d, buf)), d, buf);
    std::memcpy(out + i, buf, (n - i) * sizeof(float));
  }
}

void UnaryBackwardRange(Unary op, float param, const float* HWY_RESTRICT x,
                        const float* HWY_RESTRICT y, const float* HWY_RESTRICT g,
                        float* HWY_RESTRICT dx, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  // Ops whose derivative needs only one of x and y may get a null pointer for the other.
  const float* xs = x ? x : y;
  const float* ys = y ? y : x;
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    auto r =
        UnaryBackVec(op, param, d, hn::LoadU(d, xs + i), hn::LoadU(d, ys + i), hn::LoadU(d, g + i));
    hn::StoreU(r, d, dx + i);
  }
  if (i < n) {
    const int64_t rest = n - i;
    HWY_ALIGN float bx[HWY_MAX_BYTES / sizeof(float)] = {};
    HWY_ALIGN float by[HWY_MAX_BYTES / sizeof(float)] = {};
    HWY_ALIGN float bg[HWY_MAX_BYTES / sizeof(float)] = {};
    for (int64_t k = 0; k < N; ++k) bx[k] = by[k] = 1.0f;  // keep padding lanes finite
    std::memcpy(bx, xs + i, rest * sizeof(float));
    std::memcpy(by, ys + i, rest * sizeof(float));
    std::memcpy(bg, g + i, rest * sizeof(float));
    hn::Store(UnaryBackVec(op, param, d, hn::Load(d, bx), hn::Load(d, by), hn::Load(d, bg)), d, bg);
    std::memcpy(dx + i, bg, rest * sizeof(float));
  }
}

template <class F>
HWY_INLINE void BinaryVV(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b,
                         float* HWY_RESTRICT out, int64_t n, F f) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, out + i);
  for (; i < n; ++i) out[i] = f(a[i], b[i]);
}

template <class F>
HWY_INLINE void BinaryVS(const float* HWY_RESTRICT a, float s, float* HWY_RESTRICT out, int64_t n,
                         F f) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto vs = hn::Set(d, s);
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(hn::LoadU(d, a + i), vs), d, out + i);
  for (; i < n; ++i) out[i] = f(a[i], s);
}

struct AddF {
  template <class V>
  HWY_INLINE V operator()(V a, V b) const {
    return a + b;
  }
};
struct SubF {
  template <class V>
  HWY_INLINE V operator()(V a, V b) const {
    return a - b;
  }
};
struct MulF {
  template <class V>
  HWY_INLINE V operator()(V a, V b) const {
    return a * b;
  }
};
struct DivF {
  template <class V>
  HWY_INLINE V operator()(V a, V b) const {
    return a / b;
  }
};
struct RSubF {
  template <class V>
  HWY_INLINE V operator()(V a, V b) const {
    return b - a;
  }
};
struct RDivF {
  template <class V>
  HWY_INLINE V operator()(V a, V b) const {
    return b / a;
  }
};

void BinarySameRange(Binary op, const float* a, const float* b, float* out, int64_t n) {
  switch (op) {
    case Binary::Add:
      return BinaryVV(a, b, out, n, AddF{});
    case Binary::Sub:
      return BinaryVV(a, b, out, n, SubF{});
    case Binary::Mul:
      return BinaryVV(a, b, out, n, MulF{});
    case Binary::Div:
      return BinaryVV(a, b, out, n, DivF{});
  }
}

// out = a op s, or s op a when reversed.
void BinaryScalarRange(Binary op, const float* a, float s, float* out, int64_t n, bool reversed) {
  switch (op) {
    case Binary::Add:
      return BinaryVS(a, s, out, n, AddF{});
    case Binary::Mul:
      return BinaryVS(a, s, out, n, MulF{});
    case Binary::Sub:
      return reversed ? BinaryVS(a, s, out, n, RSubF{}) : BinaryVS(a, s, out, n, SubF{});
    case Binary::Div:
      return reversed ? BinaryVS(a, s, out, n, RDivF{}) : BinaryVS(a, s, out, n, DivF{});
  }
}

// Rows [r0, r1) of out[r, c] = a[r, c] op v[c] (reversed: v op a).
void BinaryInnerRows(Binary op, const float* a, const float* v, float* out, int64_t r0, int64_t r1,
                     int64_t cols, bool reversed) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* ar = a + r * cols;
    float* o = out + r * cols;
    switch (op) {
      case Binary::Add:
        BinaryVV(ar, v, o, cols, AddF{});
        break;
      case Binary::Mul:
        BinaryVV(ar, v, o, cols, MulF{});
        break;
      case Binary::Sub:
        reversed ? BinaryVV(v, ar, o, cols, SubF{}) : BinaryVV(ar, v, o, cols, SubF{});
        break;
      case Binary::Div:
        reversed ? BinaryVV(v, ar, o, cols, DivF{}) : BinaryVV(ar, v, o, cols, DivF{});
        break;
    }
  }
}

// Rows [r0, r1) of out[r, c] = a[r, c] op v[r] (reversed: v op a).
void BinaryOuterRows(Binary op, const float* a, const float* v, float* out, int64_t r0, int64_t r1,
                     int64_t cols, bool reversed) {
  for (int64_t r = r0; r < r1; ++r)
    BinaryScalarRange(op, a + r * cols, v[r], out + r * cols, cols, reversed);
}

// Rows [r0, r1) of out = a ⊙ σ(b) (+ r), g rows = [a | b] (2·d), r may be null.
void GluRows(const float* g, const float* r, float* out, int64_t r0, int64_t r1, int64_t d) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  for (int64_t row = r0; row < r1; ++row) {
    const float* a = g + row * 2 * d;
    const float* b = a + d;
    float* o = out + row * d;
    const float* rr = r ? r + row * d : nullptr;
    int64_t j = 0;
    for (; j + N <= d; j += N) {
      const auto s = SigmoidV(df, hn::LoadU(df, b + j));
      auto y = hn::Mul(hn::LoadU(df, a + j), s);
      if (rr) y = hn::Add(y, hn::LoadU(df, rr + j));
      hn::StoreU(y, df, o + j);
    }
    for (; j < d; ++j) {
      const float s = 1.0f / (1.0f + std::exp(-b[j]));
      o[j] = a[j] * s + (rr ? rr[j] : 0.0f);
    }
  }
}

// Rows [r0, r1) of dg = [dout ⊙ σ(b) | dout ⊙ a ⊙ σ(b)(1 − σ(b))].
void GluBackwardRows(const float* g, const float* dout, float* dg, int64_t r0, int64_t r1,
                     int64_t d) {
  const hn::ScalableTag<float> df;
  const int64_t N = hn::Lanes(df);
  const auto one = hn::Set(df, 1.0f);
  for (int64_t row = r0; row < r1; ++row) {
    const float* a = g + row * 2 * d;
    const float* b = a + d;
    const float* go = dout + row * d;
    float* da = dg + row * 2 * d;
    float* db = da + d;
    int64_t j = 0;
    for (; j + N <= d; j += N) {
      const auto s = SigmoidV(df, hn::LoadU(df, b + j));
      const auto gv = hn::LoadU(df, go + j);
      hn::StoreU(hn::Mul(gv, s), df, da + j);
      hn::StoreU(hn::Mul(hn::Mul(gv, hn::LoadU(df, a + j)), hn::Mul(s, hn::Sub(one, s))), df,
                 db + j);
    }
    for (; j < d; ++j) {
      const float s = 1.0f / (1.0f + std::exp(-b[j]));
      da[j] = go[j] * s;
      db[j] = go[j] * a[j] * s * (1.0f - s);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(UnaryRange);
HWY_EXPORT(UnaryBackwardRange);
HWY_EXPORT(BinarySameRange);
HWY_EXPORT(BinaryScalarRange);
HWY_EXPORT(BinaryInnerRows);
HWY_EXPORT(BinaryOuterRows);
HWY_EXPORT(GluRows);
HWY_EXPORT(GluBackwardRows);

namespace {

constexpr int64_t kParallelMin = 32768;  // elements below which threads do not pay

// Splits [0, n) into one contiguous chunk per thread (64-aligned starts) and calls f(begin, end).
template <class F>
void parallel_range(int64_t n, int threads, int64_t work_per_item, F&& f) {
  if (threads <= 1 || n * work_per_item < kParallelMin || n < 2) {
    f(int64_t{0}, n);
    return;
  }
  const int chunks = static_cast<int>(std::min<int64_t>(threads, n));
  parallel_region(chunks, [&](int64_t c, int64_t count) {
    int64_t b = n * c / count, e = n * (c + 1) / count;
    if (work_per_item == 1) {  // align element ranges to cache lines
      b = c == 0 ? 0 : (b + 15) / 16 * 16;
      e = c + 1 == count ? n : (e + 15) / 16 * 16;
      e = std::min(e, n);
    }
    if (b < e) f(b, e);
  });
}

// Whether the fast Pow path has a vector form for this exponent.
bool pow_vectorised(float p) {
  return p == 2.0f || p == 3.0f || p == 1.0f || p == 0.5f || p == -1.0f || p == 0.0f;
}

}  // namespace

void binary_same(Binary op, const float* a, const float* b, float* out, int64_t n, int threads) {
  parallel_range(n, threads, 1, [&](int64_t s, int64_t e) {
    HWY_DYNAMIC_DISPATCH(BinarySameRange)(op, a + s, b + s, out + s, e - s);
  });
}

void binary_scalar(Binary op, const float* a, float s, float* out, int64_t n, bool scalar_first,
                   int threads) {
  parallel_range(n, threads, 1, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(BinaryScalarRange)(op, a + b, s, out + b, e - b, scalar_first);
  });
}

void binary_inner(Binary op, const float* a, const float* v, float* out, int64_t rows, int64_t cols,
                  bool vec_first, int threads) {
  parallel_range(rows, threads, cols, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(BinaryInnerRows)(op, a, v, out, b, e, cols, vec_first);
  });
}

void binary_outer(Binary op, const float* a, const float* v, float* out, int64_t rows, int64_t cols,
                  bool vec_first, int threads) {
  parallel_range(rows, threads, cols, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(BinaryOuterRows)(op, a, v, out, b, e, cols, vec_first);
  });
}

void glu_forward(const float* g, const float* r, float* out, int64_t rows, int64_t d, int threads) {
  parallel_range(rows, threads, 8 * d, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(GluRows)(g, r, out, b, e, d);
  });
}

void glu_backward(const float* g, const float* dout, float* dg, int64_t rows, int64_t d,
                  int threads) {
  parallel_range(rows, threads, 8 * d, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(GluBackwardRows)(g, dout, dg, b, e, d);
  });
}

void unary(Unary op, float param, const float* x, float* out, int64_t n, int threads) {
  if (op == Unary::Pow && !pow_vectorised(param)) {
    parallel_range(n, threads, 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = std::pow(x[i], param);
    });
    return;
  }
  const int64_t cost = (op == Unary::Neg || op == Unary::Abs || op == Unary::Relu) ? 1 : 8;
  parallel_range(n, threads, cost, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(UnaryRange)(op, param, x + b, out + b, e - b);
  });
}

void unary_backward(Unary op, float param, const float* x, const float* y, const float* g,
                    float* dx, int64_t n, int threads) {
  if (op == Unary::Pow && !pow_vectorised(param)) {
    parallel_range(n, threads, 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dx[i] = g[i] * param * std::pow(x[i], param - 1.0f);
    });
    return;
  }
  parallel_range(n, threads, 4, [&](int64_t b, int64_t e) {
    HWY_DYNAMIC_DISPATCH(UnaryBackwardRange)
    (op, param, x ? x + b : nullptr, y ? y + b : nullptr, g + b, dx + b, e - b);
  });
}

// ---- reference twins ----

template <typename T>
void binary_same_reference(Binary op, const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = binary_apply(op, a[i], b[i]);
}

template <typename T>
void binary_scalar_reference(Binary op, const T* a, T s, T* out, int64_t n, bool scalar_first) {
  if (scalar_first)
    for (int64_t i = 0; i < n; ++i) out[i] = binary_apply(op, s, a[i]);
  else
    for (int64_t i = 0; i < n; ++i) out[i] = binary_apply(op, a[i], s);
}

template <typename T>
void binary_inner_reference(Binary op, const T* a, const T* v, T* out, int64_t rows, int64_t cols,
                            bool vec_first) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      T x = a[r * cols + c];
      out[r * cols + c] = vec_first ? binary_apply(op, v[c], x) : binary_apply(op, x, v[c]);
    }
}

template <typename T>
void binary_outer_reference(Binary op, const T* a, const T* v, T* out, int64_t rows, int64_t cols,
                            bool vec_first) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      T x = a[r * cols + c];
      out[r * cols + c] = vec_first ? binary_apply(op, v[r], x) : binary_apply(op, x, v[r]);
    }
}

template <typename T>
void unary_reference(Unary op, T param, const T* x, T* out, int64_t n) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i];
    T r = v;
    switch (op) {
      case Unary::Neg:
        r = -v;
        break;
      case Unary::Exp:
        r = std::exp(v);
        break;
      case Unary::Log:
        r = std::log(v);
        break;
      case Unary::Sqrt:
        r = std::sqrt(v);
        break;
      case Unary::Abs:
        r = std::abs(v);
        break;
      case Unary::Tanh:
        r = std::tanh(v);
        break;
      case Unary::Sigmoid:
        r = T(1) / (T(1) + std::exp(-v));
        break;
      case Unary::Relu:
        r = v > T(0) ? v : T(0);
        break;
      case Unary::Gelu:
        r = T(0.5) * v * (T(1) + std::erf(v * kInvSqrt2));
        break;
      case Unary::Elu:
        r = v > T(0) ? v : param * std::expm1(v);
        break;
      case Unary::Pow:
        r = std::pow(v, param);
        break;
    }
    out[i] = r;
  }
}

template <typename T>
void unary_backward_reference(Unary op, T param, const T* x, const T* y, const T* g, T* dx,
                              int64_t n) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    T r = gi;
    switch (op) {
      case Unary::Neg:
        r = -gi;
        break;
      case Unary::Exp:
        r = gi * y[i];
        break;
      case Unary::Log:
        r = gi / x[i];
        break;
      case Unary::Sqrt:
        r = gi / (T(2) * y[i]);
        break;
      case Unary::Abs:
        r = x[i] > T(0) ? gi : (x[i] < T(0) ? -gi : T(0));
        break;
      case Unary::Tanh:
        r = gi * (T(1) - y[i] * y[i]);
        break;
      case Unary::Sigmoid:
        r = gi * y[i] * (T(1) - y[i]);
        break;
      case Unary::Relu:
        r = x[i] > T(0) ? gi : T(0);
        break;
      case Unary::Gelu: {
        const T v = x[i];
        const T cdf = T(0.5) * (T(1) + std::erf(v * kInvSqrt2));
        const T pdf = kInvSqrt2Pi * std::exp(T(-0.5) * v * v);
        r = gi * (cdf + v * pdf);
        break;
      }
      case Unary::Elu:
        r = x[i] > T(0) ? gi : gi * (y[i] + param);
        break;
      case Unary::Pow:
        r = param == T(0) ? T(0) : gi * param * std::pow(x[i], param - T(1));
        break;
    }
    dx[i] = r;
  }
}

template <typename T>
void glu_forward_reference(const T* g, const T* r, T* out, int64_t rows, int64_t d) {
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t j = 0; j < d; ++j) {
      const T a = g[row * 2 * d + j], b = g[row * 2 * d + d + j];
      out[row * d + j] = a / (T(1) + std::exp(-b)) + (r ? r[row * d + j] : T(0));
    }
}

template <typename T>
void glu_backward_reference(const T* g, const T* dout, T* dg, int64_t rows, int64_t d) {
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t j = 0; j < d; ++j) {
      const T a = g[row * 2 * d + j], b = g[row * 2 * d + d + j], go = dout[row * d + j];
      const T s = T(1) / (T(1) + std::exp(-b));
      dg[row * 2 * d + j] = go * s;
      dg[row * 2 * d + d + j] = go * a * s * (T(1) - s);
    }
}

#define ATTEND_INSTANTIATE(T)                                                                      \
  template void binary_same_reference<T>(Binary, const T*, const T*, T*, int64_t);                 \
  template void binary_scalar_reference<T>(Binary, const T*, T, T*, int64_t, bool);                \
  template void binary_inner_reference<T>(Binary, const T*, const T*, T*, int64_t, int64_t, bool); \
  template void binary_outer_reference<T>(Binary, const T*, const T*, T*, int64_t, int64_t, bool); \
  template void unary_reference<T>(Unary, T, const T*, T*, int64_t);                               \
  template void unary_backward_reference<T>(Unary, T, const T*, const T*, const T*, T*, int64_t);  \
  template void glu_forward_reference<T>(const T*, const T*, T*, int64_t, int64_t);                \
  template void glu_backward_reference<T>(const T*, const T*, T*, int64_t, int64_t);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend::kernels
#endif  // HWY_ONCE
