#include "attend/tensor/tensor.h"

#include <cstring>

namespace attend {

namespace {

std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Context& ctx) {
  for (int64_t d : shape)
    ATTEND_CHECK(d >= 0, "[tensor] negative dimension in shape {}", shape.str());
  auto impl = std::make_shared<TensorImpl>();
  size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  void* p = ctx.allocator().allocate(bytes);
  impl->storage = std::make_shared<Storage>(p, bytes, &ctx.allocator());
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->context = &ctx;
  return impl;
}

double load(const void* base, DType t, int64_t i) {
  switch (t) {
    case DType::F32:
      return static_cast<const float*>(base)[i];
    case DType::F64:
      return static_cast<const double*>(base)[i];
    case DType::I64:
      return static_cast<double>(static_cast<const int64_t*>(base)[i]);
  }
  return 0;
}

void store(void* base, DType t, int64_t i, double v) {
  switch (t) {
    case DType::F32:
      static_cast<float*>(base)[i] = static_cast<float>(v);
      break;
    case DType::F64:
      static_cast<double*>(base)[i] = v;
      break;
    case DType::I64:
      static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v);
      break;
  }
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Context& ctx) {
  return Tensor(make_impl(shape, dtype, ctx));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Context& ctx) {
  Tensor t = empty(shape, dtype, ctx);
  std::memset(t.impl_->storage->data, 0, t.impl_->storage->bytes);
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Context& ctx) {
  return full(shape, 1.0, dtype, ctx);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Context& ctx) {
  Tensor t = empty(shape, dtype, ctx);
  t.fill(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype, Context& ctx) {
  return full(Shape{}, value, dtype, ctx);
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Context& ctx) {
  ATTEND_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
               "[from_vector] {} values do not fill shape {}", values.size(), shape.str());
  Tensor t = empty(shape, dtype_of<T>(), ctx);
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&, Context&);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&, Context&);
template Tensor Tensor::from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, Context&);

Tensor Tensor::from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype,
                            Context& ctx) {
  ATTEND_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
               "[from_doubles] {} values do not fill shape {}", values.size(), shape.str());
  Tensor t = empty(shape, dtype, ctx);
  for (size_t i = 0; i < values.size(); ++i) store(t.raw_data(), dtype, i, values[i]);
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype, Context& ctx) {
  Tensor t = empty(Shape{n}, dtype, ctx);
  for (int64_t i = 0; i < n; ++i) store(t.raw_data(), dtype, i, static_cast<double>(i));
  return t;
}

Tensor Tensor::uniform(const Shape& shape, double low, double high, DType dtype, Context& ctx) {
  Tensor t = empty(shape, dtype, ctx);
  dispatch_float(dtype, "uniform", [&](auto tag) {
    ctx.generator().fill_uniform(t.data<decltype(tag)>(), t.numel(), low, high, ctx.threads());
  });
  return t;
}

Tensor Tensor::normal(const Shape& shape, double mean, double stddev, DType dtype, Context& ctx) {
  Tensor t = empty(shape, dtype, ctx);
  dispatch_float(dtype, "normal", [&](auto tag) {
    ctx.generator().fill_normal(t.data<decltype(tag)>(), t.numel(), mean, stddev, ctx.threads());
  });
  return t;
}

Tensor Tensor::bernoulli(const Shape& shape, double p, DType dtype, Context& ctx) {
  ATTEND_CHECK(p >= 0.0 && p <= 1.0, "[bernoulli] probability {} is not in [0, 1]", p);
  Tensor t = empty(shape, dtype, ctx);
  dispatch_float(dtype, "bernoulli", [&](auto tag) {
    ctx.generator().fill_bernoulli(t.data<decltype(tag)>(), t.numel(), p, ctx.threads());
  });
  return t;
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (impl_->shape[i] != 1 && impl_->strides[i] != expected) return false;
    expected *= impl_->shape[i];
  }
  return true;
}

