// Elementwise ops: broadcasting binary arithmetic, scalar forms, activations, cast, sum_to.
// Forward and backward side by side; float32 runs the Highway kernels, float64 the reference twins.
#include "attend/ops/elementwise.h"

#include <cmath>

#include "attend/autograd/node.h"
#include "attend/kernels/elementwise.h"
#include "attend/ops/reduce.h"

namespace attend {

namespace {

using kernels::Binary;
using kernels::Unary;

// ---- kernel selection: float32 -> fast kernels, float64 -> reference twins ----
inline void k_same(Binary op, const float* a, const float* b, float* o, int64_t n, int th) {
  kernels::binary_same(op, a, b, o, n, th);
}
inline void k_same(Binary op, const double* a, const double* b, double* o, int64_t n, int) {
  kernels::binary_same_reference(op, a, b, o, n);
}
inline void k_scalar(Binary op, const float* a, float s, float* o, int64_t n, bool first, int th) {
  kernels::binary_scalar(op, a, s, o, n, first, th);
}
inline void k_scalar(Binary op, const double* a, double s, double* o, int64_t n, bool first, int) {
  kernels::binary_scalar_reference(op, a, s, o, n, first);
}
inline void k_inner(Binary op, const float* a, const float* v, float* o, int64_t r, int64_t c,
                    bool first, int th) {
  kernels::binary_inner(op, a, v, o, r, c, first, th);
}
inline void k_inner(Binary op, const double* a, const double* v, double* o, int64_t r, int64_t c,
                    bool first, int) {
  kernels::binary_inner_reference(op, a, v, o, r, c, first);
}
inline void k_outer(Binary op, const float* a, const float* v, float* o, int64_t r, int64_t c,
                    bool first, int th) {
  kernels::binary_outer(op, a, v, o, r, c, first, th);
}
inline void k_outer(Binary op, const double* a, const double* v, double* o, int64_t r, int64_t c,
                    bool first, int) {
  kernels::binary_outer_reference(op, a, v, o, r, c, first);
}
inline void k_unary(Unary op, double p, const float* x, float* o, int64_t n, int th) {
  kernels::unary(op, static_cast<float>(p), x, o, n, th);
}
inline void k_unary(Unary op, double p, const double* x, double* o, int64_t n, int) {
  kernels::unary_reference(op, p, x, o, n);
}
inline void k_unary_back(Unary op, double p, const float* x, const float* y, const float* g,
                         float* dx, int64_t n, int th) {
  kernels::unary_backward(op, static_cast<float>(p), x, y, g, dx, n, th);
}
inline void k_unary_back(Unary op, double p, const double* x, const double* y, const double* g,
                         double* dx, int64_t n, int) {
  kernels::unary_backward_reference(op, p, x, y, g, dx, n);
}

// Output geometry of a broadcast, with size-1 dims dropped and mergeable dims coalesced.
struct Plan {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t sa[kMaxDims];  // element strides of a (0 where broadcast)
  int64_t sb[kMaxDims];
};

// Strides of x aligned to `out` (0 on broadcast and missing leading dims).
void aligned_strides(const Tensor& x, const Shape& out, int64_t* s) {
  const int off = out.size() - x.ndim();
  for (int i = 0; i < out.size(); ++i) {
    const int j = i - off;
    s[i] = (j < 0 || x.shape()[j] == 1) ? 0 : x.strides()[j];
  }
}

Plan make_plan(const Tensor& a, const Tensor& b, const Shape& out) {
  int64_t sa[kMaxDims], sb[kMaxDims];
  aligned_strides(a, out, sa);
  aligned_strides(b, out, sb);
  Plan p;
  for (int i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;
    if (p.nd > 0 && p.sa[p.nd - 1] == sa[i] * out[i] && p.sb[p.nd - 1] == sb[i] * out[i]) {
      p.shape[p.nd - 1] *= out[i];
      p.sa[p.nd - 1] = sa[i];
      p.sb[p.nd - 1] = sb[i];
    } else {
      p.shape[p.nd] = out[i];
      p.sa[p.nd] = sa[i];
      p.sb[p.nd] = sb[i];
      ++p.nd;
    }
  }
  return p;
}

// out (contiguous) = a op b over the plan.
template <typename T>
void run_binary(Binary op, const T* a, const T* b, T* out, const Plan& p, int threads) {
  if (p.nd == 0) {
    out[0] = kernels::binary_apply(op, a[0], b[0]);
    return;
  }
  const int last = p.nd - 1;
  const int64_t n = p.shape[last], ia = p.sa[last], ib = p.sb[last];
  if (p.nd == 1) {
    if (ia == 1 && ib == 1) return k_same(op, a, b, out, n, threads);
    if (ia == 1 && ib == 0) return k_scalar(op, a, b[0], out, n, false, threads);
    if (ia == 0 && ib == 1) return k_scalar(op, b, a[0], out, n, true, threads);
  }
  if (p.nd == 2) {
    const int64_t rows = p.shape[0];
    if (ia == 1 && ib == 1 && p.sa[0] == n && p.sb[0] == 0)
      return k_inner(op, a, b, out, rows, n, false, threads);
    if (ia == 1 && ib == 1 && p.sa[0] == 0 && p.sb[0] == n)
      return k_inner(op, b, a, out, rows, n, true, threads);
    if (ia == 1 && ib == 0 && p.sa[0] == n && p.sb[0] == 1)
      return k_outer(op, a, b, out, rows, n, false, threads);
    if (ia == 0 && ib == 1 && p.sa[0] == 1 && p.sb[0] == n)
      return k_outer(op, b, a, out, rows, n, true, threads);
  }
  // General: walk the outer dims, one innermost row at a time.
  int64_t idx[kMaxDims] = {0};
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= p.shape[d];
  int64_t oa = 0, ob = 0;
  for (int64_t r = 0; r < rows; ++r) {
    T* o = out + r * n;
    if (ia == 1 && ib == 1)
      k_same(op, a + oa, b + ob, o, n, 1);
    else if (ia == 1 && ib == 0)
      k_scalar(op, a + oa, b[ob], o, n, false, 1);
    else if (ia == 0 && ib == 1)
      k_scalar(op, b + ob, a[oa], o, n, true, 1);
    else
      for (int64_t i = 0; i < n; ++i)
        o[i] = kernels::binary_apply(op, a[oa + i * ia], b[ob + i * ib]);
    for (int d = last - 1; d >= 0; --d) {
      oa += p.sa[d];
      ob += p.sb[d];
      if (++idx[d] < p.shape[d]) break;
      oa -= p.sa[d] * p.shape[d];
      ob -= p.sb[d] * p.shape[d];
      idx[d] = 0;
    }
  }
}

const char* binary_name(Binary op) {
  switch (op) {
    case Binary::Add:
      return "add";
    case Binary::Sub:
      return "sub";
    case Binary::Mul:
      return "mul";
    case Binary::Div:
      return "div";
  }
  return "?";
}

// a op b with broadcasting, no autograd.
Tensor binary_forward(Binary op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  ATTEND_CHECK(a.defined() && b.defined(), "[{}] got an undefined tensor", name);
  ATTEND_CHECK(a.dtype() == b.dtype(), "[{}] dtypes {} and {} differ", name, dtype_name(a.dtype()),
               dtype_name(b.dtype()));
  const Shape out_shape =
      a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.context());
  if (out.numel() == 0) return out;
  Plan p = make_plan(a, b, out_shape);
  // An operand read with a stride along the innermost dim (a transposed view) is copied to a
  // contiguous tensor first: a tiled transpose and a unit-stride kernel beat a strided scalar loop.
  const int64_t ia = p.nd ? p.sa[p.nd - 1] : 0, ib = p.nd ? p.sb[p.nd - 1] : 0;
  if (ia > 1 || ib > 1) {
    Tensor ac = ia > 1 ? a.contiguous_data() : a, bc = ib > 1 ? b.contiguous_data() : b;
    return binary_forward(op, ac, bc);
  }
  dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    run_binary<T>(op, a.data<T>(), b.data<T>(), out.data<T>(), p, a.context().threads());
  });
  return out;
}

