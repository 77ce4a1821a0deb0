// conv1d (im2col + gemm), pooling and embedding, with their backward rules.
#include "attend/ops/conv.h"

#include <algorithm>
#include <cstring>

#include "attend/autograd/node.h"
#include "attend/kernels/conv1d.h"
#include "attend/kernels/pool.h"
#include "attend/ops/shape.h"

namespace attend {

namespace {

// x viewed as (R, L, I) -> xp (R, L + 2p, I): xp[r][i] = x[r][(i − p) mod L] (PyTorch's circular
// padding along L; I = 1 for (N, C, L) tensors, I = C for channels-last (N, L, C)).
template <typename T>
void circular_pad(const T* x, int64_t rows, int64_t l, int64_t p, int64_t inner, T* xp) {
  const int64_t lp = l + 2 * p;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * l * inner;
    T* out = xp + r * lp * inner;
    if (p <= l) {  // [x[l−p..l) | x | x[0..p)]
      std::copy(xr + (l - p) * inner, xr + l * inner, out);
      std::copy(xr, xr + l * inner, out + p * inner);
      std::copy(xr, xr + p * inner, out + (p + l) * inner);
    } else {
      for (int64_t i = 0; i < lp; ++i) {
        const T* src = xr + ((((i - p) % l) + l) % l) * inner;
        std::copy(src, src + inner, out + i * inner);
      }
    }
  }
}

// Adjoint of circular_pad: dx (R, L, I) = fold of dxp (R, L + 2p, I).
template <typename T>
void circular_unpad(const T* dxp, int64_t rows, int64_t l, int64_t p, int64_t inner, T* dx) {
  const int64_t lp = l + 2 * p;
  std::fill_n(dx, rows * l * inner, T(0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < lp; ++i) {
      T* dst = dx + (r * l + (((i - p) % l) + l) % l) * inner;
      const T* src = dxp + (r * lp + i) * inner;
      for (int64_t c = 0; c < inner; ++c) dst[c] += src[c];
    }
}

}  // namespace

Tensor conv1d(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
              const Conv1dOptions& o) {
  const bool cl = o.channels_last;
  ATTEND_CHECK(x_in.defined() && (x_in.ndim() == 3 || x_in.ndim() == 2),
               "[conv1d] input must be {} or {}, got shape {}",
               cl ? "(N, L, C_in)" : "(N, C_in, L)", cl ? "(L, C_in)" : "(C_in, L)",
               x_in.defined() ? x_in.shape().str() : "undefined");
  if (x_in.ndim() == 2) return squeeze(conv1d(unsqueeze(x_in, 0), weight, bias, o), 0);
  ATTEND_CHECK(weight.defined() && weight.ndim() == 3,
               "[conv1d] weight must be (C_out, C_in / groups, K), got shape {}",
               weight.defined() ? weight.shape().str() : "undefined");
  ATTEND_CHECK(o.stride > 0 && o.dilation > 0 && o.padding >= 0 && o.groups > 0,
               "[conv1d] invalid options stride={} padding={} dilation={} groups={}", o.stride,
               o.padding, o.dilation, o.groups);
  int64_t n = x_in.shape()[0], c_in = x_in.shape()[cl ? 2 : 1], l = x_in.shape()[cl ? 1 : 2];
  int64_t c_out = weight.shape()[0], k = weight.shape()[2];
  ATTEND_CHECK(
      c_in % o.groups == 0 && c_out % o.groups == 0 && weight.shape()[1] * o.groups == c_in,
      "[conv1d] {}input of shape {} has {} channels but weight of shape {} expects {} "
      "(groups={})",
      cl ? "channels-last (N, L, C_in) " : "", x_in.shape().str(), c_in, weight.shape().str(),
      weight.shape()[1] * o.groups, o.groups);
  ATTEND_CHECK(x_in.dtype() == weight.dtype(), "[conv1d] input is {} but weight is {}",
               dtype_name(x_in.dtype()), dtype_name(weight.dtype()));
  if (bias.defined())
    ATTEND_CHECK(bias.ndim() == 1 && bias.shape()[0] == c_out && bias.dtype() == x_in.dtype(),
                 "[conv1d] bias of shape {} does not match weight of shape {}", bias.shape().str(),
                 weight.shape().str());
  ATTEND_CHECK(o.padding_right >= -1,
               "[conv1d] padding_right must be >= 0 (or -1: as padding), got {}", o.padding_right);
  bool circular = o.padding_mode == PaddingMode::Circular && o.padding > 0;
  if (circular) {
    ATTEND_CHECK(o.padding_right < 0 || o.padding_right == o.padding,
                 "[conv1d] circular padding is symmetric, got padding {} and padding_right {}",
                 o.padding, o.padding_right);
    ATTEND_CHECK(l > 0, "[conv1d] circular padding needs a non-empty input, got shape {}",
                 x_in.shape().str());
  }
  kernels::Conv1dShape s{n,
                         c_in,
                         circular ? l + 2 * o.padding : l,
                         c_out,
                         k,
                         o.stride,
                         circular ? 0 : o.padding,
                         o.dilation,
                         o.groups,
                         circular ? 0 : o.padding_right,
                         cl,
                         o.relu};
  int64_t l_out = s.l_out();
  ATTEND_CHECK(l_out > 0,
               "[conv1d] input of shape {} is too short for kernel {} (padding {}, dilation {})",
               x_in.shape().str(), k, o.padding, o.dilation);

  Tensor x = x_in.contiguous_data(), w = weight.contiguous_data();
  Tensor bc = bias.defined() ? bias.contiguous_data() : Tensor();
  Tensor y =
      Tensor::empty(cl ? Shape{n, l_out, c_out} : Shape{n, c_out, l_out}, x.dtype(), x.context());
  // Circular padding of L: rows (N, L, C) with inner C channels-last, (N·C, L) with inner 1 else.
  const int64_t pad_rows = cl ? n : n * c_in, pad_inner = cl ? c_in : 1;
  int threads = x.context().threads();
  Tensor xp = x;   // the input the kernel sees (circularly padded when asked)
  Tensor scratch;  // im2col matrix and re-layouts; kept for the backward, which reuses the im2col
  dispatch_float(x.dtype(), "conv1d", [&](auto tag) {
    using T = decltype(tag);
    if (circular) {
      xp = Tensor::empty(cl ? Shape{n, s.l_in, c_in} : Shape{n, c_in, s.l_in}, x.dtype(),
                         x.context());
      circular_pad(x.data<T>(), pad_rows, l, o.padding, pad_inner, xp.data<T>());
    }
    scratch = Tensor::empty(Shape{s.scratch_size()}, x.dtype(), x.context());
    kernels::conv1d_forward(s, xp.data<T>(), w.data<T>(), bc.defined() ? bc.data<T>() : nullptr,
                            y.data<T>(), scratch.data<T>(), threads);
  });

  if (needs_grad({x_in, weight, bias}))
    record("conv1d", {x_in, weight, bias}, y,
           [s, xp, w, scratch, ys = o.relu ? y.storage() : std::shared_ptr<Storage>(),
            x_shape = x.shape(), l, pad = o.padding, circular, pad_rows, pad_inner,
            rx = x_in.requires_grad(), rw = weight.requires_grad(),
            rb = bias.defined() && bias.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
             Tensor gc = g.contiguous_data();
             Tensor dx, dxp, dw, db;
             Context& ctx = gc.context();
             DType dt = gc.dtype();
             if (rx) dxp = Tensor::empty(xp.shape(), dt, ctx);
             if (rw) dw = Tensor::empty(w.shape(), dt, ctx);
             if (rb) db = Tensor::empty(Shape{s.c_out}, dt, ctx);
             dispatch_float(dt, "conv1d", [&](auto tag) {
               using T = decltype(tag);
               // The forward's im2col matrix is read again, not rebuilt.
               Tensor work = Tensor::empty(Shape{s.scratch_size()}, dt, ctx);
               kernels::conv1d_backward(s, xp.data<T>(), w.data<T>(), gc.data<T>(),
                                        rx ? dxp.data<T>() : nullptr, rw ? dw.data<T>() : nullptr,
                                        rb ? db.data<T>() : nullptr, work.data<T>(), ctx.threads(),
                                        static_cast<const T*>(scratch.data<T>()),
                                        ys ? static_cast<const T*>(ys->data) : nullptr);
               if (rx && circular) {
                 dx = Tensor::empty(x_shape, dt, ctx);
                 circular_unpad(dxp.data<T>(), pad_rows, l, pad, pad_inner, dx.data<T>());
               } else {
                 dx = dxp;
               }
             });
             return {dx, dw, db};
           });
  return y;
}

namespace {

// Validates pooling arguments; returns L_out.
int64_t pool_out_len(const char* what, const Tensor& x, int64_t k, int64_t& stride,
                     int64_t padding) {
  ATTEND_CHECK(x.defined() && x.ndim() == 3, "[{}] input must be (N, C, L), got shape {}", what,
               x.defined() ? x.shape().str() : "undefined");
  if (stride == 0) stride = k;
  ATTEND_CHECK(k > 0 && stride > 0 && padding >= 0,
               "[{}] invalid kernel_size={} stride={} padding={}", what, k, stride, padding);
  ATTEND_CHECK(padding <= k / 2, "[{}] padding {} must be at most half of kernel_size {}", what,
               padding, k);
  int64_t l_out = (x.shape()[2] + 2 * padding - k) / stride + 1;
  ATTEND_CHECK(x.shape()[2] + 2 * padding >= k && l_out > 0,
               "[{}] input of shape {} is too short for kernel_size {} (padding {})", what,
               x.shape().str(), k, padding);
  return l_out;
}

}  // namespace

Tensor max_pool1d(const Tensor& x_in, int64_t kernel_size, int64_t stride, int64_t padding) {
  int64_t l_out = pool_out_len("max_pool1d", x_in, kernel_size, stride, padding);
  Tensor x = x_in.contiguous_data();
  int64_t rows = x.shape()[0] * x.shape()[1], l = x.shape()[2];
  Tensor y = Tensor::empty(Shape{x.shape()[0], x.shape()[1], l_out}, x.dtype(), x.context());
  Tensor arg = Tensor::empty(y.shape(), DType::I64, x.context());
  dispatch_float(x.dtype(), "max_pool1d", [&](auto tag) {
    using T = decltype(tag);
    kernels::max_pool1d_forward(x.data<T>(), rows, l, kernel_size, stride, padding, l_out,
                                y.data<T>(), arg.data<int64_t>(), x.context().threads());
  });
  if (needs_grad({x_in}))
    record("max_pool1d", {x_in}, y,
           [arg, in = x.shape(), rows, l, l_out](const Tensor& g) -> std::vector<Tensor> {
             Tensor gc = g.contiguous_data();
             Tensor dx = Tensor::empty(in, gc.dtype(), gc.context());
             dispatch_float(gc.dtype(), "max_pool1d", [&](auto tag) {
               using T = decltype(tag);
               kernels::max_pool1d_backward(gc.data<T>(), arg.data<int64_t>(), rows, l, l_out,
                                            dx.data<T>());
             });
             return {dx};
           });
  return y;
}

Tensor avg_pool1d(const Tensor& x_in, int64_t kernel_size, int64_t stride, int64_t padding) {
  int64_t l_out = pool_out_len("avg_pool1d", x_in, kernel_size, stride, padding);
  Tensor x = x_in.contiguous_data();
  int64_t rows = x.shape()[0] * x.shape()[1], l = x.shape()[2];
  Tensor y = Tensor::empty(Shape{x.shape()[0], x.shape()[1], l_out}, x.dtype(), x.context());
  dispatch_float(x.dtype(), "avg_pool1d", [&](auto tag) {
    using T = decltype(tag);
    kernels::avg_pool1d_forward(x.data<T>(), rows, l, kernel_size, stride, padding, l_out,
                                y.data<T>(), x.context().threads());
  });
  if (needs_grad({x_in}))
    record("avg_pool1d", {x_in}, y,
           [in = x.shape(), rows, l, l_out, kernel_size, stride,
            padding](const Tensor& g) -> std::vector<Tensor> {
             Tensor gc = g.contiguous_data();
             Tensor dx = Tensor::empty(in, gc.dtype(), gc.context());
             dispatch_float(gc.dtype(), "avg_pool1d", [&](auto tag) {
               using T = decltype(tag);
               kernels::avg_pool1d_backward(gc.data<T>(), rows, l, kernel_size, stride, padding,
                                            l_out, dx.data<T>());
             });
             return {dx};
           });
  return y;
}

Tensor embedding(const Tensor& indices, const Tensor& weight) {
  ATTEND_CHECK(indices.defined() && indices.dtype() == DType::I64,
               "[embedding] indices must be int64, got {}",
               indices.defined() ? std::string(dtype_name(indices.dtype())) : "undefined");
  ATTEND_CHECK(weight.defined() && weight.ndim() == 2,
               "[embedding] weight must be (num_embeddings, dim), got shape {}",
               weight.defined() ? weight.shape().str() : "undefined");
  int64_t v = weight.shape()[0], d = weight.shape()[1];
  Tensor idx = indices.contiguous_data();
  const int64_t* ip = idx.data<int64_t>();
  int64_t count = idx.numel();
  for (int64_t i = 0; i < count; ++i)
    ATTEND_CHECK(ip[i] >= 0 && ip[i] < v,
                 "[embedding] index {} is out of range for a table of {} rows (weight shape {})",
                 ip[i], v, weight.shape().str());
  Tensor w = weight.contiguous_data();
  Shape shape = indices.shape();
  shape.push_back(d);
  Tensor out = Tensor::empty(shape, w.dtype(), w.context());
  dispatch_float(w.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    const T* pw = w.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0; i < count; ++i) std::memcpy(po + i * d, pw + ip[i] * d, d * sizeof(T));
  });
  if (needs_grad({weight}))
    record("embedding", {weight}, out,
           [idx, wshape = weight.shape()](const Tensor& g) -> std::vector<Tensor> {
             Tensor gc = g.contiguous_data();
             Tensor dw = Tensor::zeros(wshape, gc.dtype(), gc.context());
             int64_t d = wshape[1];
             const int64_t* ip = idx.data<int64_t>();
             dispatch_float(gc.dtype(), "embedding", [&](auto tag) {
               using T = decltype(tag);
               const T* pg = gc.data<T>();
               T* pd = dw.data<T>();
               for (int64_t i = 0, c = idx.numel(); i < c; ++i) {
                 T* row = pd + ip[i] * d;
                 const T* src = pg + i * d;
                 for (int64_t j = 0; j < d; ++j) row[j] += src[j];
               }
             });
             return {dw};
           });
  return out;
}

}  // namespace attend