double Tensor::item() const {
  ATTEND_CHECK(defined() && numel() == 1, "[item] needs a one-element tensor, got shape {}",
               defined() ? shape().str() : "undefined");
  return load(impl_->storage->data, dtype(), impl_->offset);
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  ATTEND_CHECK(static_cast<int>(index.size()) == ndim(), "[at] {} indices for a {}-d tensor",
               index.size(), ndim());
  int64_t off = impl_->offset;
  int d = 0;
  for (int64_t i : index) {
    ATTEND_CHECK(i >= 0 && i < shape()[d], "[at] index {} out of range for dimension {} of size {}",
                 i, d, shape()[d]);
    off += i * strides()[d++];
  }
  return load(impl_->storage->data, dtype(), off);
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(numel());
  const void* base = impl_->storage->data;
  DType t = dtype();
  if (t == dtype_of<T>()) {  // exact, no round trip through double
    for_each_offset(shape(), strides(), offset(),
                    [&](int64_t i, int64_t off) { out[i] = static_cast<const T*>(base)[off]; });
    return out;
  }
  for_each_offset(shape(), strides(), offset(),
                  [&](int64_t i, int64_t off) { out[i] = static_cast<T>(load(base, t, off)); });
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

Tensor Tensor::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
  ATTEND_CHECK(shape.size() == strides.size(),
               "[as_strided] shape {} and strides {} differ in rank", shape.str(), strides.str());
  // Bounds: the smallest and largest element offsets must lie inside the storage.
  if (shape.numel() > 0) {
    int64_t lo = offset, hi = offset;
    for (int i = 0; i < shape.size(); ++i) {
      int64_t span = (shape[i] - 1) * strides[i];
      (span < 0 ? lo : hi) += span;
    }
    int64_t capacity = static_cast<int64_t>(impl_->storage->bytes / dtype_size(dtype()));
    ATTEND_CHECK(lo >= 0 && hi < capacity,
                 "[as_strided] view {} with strides {} at offset {} exceeds storage of {} elements",
                 shape.str(), strides.str(), offset, capacity);
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = impl_->dtype;
  impl->context = impl_->context;
  return Tensor(std::move(impl));
}

void pack_adjacent(const std::vector<Tensor>& ts) {
  ATTEND_CHECK(!ts.empty() && ts[0].defined(), "[pack_adjacent] needs defined tensors");
  const Tensor& ref = ts[0];
  int64_t total = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    const Tensor& t = ts[i];
    ATTEND_CHECK(t.defined() && t.dtype() == ref.dtype() && &t.context() == &ref.context(),
                 "[pack_adjacent] tensor {} differs from the first in dtype or context", i);
    for (size_t j = 0; j < i; ++j)
      ATTEND_CHECK(!t.is_same(ts[j]), "[pack_adjacent] tensor {} is tensor {} again", i, j);
    total += t.numel();
  }
  Tensor block = Tensor::empty(Shape({total}), ref.dtype(), ref.context());
  int64_t at = 0;
  for (const Tensor& t : ts) {
    const Tensor place = block.as_strided(t.shape(), contiguous_strides(t.shape()), at);
    place.copy_from(t);
    TensorImpl* impl = t.impl();
    impl->storage = block.storage();
    impl->strides = place.strides();
    impl->offset = at;
    at += t.numel();
  }
}

Tensor Tensor::contiguous_data() const {
  if (is_contiguous()) return *this;
  return copy_as(dtype());
}

Tensor Tensor::copy_as(DType dtype) const {
  Tensor out = empty(shape(), dtype, context());
  out.copy_from(*this);
  return out;
}

namespace {

// d[i·d_i + j] = s[i + j·s_j] for i < rows, j < cols, in 16 × 16 tiles so that both the reads
// (unit stride along i) and the writes (unit stride along j) stay within a few cache lines.
template <typename T>
void transpose_tiles(const T* s, int64_t s_j, T* d, int64_t d_i, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += kTile) {
    const int64_t i1 = std::min(rows, i0 + kTile);
    for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const int64_t j1 = std::min(cols, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) d[i * d_i + j] = s[i + j * s_j];
    }
  }
}

// Steps a row-major counter over dims [0, last] except `skip` (−1: none), moving the offsets of a
// destination and a source layout along: the outer loop of copy_from's row walks.
void next_row(int64_t* idx, const Shape& shape, const Strides& ds, const Strides& ss, int last,
              int skip, int64_t& doff, int64_t& soff) {
  for (int i = last; i >= 0; --i) {
    if (i == skip) continue;
    doff += ds[i];
    soff += ss[i];
    if (++idx[i] < shape[i]) return;
    doff -= ds[i] * shape[i];
    soff -= ss[i] * shape[i];
    idx[i] = 0;
  }
}

}  // namespace

