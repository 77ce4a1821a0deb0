// matmul and linear through kernels::gemm: operands are passed with transpose flags and leading
// dimensions taken from their strides, so transposed views are never copied.
#include "attend/ops/linalg.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>

#include "attend/autograd/node.h"
#include "attend/kernels/gemm.h"
#include "attend/ops/shape.h"

namespace attend {

namespace detail {
// Sums g over broadcast dims to `shape` (raw; defined in attend/ops/shape.cpp).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);
}  // namespace detail

namespace {

// How a logical (rows, cols) matrix with strides (sr, sc) reaches gemm: element (i, j) at
// i·ld + j (trans = false) or at i + j·ld (trans = true).
struct MatLayout {
  bool trans = false;
  int64_t ld = 1;
};

// The layout of a (rows, cols) matrix with strides (sr, sc); false when gemm cannot read it.
bool mat_layout(int64_t rows, int64_t cols, int64_t sr, int64_t sc, MatLayout& out) {
  if ((cols <= 1 || sc == 1) && (rows <= 1 || sr >= std::max<int64_t>(cols, 1))) {
    out = {false, rows <= 1 ? std::max<int64_t>(cols, 1) : sr};
    return true;
  }
  if ((rows <= 1 || sr == 1) && (cols <= 1 || sc >= std::max<int64_t>(rows, 1))) {
    out = {true, cols <= 1 ? std::max<int64_t>(rows, 1) : sc};
    return true;
  }
  return false;
}

// Layout of the last two dims of x, copying x to contiguous when gemm cannot read it.
MatLayout last_two_layout(Tensor& x) {
  int n = x.ndim();
  MatLayout l;
  if (!mat_layout(x.shape()[n - 2], x.shape()[n - 1], x.strides()[n - 2], x.strides()[n - 1], l)) {
    x = x.contiguous_data();
    mat_layout(x.shape()[n - 2], x.shape()[n - 1], x.strides()[n - 2], x.strides()[n - 1], l);
  }
  return l;
}

// Raw view with the last two dims swapped.
Tensor mT(const Tensor& x) {
  Shape s = x.shape();
  Strides st = x.strides();
  int n = x.ndim();
  std::swap(s[n - 1], s[n - 2]);
  std::swap(st[n - 1], st[n - 2]);
  return x.as_strided(s, st, x.offset());
}

Strides batch_strides(const Tensor& x, const Shape& batch) {
  Strides s;
  s.resize(batch.size());
  int lead = batch.size() - (x.ndim() - 2);
  for (int i = 0; i < batch.size(); ++i) {
    int j = i - lead;
    s[i] = (j < 0 || x.shape()[j] == 1) ? 0 : x.strides()[j];
  }
  return s;
}

Shape batch_shape(const Tensor& x) {
  return Shape(x.shape().begin(), x.shape().end() - 2);
}

// c = a @ b (raw): a (..., M, K), b (..., K, N), any strides, batch dims broadcast;
// c (batch..., M, N) contiguous.
Tensor bmm_raw(Tensor a, Tensor b) {
  int64_t m = a.shape()[a.ndim() - 2], k = a.shape()[a.ndim() - 1], n = b.shape()[b.ndim() - 1];
  Shape batch = broadcast_shapes(batch_shape(a), batch_shape(b), "matmul");
  MatLayout la = last_two_layout(a), lb = last_two_layout(b);
  Shape cshape = batch;
  cshape.push_back(m);
  cshape.push_back(n);
  Tensor c = Tensor::empty(cshape, a.dtype(), a.context());
  if (c.numel() == 0) return c;
  // Small products run on one thread: a fork costs more than the work.
  double flops = 2.0 * static_cast<double>(c.numel()) * static_cast<double>(k);
  int threads = flops < 1e5 ? 1 : a.context().threads();
  Strides sa = batch_strides(a, batch), sb = batch_strides(b, batch);
  Strides sc = contiguous_strides(cshape);
  // Merge the innermost batch dims that share one stride per operand into a strided group.
  int nb = batch.size(), split = nb;
  int64_t gn = 1, ga = 0, gb = 0, gc = 0;
  for (int i = nb - 1; i >= 0; --i) {
    if (batch[i] == 1) {
      split = i;
      continue;
    }
    if (gn == 1) {
      gn = batch[i], ga = sa[i], gb = sb[i], gc = sc[i];
    } else if (sa[i] == ga * gn && sb[i] == gb * gn && sc[i] == gc * gn) {
      gn *= batch[i];
    } else {
      break;
    }
    split = i;
  }
  kernels::GemmShape s{la.trans, lb.trans, m, n, k, la.ld, lb.ld, std::max<int64_t>(n, 1)};
  dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = c.data<T>();
    auto group = [&](int64_t oa, int64_t ob, int64_t oc) {
      if (gn == 1) {
        kernels::gemm(s, T(1), pa + oa, pb + ob, T(0), pc + oc, threads);
      } else if (gb == 0 && !la.trans && ga == m * la.ld && gc == m * n) {
        // b shared across the group and a's rows evenly spaced: one gemm of gn·M rows.
        kernels::GemmShape f = s;
        f.m = gn * m;
        kernels::gemm(f, T(1), pa + oa, pb + ob, T(0), pc + oc, threads);
      } else {
        kernels::gemm_batched(s, gn, T(1), pa + oa, ga, pb + ob, gb, T(0), pc + oc, gc, threads);
      }
    };
    // Outer batch dims [0, split): plain odometer over offsets.
    int64_t outer = 1;
    for (int i = 0; i < split; ++i) outer *= batch[i];
    int64_t idx[kMaxDims] = {0};
    int64_t oa = 0, ob = 0, oc = 0;
    for (int64_t it = 0; it < outer; ++it) {
      group(oa, ob, oc);
      for (int d = split - 1; d >= 0; --d) {
        if (++idx[d] < batch[d]) {
          oa += sa[d], ob += sb[d], oc += sc[d];
          break;
        }
        oa -= sa[d] * (batch[d] - 1), ob -= sb[d] * (batch[d] - 1), oc -= sc[d] * (batch[d] - 1);
        idx[d] = 0;
      }
    }
  });
  return c;
}

