// Reductions: sum, mean, var, max/min, argmax, cumsum. Forward and backward side by side.
#include "attend/ops/reduce.h"

#include <cmath>

#include "attend/autograd/node.h"
#include "attend/kernels/reduce.h"
#include "attend/ops/elementwise.h"

namespace attend {

namespace {

// Which dims are reduced, from a user dim list (empty = all).
struct Mask {
  bool r[kMaxDims] = {};
  int64_t count = 1;  // number of elements reduced into each output
};

Mask make_mask(const Tensor& x, const std::vector<int>& dims, const char* what) {
  Mask m;
  const int nd = x.ndim();
  if (dims.empty()) {
    for (int i = 0; i < nd; ++i) m.r[i] = true;
  } else {
    for (int d : dims) {
      const int k = normalize_dim(d, nd, what);
      ATTEND_CHECK(!m.r[k], "[{}] dimension {} is repeated", what, d);
      m.r[k] = true;
    }
  }
  for (int i = 0; i < nd; ++i)
    if (m.r[i]) m.count *= x.shape()[i];
  return m;
}

Shape keep_shape(const Shape& s, const Mask& m) {
  Shape out = s;
  for (int i = 0; i < s.size(); ++i)
    if (m.r[i]) out[i] = 1;
  return out;
}

Shape drop_shape(const Shape& s, const Mask& m) {
  Shape out;
  for (int i = 0; i < s.size(); ++i)
    if (!m.r[i]) out.push_back(s[i]);
  return out;
}

// A contiguous tensor viewed with another shape of the same numel.
Tensor view_as(const Tensor& t, const Shape& shape) {
  return t.as_strided(shape, contiguous_strides(shape), t.offset());
}

// (outer, n, inner) when the reduced dims form one block of x's layout (size-1 dims ignored).
bool three_block(const Shape& s, const Mask& m, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = n = inner = 1;
  int stage = 0;  // 0: before the block, 1: inside, 2: after
  for (int i = 0; i < s.size(); ++i) {
    if (s[i] == 1) continue;
    if (m.r[i]) {
      if (stage == 2) return false;
      stage = 1;
      n *= s[i];
    } else {
      if (stage == 1) stage = 2;
      (stage == 0 ? outer : inner) *= s[i];
    }
  }
  return true;
}

// Permutation putting kept dims first, reduced dims last (as a strided view of contiguous xc).
Tensor kept_first_view(const Tensor& xc, const Mask& m) {
  Shape shape;
  Strides strides;
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < xc.ndim(); ++i)
      if (m.r[i] == (pass == 1)) {
        shape.push_back(xc.shape()[i]);
        strides.push_back(xc.strides()[i]);
      }
  return xc.as_strided(shape, strides, xc.offset());
}

// Σ over the masked dims; result has the keepdim shape. No autograd.
Tensor sum_raw(const Tensor& x, const Mask& m) {
  Tensor xc = x.contiguous_data();
  Tensor out = Tensor::empty(keep_shape(x.shape(), m), x.dtype(), x.context());
  int64_t outer, n, inner;
  Tensor src = xc;
  if (!three_block(x.shape(), m, outer, n, inner)) {
    src = kept_first_view(xc, m).contiguous_data();
    n = m.count;
    inner = 1;
    outer = out.numel();
  }
  dispatch_float(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>)
      kernels::sum_reduce(src.data<T>(), out.data<T>(), outer, n, inner, x.context().threads());
    else
      kernels::sum_reduce_reference(src.data<T>(), out.data<T>(), outer, n, inner);
  });
  return out;
}