// a op s (s op a when scalar_first), no autograd.
Tensor scalar_forward(Binary op, const Tensor& a, double s, bool scalar_first, const char* name) {
  ATTEND_CHECK(a.defined(), "[{}] got an undefined tensor", name);
  Tensor ac = a.contiguous_data();
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.context());
  dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    k_scalar(op, ac.data<T>(), static_cast<T>(s), out.data<T>(), out.numel(), scalar_first,
             a.context().threads());
  });
  return out;
}

const char* unary_name(Unary op) {
  switch (op) {
    case Unary::Neg:
      return "neg";
    case Unary::Exp:
      return "exp";
    case Unary::Log:
      return "log";
    case Unary::Sqrt:
      return "sqrt";
    case Unary::Abs:
      return "abs";
    case Unary::Tanh:
      return "tanh";
    case Unary::Sigmoid:
      return "sigmoid";
    case Unary::Relu:
      return "relu";
    case Unary::Gelu:
      return "gelu";
    case Unary::Elu:
      return "elu";
    case Unary::Pow:
      return "pow";
  }
  return "?";
}

Tensor unary_forward(Unary op, double param, const Tensor& xc) {
  Tensor out = Tensor::empty(xc.shape(), xc.dtype(), xc.context());
  dispatch_float(xc.dtype(), unary_name(op), [&](auto tag) {
    using T = decltype(tag);
    k_unary(op, param, xc.data<T>(), out.data<T>(), out.numel(), xc.context().threads());
  });
  return out;
}

