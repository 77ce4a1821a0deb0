// _attend.attention on numpy arrays, _attend.models(), _attend.__version__.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>

#include "attend/attend.h"
#include "attend/models/model.h"
#include "attend/ops/attention.h"
#include "bindings.h"

namespace py = pybind11;

namespace {

std::string shape_str(const py::array& a) {
  attend::Shape s;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s.push_back(a.shape(i));
  return s.str();
}

std::string dtype_str(const py::array& a) {
  return py::str(a.dtype()).cast<std::string>();
}

// `obj` as a numpy array (array-likes such as lists or CPU torch tensors are converted by numpy).
py::array as_array(const py::object& obj, const char* name) {
  py::array a = py::array::ensure(obj);
  if (!a)
    attend::fail("[attention] {} must be an array, got {}", name,
                 py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  return a;
}

// True when a Tensor can address `a`'s memory in place: aligned, with non-negative strides that
// are whole elements.
bool borrowable(const py::array& a) {
  if (reinterpret_cast<uintptr_t>(a.data()) % a.itemsize() != 0) return false;
  for (py::ssize_t i = 0; i < a.ndim(); ++i)
    if (a.strides(i) < 0 || a.strides(i) % a.itemsize() != 0) return false;
  return true;
}

// A Tensor over `a`'s memory, no copy (a reversed or unaligned array is copied once by numpy
// first). The tensor does not own the memory: `a` must outlive it.
attend::Tensor borrow(py::array& a, attend::DType dtype, attend::Context& ctx) {
  if (!borrowable(a)) a = py::module_::import("numpy").attr("ascontiguousarray")(a);
  auto impl = std::make_shared<attend::TensorImpl>();
  int64_t span = 1;  // elements from the first to the last one addressed
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    impl->shape.push_back(a.shape(i));
    impl->strides.push_back(a.strides(i) / a.itemsize());
    span += (a.shape(i) - 1) * impl->strides.back();
  }
  const size_t bytes = a.size() == 0 ? 0 : static_cast<size_t>(span) * a.itemsize();
  // const_cast: attention reads its inputs and writes only the arrays made here for its outputs.
  impl->storage = std::make_shared<attend::Storage>(const_cast<void*>(a.data()), bytes, nullptr);
  impl->dtype = dtype;
  impl->context = &ctx;
  return attend::Tensor(std::move(impl));
}

// q, k or v: a 4-d float32 array.
py::array check_qkv(const py::object& obj, const char* name, const char* dims) {
  py::array a = as_array(obj, name);
  ATTEND_CHECK(a.ndim() == 4, "[attention] {} must be 4-d {}, got shape {}", name, dims,
               shape_str(a));
  ATTEND_CHECK(a.dtype().equal(py::dtype::of<float>()), "[attention] {} must be float32, got {}",
               name, dtype_str(a));
  return a;
}

// softmax(q kᵀ · scale + mask) v for q (B, H, Lq, D), k (B, H, Lk, D), v (B, H, Lk, Dv) ->
// (B, H, Lq, Dv), and the weights (B, H, Lq, Lk) when asked. The fused kernel runs unless the
// weights are asked for (then the reference path, which materialises them).
py::object attention(const py::object& q_obj, const py::object& k_obj, const py::object& v_obj,
                     const py::object& mask_obj, bool causal, std::optional<double> scale,
                     bool return_weights, int threads) {
  py::array q = check_qkv(q_obj, "q", "(B, H, Lq, D)");
  py::array k = check_qkv(k_obj, "k", "(B, H, Lk, D)");
  py::array v = check_qkv(v_obj, "v", "(B, H, Lk, Dv)");
  const int64_t batch = q.shape(0), heads = q.shape(1), len_q = q.shape(2), len_k = k.shape(2);
  ATTEND_CHECK(k.shape(0) == batch && k.shape(1) == heads && k.shape(3) == q.shape(3),
               "[attention] k of shape {} does not match q of shape {}: k must be (B, H, Lk, D)",
               shape_str(k), shape_str(q));
  ATTEND_CHECK(v.shape(0) == batch && v.shape(1) == heads && v.shape(2) == len_k,
               "[attention] v of shape {} does not match k of shape {}: v must be (B, H, Lk, Dv)",
               shape_str(v), shape_str(k));
  ATTEND_CHECK(threads >= 0, "[attention] threads must be >= 0 (0: all hardware threads), got {}",
               threads);

  // One context per call: its thread count is this call's, and nothing is shared between calls.
  attend::Context ctx({.threads = threads});
  attend::AttentionOptions options;
  options.scale = scale;
  options.causal = causal;
  options.return_weights = return_weights;
  py::array mask;
  if (!mask_obj.is_none()) {
    mask = as_array(mask_obj, "mask");
    const attend::Shape target{batch, heads, len_q, len_k};
    bool broadcasts = mask.ndim() <= 4;
    for (py::ssize_t i = 0; broadcasts && i < mask.ndim(); ++i) {
      const int64_t m = mask.shape(mask.ndim() - 1 - i), t = target[3 - i];
      broadcasts = m == t || m == 1;
    }
    ATTEND_CHECK(broadcasts,
                 "[attention] mask of shape {} does not broadcast to (B, H, Lq, Lk) = {}",
                 shape_str(mask), target.str());
    const char kind = mask.dtype().kind();
    if (kind == 'b') {
      // True = may attend. The library has no 1-byte dtype: one float32 copy (the fused kernel
      // turns the mask into an additive float32 one anyway).
      mask = mask.attr("astype")("float32");
      options.mask_type = attend::MaskType::Boolean;
    } else {
      ATTEND_CHECK(
          mask.dtype().equal(py::dtype::of<float>()) || mask.dtype().equal(py::dtype::of<double>()),
          "[attention] mask must be bool (True = may attend) or float32/float64 "
          "(added to the scores), got {}",
          dtype_str(mask));
      options.mask_type = attend::MaskType::Additive;
    }
    options.mask =
        borrow(mask, mask.itemsize() == 8 ? attend::DType::F64 : attend::DType::F32, ctx);
  }
  const attend::Tensor tq = borrow(q, attend::DType::F32, ctx);
  const attend::Tensor tk = borrow(k, attend::DType::F32, ctx);
  const attend::Tensor tv = borrow(v, attend::DType::F32, ctx);

  py::array_t<float> out({batch, heads, len_q, static_cast<int64_t>(v.shape(3))});
  py::array_t<float> weights;
  if (return_weights) weights = py::array_t<float>({batch, heads, len_q, len_k});
  const attend::Tensor tout = borrow(out, attend::DType::F32, ctx);
  const attend::Tensor tweights =
      return_weights ? borrow(weights, attend::DType::F32, ctx) : attend::Tensor();
  {
    py::gil_scoped_release release;
    const attend::AttentionResult r = attend::scaled_dot_product_attention(tq, tk, tv, options);
    tout.copy_from(r.output);  // the fused output is a (B, Lq, H, Dv) buffer's view
    if (return_weights) tweights.copy_from(r.weights);
  }
  if (return_weights) return py::make_tuple(out, weights);
  return out;
}

}  // namespace

void bind_kernels(py::module_& m) {
  m.attr("__version__") = attend::version();
  m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"),
        py::arg("mask") = py::none(), py::arg("causal") = false, py::arg("scale") = py::none(),
        py::arg("return_weights") = false, py::arg("threads") = 0,
        "softmax(q kᵀ · scale + mask) v on float32 arrays q (B, H, Lq, D), k (B, H, Lk, D),\n"
        "v (B, H, Lk, Dv) -> (B, H, Lq, Dv); with return_weights, (output, weights (B, H, Lq, "
        "Lk)).\n"
        "mask: bool (True = may attend) or float (added), broadcastable to (B, H, Lq, Lk).\n"
        "causal: query i sees keys j <= i (top-left aligned). scale: default 1/sqrt(D).\n"
        "threads: 0 = all hardware threads.");
  m.def("models", &attend::models::model_names, "The names of the forecasting models, sorted.");
}