// a (..., M, K) seen as (rows·M, K) without a copy when its batch dims fold into rows.
Tensor fold_rows(const Tensor& a) {
  Tensor c = a.contiguous_data();
  int64_t k = a.shape()[a.ndim() - 1];
  return c.as_strided(Shape{c.numel() / std::max<int64_t>(k, 1), k}, Strides{k, 1}, c.offset());
}

// matmul for a and b of rank >= 2 (records its backward).
Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  Tensor out = bmm_raw(a, b);
  if (needs_grad({a, b}))
    record("matmul", {a, b}, out,
           [a, b, ra = a.requires_grad(),
            rb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
             Tensor da, db;
             // da = g · bᵀ (summed over a's broadcast batch dims)
             if (ra) da = detail::sum_to_shape(bmm_raw(g, mT(b)), a.shape()).contiguous_data();
             // db = aᵀ · g; a 2-d b shared by a batch: one GEMM over the folded rows.
             if (rb) {
               if (b.ndim() == 2 && g.ndim() > 2 && batch_shape(a) == batch_shape(g)) {
                 Tensor gf = fold_rows(g);
                 db = bmm_raw(mT(fold_rows(a)), gf);
               } else {
                 db = detail::sum_to_shape(bmm_raw(mT(a), g), b.shape()).contiguous_data();
               }
             }
             return {da, db};
           });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  ATTEND_CHECK(a.defined() && b.defined() && a.ndim() >= 1 && b.ndim() >= 1,
               "[matmul] needs operands of rank >= 1, got shapes {} and {}",
               a.defined() ? a.shape().str() : "undefined",
               b.defined() ? b.shape().str() : "undefined");
  ATTEND_CHECK(a.dtype() == b.dtype(),
               "[matmul] operands of shapes {} ({}) and {} ({}) differ in dtype", a.shape().str(),
               dtype_name(a.dtype()), b.shape().str(), dtype_name(b.dtype()));
  dispatch_float(a.dtype(), "matmul", [](auto) {});
  int64_t ka = a.shape()[a.ndim() - 1];
  int64_t kb = b.ndim() == 1 ? b.shape()[0] : b.shape()[b.ndim() - 2];
  ATTEND_CHECK(ka == kb, "[matmul] shapes {} and {} do not align", a.shape().str(),
               b.shape().str());
  // Batch dims (all but the last two) broadcast NumPy-style.
  for (int i = 3; i <= std::min(a.ndim(), b.ndim()); ++i) {
    int64_t da = a.shape()[a.ndim() - i], db = b.shape()[b.ndim() - i];
    ATTEND_CHECK(da == db || da == 1 || db == 1,
                 "[matmul] batch dimensions of shapes {} and {} cannot be broadcast",
                 a.shape().str(), b.shape().str());
  }
  if (a.ndim() == 1 && b.ndim() == 1)
    return squeeze(squeeze(matmul_nd(unsqueeze(a, 0), unsqueeze(b, 1)), -1), -1);
  if (a.ndim() == 1) return squeeze(matmul_nd(unsqueeze(a, 0), b), -2);
  if (b.ndim() == 1) return squeeze(matmul_nd(a, unsqueeze(b, 1)), -1);
  return matmul_nd(a, b);
}

