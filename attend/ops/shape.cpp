// Views, layout and indexing ops with their backward rules.
#include "attend/ops/shape.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "attend/autograd/node.h"

namespace attend {

namespace {

// Calls f(offsets) for every element of `shape` in row-major order; offsets[k] walks strides[k]
// from 0 (element offsets relative to each operand's first element).
template <int N, typename F>
void for_each_offsets(const Shape& shape, const std::array<const Strides*, N>& strides, F&& f) {
  int n = shape.size();
  int64_t total = shape.numel();
  if (total == 0) return;
  std::array<int64_t, N> off{};
  if (n == 0) {
    f(off);
    return;
  }
  int64_t inner = shape[n - 1];
  std::array<int64_t, N> inner_stride;
  for (int k = 0; k < N; ++k) inner_stride[k] = (*strides[k])[n - 1];
  int64_t idx[kMaxDims] = {0};
  for (int64_t done = 0; done < total; done += inner) {
    std::array<int64_t, N> o = off;
    for (int64_t i = 0; i < inner; ++i) {
      f(o);
      for (int k = 0; k < N; ++k) o[k] += inner_stride[k];
    }
    for (int d = n - 2; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        for (int k = 0; k < N; ++k) off[k] += (*strides[k])[d];
        break;
      }
      for (int k = 0; k < N; ++k) off[k] -= (*strides[k])[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

// Dispatches on any dtype (float, double, int64).
template <typename F>
auto dispatch_any(DType t, F&& f) {
  switch (t) {
    case DType::F32:
      return f(float{});
    case DType::F64:
      return f(double{});
    case DType::I64:
      return f(int64_t{});
  }
  return f(float{});
}

// Strides of x seen as `out` under broadcasting: 0 on stretched and missing leading dims.
Strides broadcast_strides(const Tensor& x, const Shape& out) {
  Strides s;
  s.resize(out.size());
  int lead = out.size() - x.ndim();
  for (int i = 0; i < out.size(); ++i) {
    int j = i - lead;
    s[i] = (j < 0 || (x.shape()[j] == 1 && out[i] != 1)) ? 0 : x.strides()[j];
  }
  return s;
}

// Resolves one -1 in `shape` against numel; checks the element count.
Shape infer_shape(const Shape& shape, int64_t numel, const char* what, const Shape& from) {
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      ATTEND_CHECK(infer < 0, "[{}] only one dimension of {} can be -1", what, shape.str());
      infer = i;
    } else {
      ATTEND_CHECK(out[i] >= 0, "[{}] invalid dimension {} in shape {}", what, out[i], shape.str());
      known *= out[i];
    }
  }
  if (infer >= 0) {
    ATTEND_CHECK(known != 0 && numel % known == 0, "[{}] shape {} is invalid for input of shape {}",
                 what, shape.str(), from.str());
    out[infer] = numel / known;
  }
  ATTEND_CHECK(out.numel() == numel, "[{}] shape {} is invalid for input of shape {}", what,
               shape.str(), from.str());
  return out;
}

// Strides that view (old_shape, old_strides) as new_shape without copying (PyTorch's
// computeStride); false when the layout does not allow it.
bool view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape,
                  Strides& out) {
  if (old_shape.numel() == 0 || old_shape.size() == 0) {
    out = contiguous_strides(new_shape);
    return true;
  }
  out.resize(new_shape.size());
  int view_d = new_shape.size() - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int tensor_d = old_shape.size() - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[tensor_d];
    if (tensor_d == 0 || (old_shape[tensor_d - 1] != 1 &&
                          old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[tensor_d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

// Zeros of `shape` with g copied into the view (shape of g, `strides`, `offset`) of it.
Tensor scatter_into_zeros(const Tensor& g, const Shape& shape, const Strides& strides,
                          int64_t offset) {
  Tensor z = Tensor::zeros(shape, g.dtype(), g.context());
  z.as_strided(g.shape(), strides, offset).copy_from(g);
  return z;
}

// Reads mask element as bool (any dtype).
template <typename M>
inline bool nonzero(M v) {
  return v != M(0);
}

}  // namespace

namespace detail {

// Sums g over broadcast dims so that it has `shape` (raw, no autograd); g itself when equal.
Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  ATTEND_CHECK(shape.numel() == 0 || broadcast_shapes(shape, g.shape(), "sum_to") == g.shape(),
               "[sum_to] shape {} does not broadcast to {}", shape.str(), g.shape().str());
  Tensor out = Tensor::zeros(shape, g.dtype(), g.context());
  Strides os = broadcast_strides(out, g.shape());
  dispatch_float(g.dtype(), "sum_to", [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T* s = g.data<T>();
    for_each_offsets<2>(g.shape(), {&os, &g.strides()},
                        [&](const std::array<int64_t, 2>& k) { o[k[0]] += s[k[1]]; });
  });
  return out;
}

}  // namespace detail

// ---- views ---------------------------------------------------------------------------------

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape target = infer_shape(shape, x.numel(), "reshape", x.shape());
  Strides st;
  Tensor out;
  if (view_strides(x.shape(), x.strides(), target, st)) {
    out = x.as_strided(target, st, x.offset());
  } else {
    Tensor c = Tensor::empty(target, x.dtype(), x.context());
    c.as_strided(x.shape(), contiguous_strides(x.shape()), 0).copy_from(x);
    out = c;
  }
  if (needs_grad({x}))
    record("reshape", {x}, out,
           [in = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {reshape(g, in)}; });
  return out;
}

Tensor flatten(const Tensor& x, int start_dim, int end_dim) {
  if (x.ndim() == 0) return reshape(x, Shape{1});
  int s = normalize_dim(start_dim, x.ndim(), "flatten");
  int e = normalize_dim(end_dim, x.ndim(), "flatten");
  ATTEND_CHECK(s <= e, "[flatten] start_dim {} comes after end_dim {}", start_dim, end_dim);
  Shape shape;
  for (int i = 0; i < s; ++i) shape.push_back(x.shape()[i]);
  int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= x.shape()[i];
  shape.push_back(merged);
  for (int i = e + 1; i < x.ndim(); ++i) shape.push_back(x.shape()[i]);
  return reshape(x, shape);
}

Tensor squeeze(const Tensor& x, int dim) {
  if (x.ndim() == 0) return x;
  int d = normalize_dim(dim, x.ndim(), "squeeze");
  if (x.shape()[d] != 1) return x;
  Shape shape = x.shape();
  Strides st = x.strides();
  shape.erase(d);
  st.erase(d);
  Tensor out = x.as_strided(shape, st, x.offset());
  if (needs_grad({x}))
    record("squeeze", {x}, out,
           [d](const Tensor& g) -> std::vector<Tensor> { return {unsqueeze(g, d)}; });
  return out;
}

Tensor unsqueeze(const Tensor& x, int dim) {
  int d = normalize_dim(dim, x.ndim() + 1, "unsqueeze");
  Shape shape = x.shape();
  Strides st = x.strides();
  int64_t stride = d < x.ndim() ? x.shape()[d] * x.strides()[d] : 1;
  shape.insert(d, 1);
  st.insert(d, stride);
  Tensor out = x.as_strided(shape, st, x.offset());
  if (needs_grad({x}))
    record("unsqueeze", {x}, out,
           [d](const Tensor& g) -> std::vector<Tensor> { return {squeeze(g, d)}; });
  return out;
}

namespace {

// Raw permuted view; `perm` is already normalized.
Tensor permute_view(const Tensor& x, const int* perm) {
  Shape shape;
  Strides st;
  shape.resize(x.ndim());
  st.resize(x.ndim());
  for (int i = 0; i < x.ndim(); ++i) {
    shape[i] = x.shape()[perm[i]];
    st[i] = x.strides()[perm[i]];
  }
  return x.as_strided(shape, st, x.offset());
}

Tensor permute_impl(const Tensor& x, const std::array<int, kMaxDims>& perm) {
  Tensor out = permute_view(x, perm.data());
  if (needs_grad({x})) {
    std::array<int, kMaxDims> inv{};
    for (int i = 0; i < x.ndim(); ++i) inv[perm[i]] = i;
    // The gradient is returned contiguous so downstream backward rules see plain layouts.
    record("permute", {x}, out, [inv](const Tensor& g) -> std::vector<Tensor> {
      return {permute_view(g, inv.data()).contiguous_data()};
    });
  }
  return out;
}

}  // namespace

Tensor permute(const Tensor& x, const std::vector<int>& dims) {
  int n = x.ndim();
  ATTEND_CHECK(static_cast<int>(dims.size()) == n, "[permute] {} dims given for a {}-d tensor",
               dims.size(), n);
  std::array<int, kMaxDims> perm{};
  bool seen[kMaxDims] = {false};
  for (int i = 0; i < n; ++i) {
    int d = normalize_dim(dims[i], n, "permute");
    ATTEND_CHECK(!seen[d], "[permute] dimension {} repeated", dims[i]);
    seen[d] = true;
    perm[i] = d;
  }
  return permute_impl(x, perm);
}

Tensor transpose(const Tensor& x, int dim0, int dim1) {
  int n = x.ndim();
  int a = normalize_dim(dim0, n, "transpose"), b = normalize_dim(dim1, n, "transpose");
  std::array<int, kMaxDims> perm{};
  for (int i = 0; i < n; ++i) perm[i] = i;
  std::swap(perm[a], perm[b]);
  return permute_impl(x, perm);
}

Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end, int64_t step) {
  int d = normalize_dim(dim, x.ndim(), "slice");
  ATTEND_CHECK(step > 0, "[slice] step must be positive, got {}", step);
  int64_t n = x.shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  int64_t len = (end - start + step - 1) / step;
  Shape shape = x.shape();
  Strides st = x.strides();
  shape[d] = len;
  st[d] *= step;
  Tensor out = x.as_strided(shape, st, x.offset() + start * x.strides()[d]);
  if (needs_grad({x}))
    record("slice", {x}, out,
           [in = x.shape(), d, start, step](const Tensor& g) -> std::vector<Tensor> {
             Strides cs = contiguous_strides(in);
             int64_t off = start * cs[d];
             cs[d] *= step;
             return {scatter_into_zeros(g, in, cs, off)};
           });
  return out;
}

Tensor select(const Tensor& x, int dim, int64_t index) {
  int d = normalize_dim(dim, x.ndim(), "select");
  int64_t n = x.shape()[d];
  ATTEND_CHECK(index >= -n && index < n,
               "[select] index {} is out of range for dimension {} of size {}", index, dim, n);
  if (index < 0) index += n;
  Shape shape = x.shape();
  Strides st = x.strides();
  shape.erase(d);
  st.erase(d);
  Tensor out = x.as_strided(shape, st, x.offset() + index * x.strides()[d]);
  if (needs_grad({x}))
    record("select", {x}, out, [in = x.shape(), d, index](const Tensor& g) -> std::vector<Tensor> {
      Strides cs = contiguous_strides(in);
      int64_t off = index * cs[d];
      cs.erase(d);
      return {scatter_into_zeros(g, in, cs, off)};
    });
  return out;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  int n = shape.size(), lead = n - x.ndim();
  ATTEND_CHECK(lead >= 0, "[expand] cannot expand shape {} to {}", x.shape().str(), shape.str());
  Shape out_shape;
  Strides st;
  out_shape.resize(n);
  st.resize(n);
  for (int i = 0; i < n; ++i) {
    int j = i - lead;
    if (j < 0) {
      ATTEND_CHECK(shape[i] >= 0, "[expand] cannot expand shape {} to {}", x.shape().str(),
                   shape.str());
      out_shape[i] = shape[i];
      st[i] = 0;
      continue;
    }
    int64_t have = x.shape()[j];
    int64_t want = shape[i] == -1 ? have : shape[i];
    ATTEND_CHECK(want == have || have == 1, "[expand] cannot expand shape {} to {}",
                 x.shape().str(), shape.str());
    out_shape[i] = want;
    st[i] = want == have ? x.strides()[j] : 0;
  }
  Tensor out = x.as_strided(out_shape, st, x.offset());
  if (needs_grad({x}))
    record("expand", {x}, out, [in = x.shape()](const Tensor& g) -> std::vector<Tensor> {
      return {detail::sum_to_shape(g, in).contiguous_data()};
    });
  return out;
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = x.contiguous_data();
  if (needs_grad({x}))
    record("contiguous", {x}, out, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
  return out;
}

namespace {

// Calls f(out_index, in_offset) over out_shape (row-major) where the input index is out_index
// modulo in_shape per dim (tiling); in_shape and out_shape have the same rank.
template <typename F>
void for_each_tiled(const Shape& out_shape, const Shape& in_shape, const Strides& in_strides,
                    F&& f) {
  int n = out_shape.size();
  int64_t total = out_shape.numel();
  if (total == 0) return;
  int64_t idx[kMaxDims] = {0}, sub[kMaxDims] = {0};
  int64_t off = 0;
  for (int64_t i = 0; i < total; ++i) {
    f(i, off);
    for (int d = n - 1; d >= 0; --d) {
      if (++sub[d] == in_shape[d]) {
        sub[d] = 0;
        off -= in_strides[d] * (in_shape[d] - 1);
      } else {
        off += in_strides[d];
      }
      if (++idx[d] < out_shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats) {
  int n = static_cast<int>(repeats.size());
  ATTEND_CHECK(n >= x.ndim(), "[repeat] {} repeats given for a {}-d tensor of shape {}", n,
               x.ndim(), x.shape().str());
  int lead = n - x.ndim();
  Shape in_shape, out_shape;
  Strides in_st;
  for (int i = 0; i < n; ++i) {
    ATTEND_CHECK(repeats[i] >= 0, "[repeat] negative repeat count {}", repeats[i]);
    int j = i - lead;
    int64_t s = j < 0 ? 1 : x.shape()[j];
    in_shape.push_back(s);
    in_st.push_back(j < 0 ? 0 : x.strides()[j]);
    out_shape.push_back(s * repeats[i]);
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.context());
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    for_each_tiled(out_shape, in_shape, in_st, [&](int64_t i, int64_t off) { dst[i] = src[off]; });
  });
  if (needs_grad({x}))
    record("repeat", {x}, out,
           [in = x.shape(), in_shape, out_shape](const Tensor& g) -> std::vector<Tensor> {
             Tensor gc = g.contiguous_data();
             Tensor gx = Tensor::zeros(in, g.dtype(), g.context());
             Strides cs = contiguous_strides(in_shape);
             dispatch_float(g.dtype(), "repeat", [&](auto tag) {
               using T = decltype(tag);
               const T* s = gc.data<T>();
               T* d = gx.data<T>();
               for_each_tiled(out_shape, in_shape, cs,
                              [&](int64_t i, int64_t off) { d[off] += s[i]; });
             });
             return {gx};
           });
  return out;
}

// ---- joining and splitting -------------------------------------------------------------------

namespace {

// The backward of concat along d: g's pieces along d, one per input.
void record_concat(const std::vector<Tensor>& xs, const Tensor& out, int d) {
  std::vector<int64_t> sizes;
  sizes.reserve(xs.size());
  for (const Tensor& x : xs) sizes.push_back(x.shape()[d]);
  record("concat", xs, out, [sizes = std::move(sizes), d](const Tensor& g) {
    std::vector<Tensor> grads;
    grads.reserve(sizes.size());
    Shape shape = g.shape();
    int64_t pos = 0;
    for (int64_t s : sizes) {
      shape[d] = s;
      grads.push_back(
          (g.as_strided(shape, g.strides(), g.offset() + pos * g.strides()[d])).contiguous_data());
      pos += s;
    }
    return grads;
  });
}

// The backward of stack along d: g's slices along d, one per input.
void record_stack(const std::vector<Tensor>& xs, const Tensor& out, int d) {
  record("stack", xs, out, [n = xs.size(), d](const Tensor& g) {
    std::vector<Tensor> grads;
    grads.reserve(n);
    Shape shape = g.shape();
    Strides st = g.strides();
    int64_t step = st[d];
    shape.erase(d);
    st.erase(d);
    for (size_t i = 0; i < n; ++i)
      grads.push_back(
          (g.as_strided(shape, st, g.offset() + static_cast<int64_t>(i) * step)).contiguous_data());
    return grads;
  });
}

// True when the xs (of one dtype) are contiguous and lie back to back in one storage, in order.
bool back_to_back(const std::vector<Tensor>& xs) {
  if (xs.empty()) return false;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    if (!x.defined() || !x.is_contiguous() || x.dtype() != xs[0].dtype() ||
        x.storage() != xs[0].storage())
      return false;
    if (i > 0 && x.offset() != xs[i - 1].offset() + xs[i - 1].numel()) return false;
  }
  return true;
}

}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int dim) {
  ATTEND_CHECK(!xs.empty(), "[concat] needs at least one tensor");
  const Tensor& ref = xs[0];
  int d = normalize_dim(dim, ref.ndim(), "concat");
  Shape shape = ref.shape();
  int64_t total = 0;
  for (const Tensor& x : xs) {
    ATTEND_CHECK(x.ndim() == ref.ndim() && x.dtype() == ref.dtype(),
                 "[concat] tensors of shapes {} ({}) and {} ({}) cannot be joined",
                 ref.shape().str(), dtype_name(ref.dtype()), x.shape().str(),
                 dtype_name(x.dtype()));
    for (int i = 0; i < ref.ndim(); ++i)
      ATTEND_CHECK(i == d || x.shape()[i] == ref.shape()[i],
                   "[concat] shapes {} and {} differ outside dimension {}", ref.shape().str(),
                   x.shape().str(), dim);
    total += x.shape()[d];
  }
  shape[d] = total;
  Tensor out = Tensor::empty(shape, ref.dtype(), ref.context());
  int64_t pos = 0;
  for (const Tensor& x : xs) {
    out.as_strided(x.shape(), out.strides(), pos * out.strides()[d]).copy_from(x);
    pos += x.shape()[d];
  }
  if (needs_grad(xs)) record_concat(xs, out, d);
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int dim) {
  ATTEND_CHECK(!xs.empty(), "[stack] needs at least one tensor");
  const Tensor& ref = xs[0];
  int d = normalize_dim(dim, ref.ndim() + 1, "stack");
  for (const Tensor& x : xs)
    ATTEND_CHECK(x.shape() == ref.shape() && x.dtype() == ref.dtype(),
                 "[stack] tensors of shapes {} ({}) and {} ({}) cannot be stacked",
                 ref.shape().str(), dtype_name(ref.dtype()), x.shape().str(),
                 dtype_name(x.dtype()));
  Shape shape = ref.shape();
  shape.insert(d, static_cast<int64_t>(xs.size()));
  Tensor out = Tensor::empty(shape, ref.dtype(), ref.context());
  Strides st = out.strides();
  int64_t step = st[d];
  st.erase(d);
  for (size_t i = 0; i < xs.size(); ++i)
    out.as_strided(ref.shape(), st, static_cast<int64_t>(i) * step).copy_from(xs[i]);
  if (needs_grad(xs)) record_stack(xs, out, d);
  return out;
}

Tensor concat_params(const std::vector<Tensor>& xs) {
  if (!back_to_back(xs) || xs[0].ndim() == 0) return concat(xs, 0);
  Shape shape = xs[0].shape();
  shape[0] = 0;
  for (const Tensor& x : xs) {
    if (x.ndim() != shape.size()) return concat(xs, 0);  // concat's error
    for (int i = 1; i < x.ndim(); ++i)
      if (x.shape()[i] != shape[i]) return concat(xs, 0);
    shape[0] += x.shape()[0];
  }
  Tensor out = xs[0].as_strided(shape, contiguous_strides(shape), xs[0].offset());
  if (needs_grad(xs)) record_concat(xs, out, 0);
  return out;
}

Tensor stack_params(const std::vector<Tensor>& xs) {
  bool same_shapes = back_to_back(xs);
  for (const Tensor& x : xs) same_shapes = same_shapes && x.shape() == xs[0].shape();
  if (!same_shapes) return stack(xs, 0);
  Shape shape = xs[0].shape();
  shape.insert(0, static_cast<int64_t>(xs.size()));
  Tensor out = xs[0].as_strided(shape, contiguous_strides(shape), xs[0].offset());
  if (needs_grad(xs)) record_stack(xs, out, 0);
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim) {
  int d = normalize_dim(dim, x.ndim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    ATTEND_CHECK(s >= 0, "[split] negative piece size {}", s);
    total += s;
  }
  ATTEND_CHECK(total == x.shape()[d],
               "[split] sizes add up to {} but dimension {} of shape {} has size {}", total, dim,
               x.shape().str(), x.shape()[d]);
  std::vector<Tensor> pieces;
  pieces.reserve(sizes.size());
  Shape shape = x.shape();
  int64_t pos = 0;
  for (int64_t s : sizes) {
    shape[d] = s;
    pieces.push_back(x.as_strided(shape, x.strides(), x.offset() + pos * x.strides()[d]));
    pos += s;
  }
  if (needs_grad({x}))
    record_multi(
        "split", {x}, pieces, [in = x.shape(), sizes, d](const std::vector<Tensor>& grads) {
          const Tensor* any = nullptr;
          for (const Tensor& g : grads)
            if (g.defined()) any = &g;
          Tensor gx = Tensor::zeros(in, any->dtype(), any->context());
          int64_t pos = 0;
          Shape shape = in;
          for (size_t i = 0; i < sizes.size(); ++i) {
            shape[d] = sizes[i];
            if (grads[i].defined())
              gx.as_strided(shape, gx.strides(), pos * gx.strides()[d]).copy_from(grads[i]);
            pos += sizes[i];
          }
          return std::vector<Tensor>{gx};
        });
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int dim) {
  int d = normalize_dim(dim, x.ndim(), "split");
  ATTEND_CHECK(size > 0, "[split] piece size must be positive, got {}", size);
  int64_t n = x.shape()[d];
  std::vector<int64_t> sizes;
  for (int64_t pos = 0; pos < n; pos += size) sizes.push_back(std::min(size, n - pos));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, dim);
}

// ---- indexing --------------------------------------------------------------------------------

Tensor index_select(const Tensor& x, int dim, const Tensor& index) {
  int d = normalize_dim(dim, x.ndim(), "index_select");
  ATTEND_CHECK(index.dtype() == DType::I64 && index.ndim() <= 1,
               "[index_select] index must be a 1-d int64 tensor, got {} of shape {}",
               dtype_name(index.dtype()), index.shape().str());
  Tensor idx = index.contiguous_data();
  const int64_t* ip = idx.data<int64_t>();
  int64_t k = idx.numel(), n = x.shape()[d];
  for (int64_t i = 0; i < k; ++i)
    ATTEND_CHECK(ip[i] >= 0 && ip[i] < n,
                 "[index_select] index {} is out of range for dimension {} of size {}", ip[i], dim,
                 n);
  Shape shape = x.shape();
  shape[d] = k;
  Tensor xc = x.contiguous_data();
  Tensor out = Tensor::empty(shape, x.dtype(), x.context());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int i = d + 1; i < x.ndim(); ++i) inner *= x.shape()[i];
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* s = xc.data<T>();
    T* o = out.data<T>();
    for (int64_t a = 0; a < outer; ++a)
      for (int64_t i = 0; i < k; ++i)
        std::memcpy(o + (a * k + i) * inner, s + (a * n + ip[i]) * inner, inner * sizeof(T));
  });
  if (needs_grad({x}))
    record("index_select", {x}, out,
           [in = x.shape(), idx, outer, inner, n, k](const Tensor& g) -> std::vector<Tensor> {
             Tensor gc = g.contiguous_data();
             Tensor gx = Tensor::zeros(in, g.dtype(), g.context());
             const int64_t* ip = idx.data<int64_t>();
             dispatch_float(g.dtype(), "index_select", [&](auto tag) {
               using T = decltype(tag);
               const T* s = gc.data<T>();
               T* o = gx.data<T>();
               for (int64_t a = 0; a < outer; ++a)
                 for (int64_t i = 0; i < k; ++i) {
                   T* dst = o + (a * n + ip[i]) * inner;
                   const T* src = s + (a * k + i) * inner;
                   for (int64_t j = 0; j < inner; ++j) dst[j] += src[j];
                 }
             });
             return {gx};
           });
  return out;
}