// g (keepdim numel) broadcast over the masked dims to `shape`, times `scale`. No autograd.
Tensor expand_raw(const Tensor& g, const Shape& shape, const Mask& m, double scale) {
  Tensor gc = g.contiguous_data();
  Tensor out = Tensor::empty(shape, g.dtype(), g.context());
  int64_t outer, n, inner;
  if (three_block(shape, m, outer, n, inner)) {
    dispatch_float(g.dtype(), "sum", [&](auto tag) {
      using T = decltype(tag);
      kernels::broadcast_middle(gc.data<T>(), out.data<T>(), outer, n, inner);
    });
  } else {
    Strides st = contiguous_strides(keep_shape(shape, m));
    for (int i = 0; i < shape.size(); ++i)
      if (m.r[i]) st[i] = 0;
    out.copy_from(gc.as_strided(shape, st, gc.offset()));
  }
  if (scale != 1.0) {
    dispatch_float(g.dtype(), "sum", [&](auto tag) {
      using T = decltype(tag);
      T* p = out.data<T>();
      const T s = static_cast<T>(scale);
      for (int64_t i = 0, e = out.numel(); i < e; ++i) p[i] *= s;
    });
  }
  return out;
}

void scale_inplace(const Tensor& t, double s) {
  dispatch_float(t.dtype(), "mean", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    const T v = static_cast<T>(s);
    for (int64_t i = 0, e = t.numel(); i < e; ++i) p[i] *= v;
  });
}

// sum or mean with autograd.
Tensor sum_mean(const Tensor& x, const std::vector<int>& dims, bool keepdim, bool is_mean) {
  const char* name = is_mean ? "mean" : "sum";
  ATTEND_CHECK(x.defined(), "[{}] got an undefined tensor", name);
  const Mask m = make_mask(x, dims, name);
  Tensor out = sum_raw(x, m);
  const double scale = is_mean ? 1.0 / static_cast<double>(m.count) : 1.0;
  if (is_mean) scale_inplace(out, scale);
  if (!keepdim) out = view_as(out, drop_shape(x.shape(), m));
  if (needs_grad({x})) {
    record(name, {x}, out, [shape = x.shape(), m, scale](const Tensor& g) {
      return std::vector<Tensor>{expand_raw(g, shape, m, scale)};
    });
  }
  return out;
}

// (outer, n, inner) around one dim of a shape.
void split_at(const Shape& s, int d, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = inner = 1;
  for (int i = 0; i < d; ++i) outer *= s[i];
  n = s[d];
  for (int i = d + 1; i < s.size(); ++i) inner *= s[i];
}

Shape reduced_shape(const Shape& s, int d, bool keepdim) {
  Shape out = s;
  if (keepdim)
    out[d] = 1;
  else
    out.erase(d);
  return out;
}