// g · f'(x); x: contiguous input (or undefined), y: storage of f(x) (or null).
Tensor unary_grad(Unary op, double param, const Tensor& x, const std::shared_ptr<Storage>& y,
                  const Tensor& g) {
  if (op == Unary::Neg) return unary_forward(Unary::Neg, 0.0, g.contiguous_data());
  Tensor gc = g.contiguous_data();
  Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.context());
  dispatch_float(g.dtype(), unary_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.defined() ? x.data<T>() : nullptr;
    const T* yp = y ? static_cast<const T*>(y->data) : nullptr;
    k_unary_back(op, param, xp, yp, gc.data<T>(), dx.data<T>(), dx.numel(), g.context().threads());
  });
  return dx;
}

// Unary op with autograd; saves x and/or y = f(x) as the derivative needs.
Tensor unary_op(Unary op, double param, const Tensor& x, bool save_x, bool save_y) {
  ATTEND_CHECK(x.defined(), "[{}] got an undefined tensor", unary_name(op));
  Tensor xc = x.contiguous_data();
  Tensor out = unary_forward(op, param, xc);
  if (needs_grad({x})) {
    record(unary_name(op), {x}, out,
           [op, param, xs = save_x ? xc : Tensor(),
            ys = save_y ? out.storage() : std::shared_ptr<Storage>()](const Tensor& g) {
             return std::vector<Tensor>{unary_grad(op, param, xs, ys, g)};
           });
  }
  return out;
}

}  // namespace

// ---- binary ----

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Add, a, b);
  if (needs_grad({a, b})) {
    record(
        "add", {a, b}, out,
        [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(),
         rb = b.requires_grad()](const Tensor& g) {
          return std::vector<Tensor>{ra ? sum_to(g, sa) : Tensor(), rb ? sum_to(g, sb) : Tensor()};
        });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Sub, a, b);
  if (needs_grad({a, b})) {
    record("sub", {a, b}, out,
           [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(),
            rb = b.requires_grad()](const Tensor& g) {
             return std::vector<Tensor>{ra ? sum_to(g, sa) : Tensor(),
                                        rb ? neg(sum_to(g, sb)) : Tensor()};
           });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Mul, a, b);
  if (needs_grad({a, b})) {
    // d(a·b) = g·b, g·a
    record("mul", {a, b}, out,
           [a, b, ra = a.requires_grad(), rb = b.requires_grad()](const Tensor& g) {
             return std::vector<Tensor>{
                 ra ? sum_to(binary_forward(Binary::Mul, g, b), a.shape()) : Tensor(),
                 rb ? sum_to(binary_forward(Binary::Mul, g, a), b.shape()) : Tensor()};
           });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Div, a, b);
  if (needs_grad({a, b})) {
    // d(a/b) = g/b, −g·a/b²
    record("div", {a, b}, out,
           [a, b, ra = a.requires_grad(), rb = b.requires_grad()](const Tensor& g) {
             Tensor ga, gb;
             Tensor gdb = binary_forward(Binary::Div, g, b);
             if (ra) ga = sum_to(gdb, a.shape());
             if (rb) {
               Tensor t = binary_forward(Binary::Div, binary_forward(Binary::Mul, gdb, a), b);
               gb = neg(sum_to(t, b.shape()));
             }
             return std::vector<Tensor>{ga, gb};
           });
  }
  return out;
}

// ---- scalar forms ----