Tensor argsort(const Tensor& x, int dim) {
  ATTEND_CHECK(x.defined(), "[argsort] got an undefined tensor");
  const int d = normalize_dim(dim, x.ndim(), "argsort");
  Tensor idx = Tensor::empty(x.shape(), DType::I64, x.context());  // contiguous
  const int64_t n = x.shape()[d];
  int64_t inner = 1;
  for (int i = d + 1; i < x.ndim(); ++i) inner *= x.shape()[i];
  const int64_t outer = n == 0 ? 0 : x.numel() / (n * inner);
  Tensor xc = x.contiguous_data();
  int64_t* ip = idx.data<int64_t>();
  dispatch_float(x.dtype(), "argsort", [&](auto tag) {
    using T = decltype(tag);
    const T* v = xc.data<T>();
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k) {
        const T* row = v + o * n * inner + k;  // row[j * inner], j < n
        for (int64_t j = 0; j < n; ++j) order[j] = j;
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          const T va = row[a * inner], vb = row[b * inner];
          return std::isnan(vb) ? !std::isnan(va) : va < vb;  // NaN after every number
        });
        for (int64_t j = 0; j < n; ++j) ip[(o * n + j) * inner + k] = order[j];
      }
  });
  return idx;
}

Tensor sort(const Tensor& x, int dim) {
  return gather(x, dim, argsort(x, dim));
}