namespace {

// y (rows, n) ← every row a copy of bias (n); one memmove-speed copy per row (the element loop
// was not vectorised: y and bias may alias as far as the compiler knows).
template <typename T>
void fill_rows(T* y, const T* bias, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) std::copy(bias, bias + n, y + r * n);
}

}  // namespace

// ---- PackedWeights -----------------------------------------------------------------------------

struct PackedWeights::Impl {
  std::mutex mutex;
  // the frozen storages, kept alive (so no other memory can take their addresses)
  std::map<const Storage*, std::shared_ptr<Storage>> frozen;
  // (storage, offset, out, in, trans, ld) -> Wᵀ in kernels::pack_b's panels
  std::map<std::tuple<const Storage*, int64_t, int64_t, int64_t, bool, int64_t>, std::vector<float>>
      packs;
};

namespace {
thread_local PackedWeights* t_packed_weights = nullptr;
}  // namespace

PackedWeights::Scope::Scope(PackedWeights& weights) : previous_(t_packed_weights) {
  t_packed_weights = &weights;
}

PackedWeights::Scope::~Scope() {
  t_packed_weights = previous_;
}

PackedWeights* PackedWeights::current() {
  return t_packed_weights;
}

void PackedWeights::freeze(const std::vector<Tensor>& tensors) {
  if (!impl_) impl_ = std::make_shared<Impl>();
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  for (const Tensor& t : tensors)
    if (t.defined() && t.storage()) impl_->frozen.emplace(t.storage().get(), t.storage());
}

const float* PackedWeights::packed(const Tensor& weight, bool trans, int64_t ld) {
  if (!impl_ || weight.dtype() != DType::F32 || !weight.storage()) return nullptr;
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  const Storage* storage = weight.storage().get();
  if (!impl_->frozen.count(storage)) return nullptr;
  const int64_t out = weight.size(0), in = weight.size(1);
  auto [it, fresh] = impl_->packs.try_emplace({storage, weight.offset(), out, in, trans, ld});
  if (fresh) {
    // op(B) = Wᵀ (in, out): B[p, j] = W[j, p], at j·ld + p (trans = false) or j + p·ld
    it->second.resize(kernels::packed_b_floats(in, out));
    kernels::pack_b(!trans, in, out, weight.data<float>(), ld, it->second.data());
  }
  return it->second.data();
}

size_t PackedWeights::count() const {
  if (!impl_) return 0;
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->packs.size();
}