Tensor add(const Tensor& a, double s) {
  Tensor out = scalar_forward(Binary::Add, a, s, false, "add");
  if (needs_grad({a}))
    record("add_scalar", {a}, out, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor mul(const Tensor& a, double s) {
  Tensor out = scalar_forward(Binary::Mul, a, s, false, "mul");
  if (needs_grad({a}))
    record("mul_scalar", {a}, out, [s](const Tensor& g) {
      return std::vector<Tensor>{scalar_forward(Binary::Mul, g, s, false, "mul")};
    });
  return out;
}

Tensor rsub(const Tensor& a, double s) {
  Tensor out = scalar_forward(Binary::Sub, a, s, true, "rsub");
  if (needs_grad({a}))
    record("rsub", {a}, out, [](const Tensor& g) {
      return std::vector<Tensor>{unary_forward(Unary::Neg, 0.0, g.contiguous_data())};
    });
  return out;
}

Tensor rdiv(const Tensor& a, double s) {
  Tensor out = scalar_forward(Binary::Div, a, s, true, "rdiv");
  if (needs_grad({a}))
    // d(s/a) = −g·s/a²
    record("rdiv", {a}, out, [a, s](const Tensor& g) {
      Tensor t = binary_forward(Binary::Div, scalar_forward(Binary::Mul, g, -s, false, "rdiv"), a);
      return std::vector<Tensor>{binary_forward(Binary::Div, t, a)};
    });
  return out;
}

// ---- unary ----

Tensor neg(const Tensor& x) {
  return unary_op(Unary::Neg, 0.0, x, false, false);
}
Tensor exp(const Tensor& x) {
  return unary_op(Unary::Exp, 0.0, x, false, true);
}
Tensor log(const Tensor& x) {
  return unary_op(Unary::Log, 0.0, x, true, false);
}
Tensor sqrt(const Tensor& x) {
  return unary_op(Unary::Sqrt, 0.0, x, false, true);
}
Tensor abs(const Tensor& x) {
  return unary_op(Unary::Abs, 0.0, x, true, false);
}
Tensor tanh(const Tensor& x) {
  return unary_op(Unary::Tanh, 0.0, x, false, true);
}
Tensor sigmoid(const Tensor& x) {
  return unary_op(Unary::Sigmoid, 0.0, x, false, true);
}
Tensor relu(const Tensor& x) {
  return unary_op(Unary::Relu, 0.0, x, true, false);
}
Tensor gelu(const Tensor& x) {
  return unary_op(Unary::Gelu, 0.0, x, true, false);
}
Tensor elu(const Tensor& x, double alpha) {
  return unary_op(Unary::Elu, alpha, x, true, true);
}
Tensor pow(const Tensor& x, double exponent) {
  return unary_op(Unary::Pow, exponent, x, true, true);
}

Tensor cast(const Tensor& x, DType dtype) {
  ATTEND_CHECK(x.defined(), "[cast] got an undefined tensor");
  if (x.dtype() == dtype) return x;
  ATTEND_CHECK(!(x.requires_grad() && dtype == DType::I64 && grad_mode_enabled()),
               "[cast] a tensor that requires a gradient cannot be cast to int64");
  Tensor out = x.copy_as(dtype);
  if (needs_grad({x}))
    record("cast", {x}, out,
           [from = x.dtype()](const Tensor& g) { return std::vector<Tensor>{g.copy_as(from)}; });
  return out;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  ATTEND_CHECK(g.defined(), "[sum_to] got an undefined tensor");
  if (g.shape() == shape) return g;
  const int lead = g.ndim() - shape.size();
  ATTEND_CHECK(lead >= 0, "[sum_to] cannot sum shape {} to the larger rank shape {}",
               g.shape().str(), shape.str());
  std::vector<int> dims;
  for (int i = 0; i < g.ndim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
      continue;
    }
    const int64_t t = shape[i - lead];
    ATTEND_CHECK(t == g.shape()[i] || t == 1, "[sum_to] shape {} cannot be summed to {}",
                 g.shape().str(), shape.str());
    if (t == 1 && g.shape()[i] != 1) dims.push_back(i);
  }
  Tensor r;
  {
    NoGradGuard no_grad;
    r = dims.empty() ? g.contiguous_data() : sum(g, dims, false);
  }
  Tensor out = r.as_strided(shape, contiguous_strides(shape), r.offset());
  if (needs_grad({g})) {
    record("sum_to", {g}, out, [from = g.shape(), shape](const Tensor& go) {
      // broadcast go (shape) back to `from`
      Tensor gc = go.contiguous_data();
      Strides st;
      st.resize(from.size());
      const Strides cs = contiguous_strides(shape);
      const int lead = from.size() - shape.size();
      for (int i = 0; i < from.size(); ++i) {
        const int j = i - lead;
        st[i] = (j < 0 || shape[j] == 1) ? 0 : cs[j];
      }
      Tensor out = Tensor::empty(from, go.dtype(), go.context());
      out.copy_from(gc.as_strided(from, st, gc.offset()));
      return std::vector<Tensor>{out};
    });
  }
  return out;
}

}  // namespace attend