Tensor gather(const Tensor& x, int dim, const Tensor& index) {
  int d = normalize_dim(dim, x.ndim(), "gather");
  ATTEND_CHECK(index.dtype() == DType::I64 && index.ndim() == x.ndim(),
               "[gather] index must be an int64 tensor of the input's rank {}, got {} of shape {}",
               x.ndim(), dtype_name(index.dtype()), index.shape().str());
  for (int i = 0; i < x.ndim(); ++i)
    ATTEND_CHECK(i == d || index.shape()[i] <= x.shape()[i],
                 "[gather] index shape {} exceeds input shape {} outside dimension {}",
                 index.shape().str(), x.shape().str(), dim);
  int64_t n = x.shape()[d], xstride = x.strides()[d];
  Strides xs = x.strides();
  xs[d] = 0;  // the index supplies the position along d
  const int64_t* ip = index.data<int64_t>();
  for_each_offsets<1>(index.shape(), {&index.strides()}, [&](const std::array<int64_t, 1>& o) {
    int64_t v = ip[o[0]];
    ATTEND_CHECK(v >= 0 && v < n, "[gather] index {} is out of range for dimension {} of size {}",
                 v, dim, n);
  });
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.context());
  Strides os = out.strides();
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* s = x.data<T>();
    T* dst = out.data<T>();
    for_each_offsets<3>(
        index.shape(), {&os, &xs, &index.strides()},
        [&](const std::array<int64_t, 3>& o) { dst[o[0]] = s[o[1] + ip[o[2]] * xstride]; });
  });
  if (needs_grad({x}))
    record("gather", {x}, out, [in = x.shape(), index, d](const Tensor& g) -> std::vector<Tensor> {
      Tensor gx = Tensor::zeros(in, g.dtype(), g.context());
      Strides xs = gx.strides();
      int64_t xstride = xs[d];
      xs[d] = 0;
      const int64_t* ip = index.data<int64_t>();
      dispatch_float(g.dtype(), "gather", [&](auto tag) {
        using T = decltype(tag);
        const T* s = g.data<T>();
        T* o = gx.data<T>();
        for_each_offsets<3>(
            index.shape(), {&g.strides(), &xs, &index.strides()},
            [&](const std::array<int64_t, 3>& k) { o[k[1] + ip[k[2]] * xstride] += s[k[0]]; });
      });
      return {gx};
    });
  return out;
}