// ---- linear -----------------------------------------------------------------------------------

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ATTEND_CHECK(x.defined() && weight.defined() && x.ndim() >= 1 && weight.ndim() == 2,
               "[linear] needs an input of rank >= 1 and a 2-d weight, got {} and {}",
               x.defined() ? x.shape().str() : "undefined",
               weight.defined() ? weight.shape().str() : "undefined");
  int64_t in = x.shape()[x.ndim() - 1], out_f = weight.shape()[0];
  ATTEND_CHECK(weight.shape()[1] == in,
               "[linear] input of shape {} does not match weight of shape {}", x.shape().str(),
               weight.shape().str());
  ATTEND_CHECK(x.dtype() == weight.dtype(), "[linear] input is {} but weight is {}",
               dtype_name(x.dtype()), dtype_name(weight.dtype()));
  if (bias.defined())
    ATTEND_CHECK(bias.ndim() == 1 && bias.shape()[0] == out_f && bias.dtype() == x.dtype(),
                 "[linear] bias of shape {} ({}) does not match weight of shape {}",
                 bias.shape().str(), dtype_name(bias.dtype()), weight.shape().str());
  dispatch_float(x.dtype(), "linear", [](auto) {});
  int64_t rows = x.numel() / std::max<int64_t>(in, 1);
  if (in == 0) {
    rows = 1;
    for (int i = 0; i + 1 < x.ndim(); ++i) rows *= x.shape()[i];
  }

  // x as a (rows, in) matrix: a 2-d view of any layout gemm reads, or folded leading dims.
  Tensor xm;
  MatLayout lx;
  if (x.ndim() == 2 && mat_layout(rows, in, x.strides()[0], x.strides()[1], lx)) {
    xm = x;
  } else {
    bool fold = x.ndim() == 1 || in <= 1 || x.strides()[x.ndim() - 1] == 1;
    int64_t ld = -1, span = 1;
    for (int i = x.ndim() - 2; i >= 0 && fold; --i) {
      if (x.shape()[i] == 1) continue;
      if (ld < 0) ld = x.strides()[i];
      fold = x.strides()[i] == ld * span;
      span *= x.shape()[i];
    }
    if (ld < std::max<int64_t>(in, 1)) ld = rows <= 1 ? std::max<int64_t>(in, 1) : -1;
    if (!fold || ld < 0) {
      xm = x.contiguous_data();
      ld = std::max<int64_t>(in, 1);
    } else {
      xm = x;
    }
    lx = {false, ld};
  }
  Tensor w = weight;
  MatLayout lw;
  if (!mat_layout(out_f, in, w.strides()[0], w.strides()[1], lw)) {
    w = w.contiguous_data();
    mat_layout(out_f, in, w.strides()[0], w.strides()[1], lw);
  }

  Shape yshape(x.shape().begin(), x.shape().end() - 1);
  yshape.push_back(out_f);
  Tensor y = Tensor::empty(yshape, x.dtype(), x.context());
  int threads = x.context().threads();
  dispatch_float(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    T beta = T(0);
    if (bias.defined()) {
      Tensor bc = bias.contiguous_data();
      fill_rows(y.data<T>(), bc.data<T>(), rows, out_f);
      beta = T(1);
    }
    // y (rows, out) = x (rows, in) · Wᵀ (in, out) [+ y]
    if constexpr (std::is_same_v<T, float>) {
      PackedWeights* pw = PackedWeights::current();
      if (pw && in > 0 && rows <= PackedWeights::kMaxRows && w.is_same(weight) &&
          !needs_grad({x, weight, bias}))
        if (const float* packed = pw->packed(weight, lw.trans, lw.ld)) {
          kernels::gemm_packed_b(lx.trans, rows, out_f, in, 1.0f, xm.data<float>(), lx.ld, packed,
                                 beta, y.data<float>(), out_f, threads);
          return;
        }
    }
    kernels::GemmShape s{lx.trans, !lw.trans, rows,  out_f,
                         in,       lx.ld,     lw.ld, std::max<int64_t>(out_f, 1)};
    kernels::gemm(s, T(1), xm.data<T>(), w.data<T>(), beta, y.data<T>(), threads);
  });

  if (needs_grad({x, weight, bias}))
    record("linear", {x, weight, bias}, y,
           [xm, lx, w, lw, xshape = x.shape(), rows, in, out_f, rx = x.requires_grad(),
            rw = weight.requires_grad(),
            rb = bias.defined() && bias.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
             Tensor gc = g.contiguous_data();  // (rows, out)
             Tensor dx, dw, db;
             int threads = gc.context().threads();
             dispatch_float(gc.dtype(), "linear", [&](auto tag) {
               using T = decltype(tag);
               const T* pg = gc.data<T>();
               if (rx) {
                 // dx (rows, in) = g (rows, out) · W (out, in)
                 dx = Tensor::empty(xshape, gc.dtype(), gc.context());
                 kernels::GemmShape s{false, lw.trans,
                                      rows,  in,
                                      out_f, std::max<int64_t>(out_f, 1),
                                      lw.ld, std::max<int64_t>(in, 1)};
                 kernels::gemm(s, T(1), pg, w.data<T>(), T(0), dx.data<T>(), threads);
               }
               if (rw) {
                 // dW (out, in) = gᵀ (out, rows) · x (rows, in)
                 dw = Tensor::empty(Shape{out_f, in}, gc.dtype(), gc.context());
                 kernels::GemmShape s{true,  lx.trans,
                                      out_f, in,
                                      rows,  std::max<int64_t>(out_f, 1),
                                      lx.ld, std::max<int64_t>(in, 1)};
                 kernels::gemm(s, T(1), pg, xm.data<T>(), T(0), dw.data<T>(), threads);
               }
               if (rb) {
                 // db (1, out) = 1 (1, rows) · g (rows, out)
                 db = Tensor::empty(Shape{out_f}, gc.dtype(), gc.context());
                 Tensor ones = Tensor::ones(Shape{rows}, gc.dtype(), gc.context());
                 kernels::GemmShape s{false, false, 1, out_f, rows, std::max<int64_t>(rows, 1),
                                      out_f, out_f};
                 kernels::gemm(s, T(1), ones.data<T>(), pg, T(0), db.data<T>(), threads);
               }
             });
             return {dx, dw, db};
           });
  return y;
}

}  // namespace attend