// Same-dtype copy where the destination's last dim is unit-stride but the source's is not, and the
// source is unit-stride along another dim k (a permuted view, e.g. (B, L, H, D) -> (B, H, L, D)):
// every (dim k, last dim) plane is a 2-d transpose. Returns false when no such k exists.
bool Tensor::copy_transposed(const Tensor& src) const {
  const int n = ndim();
  int k = -1;
  for (int i = 0; i < n - 1; ++i)
    if (src.strides()[i] == 1 && shape()[i] > 1) k = i;
  if (k < 0) return false;
  const int64_t rows = shape()[k], cols = shape()[n - 1];
  const int64_t d_i = strides()[k], s_j = src.strides()[n - 1];
  // Outer dims: every dim except k and the last.
  int64_t outer = 1;
  for (int i = 0; i < n - 1; ++i)
    if (i != k) outer *= shape()[i];
  int64_t idx[kMaxDims] = {0};
  int64_t doff = offset(), soff = src.offset();
  auto run = [&](auto elem) {
    using T = decltype(elem);
    T* d = static_cast<T*>(impl_->storage->data);
    const T* sp = static_cast<const T*>(src.impl_->storage->data);
    for (int64_t r = 0; r < outer; ++r) {
      transpose_tiles(sp + soff, s_j, d + doff, d_i, rows, cols);
      next_row(idx, shape(), strides(), src.strides(), n - 2, k, doff, soff);
    }
  };
  if (dtype_size(dtype()) == 4)
    run(float{});
  else
    run(int64_t{});
  return true;
}

void Tensor::copy_from(const Tensor& src) const {
  ATTEND_CHECK(src.shape() == shape(), "[copy] source shape {} differs from destination shape {}",
               src.shape().str(), shape().str());
  if (src.dtype() == dtype() && src.is_contiguous() && is_contiguous()) {
    std::memmove(raw_data(), src.raw_data(), numel() * dtype_size(dtype()));
    return;
  }
  const void* sbase = src.impl_->storage->data;
  void* dbase = impl_->storage->data;
  DType st = src.dtype(), dt = dtype();
  if (numel() == 0) return;
  // Walk both layouts together: outer dims by counters, the last dim as a tight strided loop.
  const int n = ndim();
  const int64_t inner = n ? shape()[n - 1] : 1;
  const int64_t ds = n ? strides()[n - 1] : 1, ss = n ? src.strides()[n - 1] : 1;
  const int64_t outer = inner ? numel() / inner : 0;
  if (st == dt && ds == 1 && ss != 1 && n >= 2 && copy_transposed(src)) return;
  int64_t idx[kMaxDims] = {0};
  int64_t doff = offset(), soff = src.offset();
  auto copy_rows = [&](auto elem) {
    using T = decltype(elem);
    T* d = static_cast<T*>(dbase);
    const T* sp = static_cast<const T*>(sbase);
    for (int64_t r = 0; r < outer; ++r) {
      if (ds == 1 && ss == 1) {
        std::memcpy(d + doff, sp + soff, inner * sizeof(T));
      } else {
        for (int64_t j = 0; j < inner; ++j) d[doff + j * ds] = sp[soff + j * ss];
      }
      next_row(idx, shape(), strides(), src.strides(), n - 2, -1, doff, soff);
    }
  };
  if (st == dt) {  // same dtype: copy bits (int64 values must not pass through double)
    if (dtype_size(dt) == 4) {
      copy_rows(float{});
    } else {
      copy_rows(int64_t{});
    }
    return;
  }
  std::vector<int64_t> doffs(numel());
  for_each_offset(shape(), strides(), offset(), [&](int64_t i, int64_t off) { doffs[i] = off; });
  for_each_offset(src.shape(), src.strides(), src.offset(), [&](int64_t i, int64_t off) {
    store(dbase, dt, doffs[i], load(sbase, st, off));
  });
}

void Tensor::fill(double value) const {
  void* base = impl_->storage->data;
  DType t = dtype();
  if (is_contiguous() && t == DType::F32) {
    float* p = data<float>();
    float v = static_cast<float>(value);
    for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = v;
    return;
  }
  for_each_offset(shape(), strides(), offset(),
                  [&](int64_t, int64_t off) { store(base, t, off, value); });
}

const Tensor& Tensor::set_requires_grad(bool value) const {
  ATTEND_CHECK(!value || dtype() != DType::I64,
               "[requires_grad] an int64 tensor cannot have a gradient");
  ATTEND_CHECK(is_leaf(), "[requires_grad] can only be set on a leaf tensor (use detach())");
  impl_->requires_grad = value;
  return *this;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->offset = impl_->offset;
  impl->dtype = impl_->dtype;
  impl->context = impl_->context;
  return Tensor(std::move(impl));
}

std::string Tensor::str(int max_values) const {
  if (!defined()) return "tensor(undefined)";
  std::string s = fmt::format("tensor(shape={}, dtype={}", shape().str(), dtype_name(dtype()));
  if (requires_grad()) s += ", requires_grad";
  s += ", values=[";
  int64_t shown = 0;
  for_each_offset(shape(), strides(), offset(), [&](int64_t i, int64_t off) {
    if (i < max_values) {
      s += fmt::format("{}{:.6g}", i ? ", " : "", load(impl_->storage->data, dtype(), off));
      ++shown;
    }
  });
  if (numel() > shown) s += ", ...";
  return s + "])";
}

}  // namespace attend