namespace {

// out = (mask != 0) ? value : x, with x of the output shape and mask broadcast to it.
Tensor masked_fill_raw(const Tensor& x, const Tensor& mask, double value) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.context());
  Strides ms = broadcast_strides(mask, x.shape());
  Strides os = out.strides();
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* s = x.data<T>();
    T* o = out.data<T>();
    T v = static_cast<T>(value);
    dispatch_any(mask.dtype(), [&](auto mtag) {
      using M = decltype(mtag);
      const M* m = mask.data<M>();
      for_each_offsets<3>(
          x.shape(), {&os, &x.strides(), &ms},
          [&](const std::array<int64_t, 3>& k) { o[k[0]] = nonzero(m[k[2]]) ? v : s[k[1]]; });
    });
  });
  return out;
}

// out = cond ? a : b over the broadcast shape (raw).
Tensor where_raw(const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& shape) {
  Tensor out = Tensor::empty(shape, a.dtype(), a.context());
  Strides cs = broadcast_strides(cond, shape), as = broadcast_strides(a, shape),
          bs = broadcast_strides(b, shape), os = out.strides();
  dispatch_any(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* o = out.data<T>();
    dispatch_any(cond.dtype(), [&](auto mtag) {
      using M = decltype(mtag);
      const M* m = cond.data<M>();
      for_each_offsets<4>(shape, {&os, &cs, &as, &bs}, [&](const std::array<int64_t, 4>& k) {
        o[k[0]] = nonzero(m[k[1]]) ? pa[k[2]] : pb[k[3]];
      });
    });
  });
  return out;
}

}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  Shape bs = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  ATTEND_CHECK(bs == x.shape(), "[masked_fill] mask of shape {} does not broadcast to input {}",
               mask.shape().str(), x.shape().str());
  Tensor out = masked_fill_raw(x, mask, value);
  if (needs_grad({x}))
    record("masked_fill", {x}, out, [mask](const Tensor& g) -> std::vector<Tensor> {
      return {masked_fill_raw(g, mask, 0.0)};
    });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  ATTEND_CHECK(a.dtype() == b.dtype(), "[where] branches have different dtypes {} and {}",
               dtype_name(a.dtype()), dtype_name(b.dtype()));
  Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = where_raw(cond, a, b, shape);
  if (needs_grad({a, b}))
    record("where", {a, b}, out,
           [cond, sa = a.shape(), sb = b.shape(), ga = a.requires_grad(),
            gb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
             Tensor zero = Tensor::zeros(Shape{}, g.dtype(), g.context());
             Tensor da, db;
             if (ga)
               da = detail::sum_to_shape(where_raw(cond, g, zero, g.shape()), sa).contiguous_data();
             if (gb)
               db = detail::sum_to_shape(where_raw(cond, zero, g, g.shape()), sb).contiguous_data();
             return {da, db};
           });
  return out;
}

}  // namespace attend