Tensor extremum(const Tensor& x, int dim, bool keepdim, bool is_min) {
  const char* name = is_min ? "min" : "max";
  ATTEND_CHECK(x.defined(), "[{}] got an undefined tensor", name);
  const int d = normalize_dim(dim, x.ndim(), name);
  ATTEND_CHECK(x.shape()[d] > 0, "[{}] cannot reduce over the empty dimension {} of shape {}", name,
               dim, x.shape().str());
  int64_t outer, n, inner;
  split_at(x.shape(), d, outer, n, inner);
  Tensor xc = x.contiguous_data();
  const Shape oshape = reduced_shape(x.shape(), d, keepdim);
  Tensor out = Tensor::empty(oshape, x.dtype(), x.context());
  const bool grad = needs_grad({x});
  Tensor idx = grad ? Tensor::empty(oshape, DType::I64, x.context()) : Tensor();
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    kernels::extremum_reduce(xc.data<T>(), out.data<T>(), grad ? idx.data<int64_t>() : nullptr,
                             outer, n, inner, is_min);
  });
  if (grad) {
    record(name, {x}, out, [shape = x.shape(), idx, outer, n, inner](const Tensor& g) {
      Tensor gc = g.contiguous_data();
      Tensor dx = Tensor::zeros(shape, g.dtype(), g.context());
      const int64_t* ip = idx.data<int64_t>();
      dispatch_float(g.dtype(), "max", [&](auto tag) {
        using T = decltype(tag);
        const T* gp = gc.data<T>();
        T* dp = dx.data<T>();
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i)
            dp[(o * n + ip[o * inner + i]) * inner + i] = gp[o * inner + i];
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return sum_mean(x, dims, keepdim, false);
}

Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return sum_mean(x, dims, keepdim, true);
}

Tensor var(const Tensor& x, const std::vector<int>& dims, bool unbiased, bool keepdim) {
  ATTEND_CHECK(x.defined(), "[var] got an undefined tensor");
  const Mask m = make_mask(x, dims, "var");
  const double denom = static_cast<double>(m.count) - (unbiased ? 1.0 : 0.0);
  Tensor centered, out;
  {
    NoGradGuard no_grad;
    Tensor mu = sum_raw(x, m);
    scale_inplace(mu, 1.0 / static_cast<double>(m.count));
    centered = sub(x, mu);  // (x − mean), x's shape
    out = sum_raw(mul(centered, centered), m);
    scale_inplace(out, 1.0 / denom);
  }
  if (!keepdim) out = view_as(out, drop_shape(x.shape(), m));
  if (needs_grad({x})) {
    // dx = g · 2 (x − mean) / (n − ddof)
    record("var", {x}, out,
           [centered, m, denom, kshape = keep_shape(x.shape(), m)](const Tensor& g) {
             Tensor gk = view_as(g.contiguous_data(), kshape);
             return std::vector<Tensor>{mul(mul(centered, gk), 2.0 / denom)};
           });
  }
  return out;
}

Tensor max(const Tensor& x, int dim, bool keepdim) {
  return extremum(x, dim, keepdim, false);
}

Tensor min(const Tensor& x, int dim, bool keepdim) {
  return extremum(x, dim, keepdim, true);
}

Tensor argmax(const Tensor& x, int dim, bool keepdim) {
  ATTEND_CHECK(x.defined(), "[argmax] got an undefined tensor");
  const int d = normalize_dim(dim, x.ndim(), "argmax");
  ATTEND_CHECK(x.shape()[d] > 0, "[argmax] cannot reduce over the empty dimension {} of shape {}",
               dim, x.shape().str());
  int64_t outer, n, inner;
  split_at(x.shape(), d, outer, n, inner);
  Tensor xc = x.contiguous_data();
  const Shape oshape = reduced_shape(x.shape(), d, keepdim);
  Tensor vals = Tensor::empty(oshape, x.dtype(), x.context());
  Tensor idx = Tensor::empty(oshape, DType::I64, x.context());
  dispatch_float(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    kernels::extremum_reduce(xc.data<T>(), vals.data<T>(), idx.data<int64_t>(), outer, n, inner,
                             false);
  });
  return idx;
}

Tensor cumsum(const Tensor& x, int dim) {
  ATTEND_CHECK(x.defined(), "[cumsum] got an undefined tensor");
  const int d = normalize_dim(dim, x.ndim() == 0 ? 1 : x.ndim(), "cumsum");
  int64_t outer = 1, n = 1, inner = 1;
  if (x.ndim() > 0) split_at(x.shape(), d, outer, n, inner);
  Tensor xc = x.contiguous_data();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.context());
  dispatch_float(x.dtype(), "cumsum", [&](auto tag) {
    using T = decltype(tag);
    kernels::cumsum(xc.data<T>(), out.data<T>(), outer, n, inner, false);
  });
  if (needs_grad({x})) {
    // dx[r] = Σ_{k ≥ r} g[k]
    record("cumsum", {x}, out, [outer, n, inner](const Tensor& g) {
      Tensor gc = g.contiguous_data();
      Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.context());
      dispatch_float(g.dtype(), "cumsum", [&](auto tag) {
        using T = decltype(tag);
        kernels::cumsum(gc.data<T>(), dx.data<T>(), outer, n, inner, true);
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace attend
