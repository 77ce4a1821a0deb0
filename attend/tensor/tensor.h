#pragma once
// Tensor: a handle (shared) to shape, element strides, offset and shared 64-byte-aligned storage,
// plus the autograd fields. Copying a Tensor copies the handle, not the data. Differentiable
// operations are free functions in attend/ops; the methods here give metadata, raw data access and
// raw (non-differentiable) views and copies.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attend/base/error.h"
#include "attend/kernels/view.h"
#include "attend/tensor/context.h"
#include "attend/tensor/dtype.h"
#include "attend/tensor/shape.h"

namespace attend {

class Node;  // autograd graph node (attend/autograd/node.h)

// A block of bytes owned by an allocator (or by nobody, for borrowed memory).
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  CachingAllocator* allocator = nullptr;  // null: not owned
  Storage(void* d, size_t b, CachingAllocator* a) : data(d), bytes(b), allocator(a) {}
  ~Storage() {
    if (allocator) allocator->deallocate(data, bytes);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;     // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;
  Context* context = nullptr;
  // autograd
  bool requires_grad = false;
  uint32_t output_nr = 0;                // which output of grad_fn this is
  std::shared_ptr<Node> grad_fn;         // null for leaves
  std::shared_ptr<TensorImpl> grad;      // accumulated gradient of a leaf
  std::weak_ptr<Node> grad_accumulator;  // cached AccumulateGrad node of a leaf
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories ----------------------------------------------------------------------------
  // Uninitialised contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32,
                      Context& ctx = default_context());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32,
                      Context& ctx = default_context());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32,
                     Context& ctx = default_context());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Context& ctx = default_context());
  // 0-d tensor holding `value`.
  static Tensor scalar(double value, DType dtype = DType::F32, Context& ctx = default_context());
  // Copies `values` (row-major) into a new tensor of `shape`; sizes must agree.
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            Context& ctx = default_context());
  // Same, with values converted to `dtype`.
  static Tensor from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype,
                             Context& ctx = default_context());
  // Values 0, 1, ..., n-1.
  static Tensor arange(int64_t n, DType dtype = DType::F32, Context& ctx = default_context());
  // Random tensors from the context's generator.
  static Tensor uniform(const Shape& shape, double low, double high, DType dtype = DType::F32,
                        Context& ctx = default_context());
  static Tensor normal(const Shape& shape, double mean, double stddev, DType dtype = DType::F32,
                       Context& ctx = default_context());
  static Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::F32,
                          Context& ctx = default_context());

  // ---- metadata -----------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  const Strides& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  DType dtype() const { return impl_->dtype; }
  Context& context() const { return *impl_->context; }
  int ndim() const { return impl_->shape.size(); }
  // Size of dimension `dim` (negative counts from the end).
  int64_t size(int dim) const { return impl_->shape[normalize_dim(dim, ndim(), "size")]; }
  int64_t numel() const { return impl_->shape.numel(); }
  bool is_contiguous() const;
  // True if both handles refer to the same TensorImpl.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }

  // ---- raw data -----------------------------------------------------------------------------
  // Pointer to the first element (storage + offset); checks the dtype.
  template <typename T>
  T* data() const {
    ATTEND_CHECK(impl_ && impl_->dtype == dtype_of<T>(), "[data] tensor is {}, asked for {}",
                 impl_ ? dtype_name(impl_->dtype) : "undefined", dtype_name(dtype_of<T>()));
    return static_cast<T*>(impl_->storage->data) + impl_->offset;
  }
  void* raw_data() const {
    return static_cast<char*>(impl_->storage->data) + impl_->offset * dtype_size(impl_->dtype);
  }
  // What kernels take: data<T>() with this tensor's shape and strides (exactly N dims).
  template <typename T, int N>
  kernels::View<T, N> kernel_view() const {
    ATTEND_CHECK(ndim() == N, "[kernel_view] tensor of shape {} viewed with {} dims", shape().str(),
                 N);
    kernels::View<T, N> v{data<T>()};
    for (int k = 0; k < N; ++k) v.shape[k] = shape()[k], v.strides[k] = strides()[k];
    return v;
  }
  // The single value of a one-element tensor, as double.
  double item() const;
  // Element at a multi-index, as double (slow; for tests and debugging).
  double at(std::initializer_list<int64_t> index) const;
  // All elements in row-major order, converted to T.
  template <typename T>
  std::vector<T> to_vector() const;

  // ---- raw views and copies (no autograd) ---------------------------------------------------
  // A view of the same storage with the given geometry (bounds are checked).
  Tensor as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;
  // A contiguous copy (or this tensor itself when already contiguous).
  Tensor contiguous_data() const;
  // A new contiguous tensor with the same values, converted to `dtype`.
  Tensor copy_as(DType dtype) const;
  // Copies the values of `src` (same shape, any strides and dtype) into this tensor.
  void copy_from(const Tensor& src) const;
  // Sets every element to `value`.
  void fill(double value) const;

  // ---- autograd -----------------------------------------------------------------------------
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  // Marks a leaf as needing a gradient; returns *this.
  const Tensor& set_requires_grad(bool value = true) const;
  // Accumulated gradient of a leaf (undefined before the first backward).
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g) const { impl_->grad = g.impl_; }
  // Drops the accumulated gradient.
  void zero_grad() const { impl_->grad.reset(); }
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  // A tensor sharing this one's data, cut from the graph.
  Tensor detach() const;
  // Back-propagates from this tensor; `grad` defaults to ones for a one-element tensor.
  // Defined in attend/autograd/engine.cpp.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  // "tensor(shape=(2, 3), dtype=float32)" plus the first values.
  std::string str(int max_values = 8) const;

 private:
  // copy_from's path for permuted views (a 2-d tiled transpose per plane); false if not one.
  bool copy_transposed(const Tensor& src) const;

  std::shared_ptr<TensorImpl> impl_;
};

// Moves the tensors (of one dtype and context, distinct) into one new storage, back to back in the
// given order and each contiguous, keeping their values; every handle to them sees the new place.
// For weights used together: concat_params and stack_params (attend/ops/shape.h) of tensors laid
// out so are views, not copies (TFT's GLU and GRN weights). Not for tensors in a recorded graph.
void pack_adjacent(const std::vector<Tensor>& ts);

// Calls f(linear_index_in_row_major_order, element_offset) for every element of a strided layout.
template <typename F>
void for_each_offset(const Shape& shape, const Strides& strides, int64_t offset, F&& f) {
  int n = shape.size();
  int64_t total = shape.numel();
  if (total == 0) return;
  int64_t idx[kMaxDims] = {0};
  int64_t off = offset;
  for (int64_t i = 0; i < total; ++i) {
    f(i, off);
    for (int d = n - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

// Dispatches on a floating dtype: calls f with a value of the C++ type (float or double).
template <typename F>
auto dispatch_float(DType t, const char* what, F&& f) {
  switch (t) {
    case DType::F32:
      return f(float{});
    case DType::F64:
      return f(double{});
    default:
      fail("[{}] expects a float32 or float64 tensor, got {}", what, dtype_name(t));
  }
}

}  // namespace attend
