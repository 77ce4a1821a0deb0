// softmax, log_softmax, layer_norm, batch_norm, dropout: forward and backward side by side.
#include "attend/ops/nn_functional.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "attend/autograd/node.h"
#include "attend/kernels/elementwise.h"
#include "attend/kernels/layer_norm.h"
#include "attend/kernels/parallel.h"
#include "attend/kernels/random.h"
#include "attend/kernels/softmax.h"
#include "attend/ops/elementwise.h"

namespace attend {

namespace {

// (outer, n, inner) around dim d.
void split_at(const Shape& s, int d, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = inner = 1;
  n = s.size() == 0 ? 1 : s[d];
  for (int i = 0; i < d; ++i) outer *= s[i];
  for (int i = d + 1; i < s.size(); ++i) inner *= s[i];
}

Tensor softmax_impl(const Tensor& x, int dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  ATTEND_CHECK(x.defined(), "[{}] got an undefined tensor", name);
  const int d = normalize_dim(dim, x.ndim() == 0 ? 1 : x.ndim(), name);
  int64_t outer, n, inner;
  split_at(x.shape(), d, outer, n, inner);
  Tensor xc = x.contiguous_data();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.context());
  if (out.numel() == 0) return out;
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>) {
      if (inner == 1)
        return kernels::softmax_forward(xc.data<T>(), out.data<T>(), outer, n, log,
                                        x.context().threads());
    }
    kernels::softmax_forward_reference(xc.data<T>(), out.data<T>(), outer, n, inner, log);
  });
  if (needs_grad({x})) {
    record(name, {x}, out, [y = out.storage(), outer, n, inner, log](const Tensor& g) {
      Tensor gc = g.contiguous_data();
      Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.context());
      dispatch_float(g.dtype(), "softmax", [&](auto tag) {
        using T = decltype(tag);
        const T* yp = static_cast<const T*>(y->data);
        if constexpr (std::is_same_v<T, float>) {
          if (inner == 1)
            return kernels::softmax_backward(yp, gc.data<T>(), dx.data<T>(), outer, n, log,
                                             g.context().threads());
        }
        kernels::softmax_backward_reference(yp, gc.data<T>(), dx.data<T>(), outer, n, inner, log);
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

void check_vector(const Tensor& t, int64_t n, const Tensor& x, const char* op, const char* what) {
  if (!t.defined()) return;
  ATTEND_CHECK(t.ndim() == 1 && t.shape()[0] == n,
               "[{}] {} of shape {} does not match {} features of input {}", op, what,
               t.shape().str(), n, x.shape().str());
  ATTEND_CHECK(t.dtype() == x.dtype(), "[{}] {} is {} but input is {}", op, what,
               dtype_name(t.dtype()), dtype_name(x.dtype()));
}

template <typename T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// A contiguous tensor as the (rows, d) rows the kernels take.
template <typename T>
kernels::View<T, 2> rows_view(const Tensor& t, int64_t rows, int64_t d) {
  return kernels::View<T, 2>::dense(t.data<T>(), {rows, d});
}

}  // namespace

Tensor softmax(const Tensor& x, int dim) {
  return softmax_impl(x, dim, false);
}

Tensor log_softmax(const Tensor& x, int dim) {
  return softmax_impl(x, dim, true);
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  ATTEND_CHECK(x.defined() && x.ndim() >= 1, "[layer_norm] expects an input of rank >= 1");
  const int64_t d = x.shape().back();
  check_vector(weight, d, x, "layer_norm", "weight");
  check_vector(bias, d, x, "layer_norm", "bias");
  const int64_t rows = d == 0 ? 0 : x.numel() / d;
  Tensor xc = x.contiguous_data();
  Tensor wc = weight.defined() ? weight.contiguous_data() : Tensor();
  Tensor bc = bias.defined() ? bias.contiguous_data() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.context());
  Tensor stats = Tensor::empty(Shape{2, rows}, x.dtype(), x.context());  // mean, rstd
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    T* st = stats.data<T>();
    kernels::layer_norm_forward(rows_view<T>(xc, rows, d), ptr_or_null<T>(wc), ptr_or_null<T>(bc),
                                T(eps), rows_view<T>(out, rows, d), st, st + rows,
                                x.context().threads());
  });
  if (needs_grad({x, weight, bias})) {
    record("layer_norm", {x, weight, bias}, out,
           [xc, wc, stats, rows, d, rw = weight.defined() && weight.requires_grad(),
            rb = bias.defined() && bias.requires_grad()](const Tensor& g) {
             Tensor gc = g.contiguous_data();
             Tensor dx = Tensor::empty(xc.shape(), xc.dtype(), xc.context());
             Tensor dw = rw ? Tensor::empty(Shape{d}, xc.dtype(), xc.context()) : Tensor();
             Tensor db = rb ? Tensor::empty(Shape{d}, xc.dtype(), xc.context()) : Tensor();
             dispatch_float(xc.dtype(), "layer_norm", [&](auto tag) {
               using T = decltype(tag);
               const T* st = stats.data<T>();
               kernels::layer_norm_backward(rows_view<T>(xc, rows, d), ptr_or_null<T>(wc), st,
                                            st + rows, rows_view<T>(gc, rows, d),
                                            rows_view<T>(dx, rows, d), ptr_or_null<T>(dw),
                                            ptr_or_null<T>(db), xc.context().threads());
             });
             return std::vector<Tensor>{dx, dw, db};
           });
  }
  return out;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  ATTEND_CHECK(x.defined() && (x.ndim() == 2 || x.ndim() == 3),
               "[batch_norm] expects an input (N, C) or (N, C, L), got shape {}",
               x.defined() ? x.shape().str() : "undefined");
  const int64_t N = x.shape()[0], C = x.shape()[1], L = x.ndim() == 3 ? x.shape()[2] : 1;
  const int64_t M = N * L;  // values per channel
  check_vector(running_mean, C, x, "batch_norm", "running_mean");
  check_vector(running_var, C, x, "batch_norm", "running_var");
  check_vector(weight, C, x, "batch_norm", "weight");
  check_vector(bias, C, x, "batch_norm", "bias");
  ATTEND_CHECK(running_mean.defined() == running_var.defined(),
               "[batch_norm] running_mean and running_var must both be given or both be omitted");
  const bool batch_stats = training || !running_mean.defined();
  ATTEND_CHECK(!batch_stats || M > 1,
               "[batch_norm] expected more than 1 value per channel when training, got input "
               "shape {}",
               x.shape().str());
  Tensor xc = x.contiguous_data();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.context());
  Tensor stats = Tensor::empty(Shape{2, C}, x.dtype(), x.context());  // mean, rstd per channel
  Tensor wc = weight.defined() ? weight.contiguous_data() : Tensor();
  Tensor bc = bias.defined() ? bias.contiguous_data() : Tensor();
  // A batch split across processes (Context::batch_sum): the statistics are those of the whole
  // batch, from the sums of every process's values (M_all values per channel).
  const Context::BatchSum sum_over_batch = batch_stats ? x.context().batch_sum() : nullptr;
  double M_all = static_cast<double>(M);
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = xc.data<T>();
    T* mean = stats.data<T>();
    T* rstd = mean + C;
    const T* w = ptr_or_null<T>(wc);
    const T* b = ptr_or_null<T>(bc);
    // mean = Σx / M, var = Σ(x − mean)² / M per channel (two passes)
    std::vector<double> mu(C), var(C);
    if (batch_stats) {
      std::vector<double> s(C + 1, 0.0);  // Σx per channel, then M
      for (int64_t c = 0; c < C; ++c)
        for (int64_t n = 0; n < N; ++n)
          for (int64_t l = 0; l < L; ++l) s[c] += xp[(n * C + c) * L + l];
      s[C] = static_cast<double>(M);
      if (sum_over_batch) sum_over_batch(s.data(), s.size());
      M_all = s[C];
      std::vector<double> ss(C, 0.0);
      for (int64_t c = 0; c < C; ++c) {
        mu[c] = s[c] / M_all;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t l = 0; l < L; ++l) {
            const double v = xp[(n * C + c) * L + l] - mu[c];
            ss[c] += v * v;
          }
      }
      if (sum_over_batch) sum_over_batch(ss.data(), ss.size());
      for (int64_t c = 0; c < C; ++c) {
        var[c] = ss[c] / M_all;
        if (training && running_mean.defined()) {
          T* rm = running_mean.data<T>() + 0;
          T* rv = running_var.data<T>() + 0;
          const int64_t sm = running_mean.strides()[0], sv = running_var.strides()[0];
          rm[c * sm] = static_cast<T>((1.0 - momentum) * rm[c * sm] + momentum * mu[c]);
          rv[c * sv] =
              static_cast<T>((1.0 - momentum) * rv[c * sv] + momentum * ss[c] / (M_all - 1));
        }
      }
    } else {
      for (int64_t c = 0; c < C; ++c) {
        mu[c] = running_mean.data<T>()[c * running_mean.strides()[0]];
        var[c] = running_var.data<T>()[c * running_var.strides()[0]];
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      const T m = static_cast<T>(mu[c]);
      const T rs = static_cast<T>(1.0 / std::sqrt(var[c] + eps));
      mean[c] = m;
      rstd[c] = rs;
      const T wc = w ? w[c] : T(1), bc = b ? b[c] : T(0);
      T* yp = out.data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t l = 0; l < L; ++l) {
          const int64_t k = (n * C + c) * L + l;
          yp[k] = (xp[k] - m) * rs * wc + bc;
        }
    }
  });
  if (needs_grad({x, weight, bias})) {
    record("batch_norm", {x, weight, bias}, out,
           [xc, wt = wc, stats, N, C, L, M_all, batch_stats, sum_over_batch, rx = x.requires_grad(),
            rw = weight.defined() && weight.requires_grad(),
            rb = bias.defined() && bias.requires_grad()](const Tensor& g) {
             Tensor gc = g.contiguous_data();
             Tensor dx = rx ? Tensor::empty(xc.shape(), xc.dtype(), xc.context()) : Tensor();
             Tensor dw = rw ? Tensor::empty(Shape{C}, xc.dtype(), xc.context()) : Tensor();
             Tensor db = rb ? Tensor::empty(Shape{C}, xc.dtype(), xc.context()) : Tensor();
             dispatch_float(xc.dtype(), "batch_norm", [&](auto tag) {
               using T = decltype(tag);
               const T* xp = xc.data<T>();
               const T* gp = gc.data<T>();
               const T* mean = stats.data<T>();
               const T* rstd = mean + C;
               std::vector<double> sums(2 * C, 0.0);  // Σ g, then Σ g·x̂, per channel
               for (int64_t c = 0; c < C; ++c) {
                 double sg = 0, sgx = 0;
                 for (int64_t n = 0; n < N; ++n)
                   for (int64_t l = 0; l < L; ++l) {
                     const int64_t k = (n * C + c) * L + l;
                     sg += gp[k];
                     sgx += gp[k] * (xp[k] - mean[c]) * rstd[c];
                   }
                 // this process's share: the trainer sums parameter gradients over processes
                 if (rw) dw.data<T>()[c] = static_cast<T>(sgx);
                 if (rb) db.data<T>()[c] = static_cast<T>(sg);
                 sums[c] = sg;
                 sums[C + c] = sgx;
               }
               if (!rx) return;
               if (sum_over_batch) sum_over_batch(sums.data(), sums.size());
               T* dp = dx.data<T>();
               for (int64_t c = 0; c < C; ++c) {
                 const T w = wt.defined() ? wt.data<T>()[c] : T(1);
                 const T scale = w * rstd[c];
                 // batch stats: dx = w·rstd·(g − Σg/M − x̂·Σ(g·x̂)/M); running stats: w·rstd·g
                 const T mg = batch_stats ? static_cast<T>(sums[c] / M_all) : T(0);
                 const T mgx = batch_stats ? static_cast<T>(sums[C + c] / M_all) : T(0);
                 for (int64_t n = 0; n < N; ++n)
                   for (int64_t l = 0; l < L; ++l) {
                     const int64_t k = (n * C + c) * L + l;
                     const T xh = (xp[k] - mean[c]) * rstd[c];
                     dp[k] = scale * (gp[k] - mg - xh * mgx);
                   }
               }
             });
             return std::vector<Tensor>{dx, dw, db};
           });
  }
  return out;
}

namespace {

// The draws of one dropout: counters [first, first + n) of the seed; an element is kept (times
// scale) where its draw is below threshold, else zeroed.
struct DropoutDraws {
  uint64_t seed = 0, first = 0;
  uint32_t threshold = 0;
  float scale = 0.0f;
};

// out = x ⊙ m, m_i = draw_i < threshold ? scale : 0 (F32). No mask is kept: the backward applies
// the same draws to the gradient, dx = g ⊙ m.
Tensor apply_dropout_draws(const Tensor& x, const DropoutDraws& d) {
  Tensor xc = x.contiguous_data();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.context());
  const float* xp = xc.data<float>();
  float* op = out.data<float>();
  const int64_t n = out.numel(), threads = x.context().threads();
  // Chunks of 4096 draws (a multiple of 4, so chunk boundaries keep the hash groups aligned).
  const int64_t chunks = (n + 4095) / 4096;
  kernels::parallel_chunks(chunks, n > 262144 ? static_cast<int>(threads) : 1,
                           kernels::kParallelMinWork, [&](int64_t k0, int64_t k1) {
                             for (int64_t k = k0; k < k1; ++k) {
                               const int64_t begin = k * 4096;
                               kernels::mul_draw16(d.seed, d.first + begin,
                                                   std::min<int64_t>(4096, n - begin), d.threshold,
                                                   d.scale, 0.0f, xp + begin, op + begin);
                             }
                           });
  if (needs_grad({x}))
    record("dropout", {x}, out,
           [d](const Tensor& g) { return std::vector<Tensor>{apply_dropout_draws(g, d)}; });
  return out;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) {
  ATTEND_CHECK(x.defined(), "[dropout] got an undefined tensor");
  ATTEND_CHECK(p >= 0.0 && p <= 1.0, "[dropout] probability {} is not in [0, 1]", p);
  if (!training || p == 0.0) return x;
  Context& ctx = x.context();
  if (x.dtype() == DType::F32) {
    DropoutDraws d;  // p = 1: every element zeroed, no counters used
    if (p < 1.0) {
      d.seed = ctx.generator().seed();
      d.first = ctx.generator().reserve_rows(static_cast<uint64_t>(x.numel()));
      d.threshold = kernels::draw16_threshold(1.0 - p);  // kept below it
      d.scale = static_cast<float>(1.0 / (1.0 - p));
    }
    return apply_dropout_draws(x, d);
  }
  Tensor mask = Tensor::empty(x.shape(), x.dtype(), ctx);  // keep / (1 − p), or 0
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    T* mp = mask.data<T>();
    const int64_t n = mask.numel();
    if (p == 1.0) {
      for (int64_t i = 0; i < n; ++i) mp[i] = T(0);
      return;
    }
    ctx.generator().fill_bernoulli(mp, n, 1.0 - p, ctx.threads());
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    for (int64_t i = 0; i < n; ++i) mp[i] *= scale;
  });
  Tensor out;
  {
    NoGradGuard no_grad;
    out = mul(x, mask);
  }
  if (needs_grad({x}))
    record("dropout", {x}, out,
           [mask](const Tensor& g) { return std::vector<Tensor>{mul(g, mask)}; });
  return out;
}

Tensor glu(const Tensor& x, const Tensor& residual) {
  ATTEND_CHECK(x.defined() && x.ndim() >= 1 && x.size(-1) % 2 == 0,
               "[glu] input must have an even last dimension, got shape {}",
               x.defined() ? x.shape().str() : "undefined");
  const int64_t d = x.size(-1) / 2, rows = d ? x.numel() / (2 * d) : 0;
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = d;
  if (residual.defined())
    ATTEND_CHECK(residual.shape() == out_shape && residual.dtype() == x.dtype(),
                 "[glu] residual of shape {} does not match the output shape {}",
                 residual.shape().str(), out_shape.str());
  Tensor xc = x.contiguous_data();
  Tensor rc = residual.defined() ? residual.contiguous_data() : Tensor();
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.context());
  dispatch_float(x.dtype(), "glu", [&](auto tag) {
    using T = decltype(tag);
    const T* r = rc.defined() ? rc.data<T>() : nullptr;
    if constexpr (std::is_same_v<T, float>)
      kernels::glu_forward(xc.data<T>(), r, out.data<T>(), rows, d, x.context().threads());
    else
      kernels::glu_forward_reference(xc.data<T>(), r, out.data<T>(), rows, d);
  });
  if (needs_grad({x, residual}))
    record("glu", {x, residual}, out,
           [xc, rows, d, with_residual = residual.defined()](const Tensor& g) {
             Tensor gc = g.contiguous_data();
             Tensor dx = Tensor::empty(xc.shape(), xc.dtype(), xc.context());
             dispatch_float(xc.dtype(), "glu", [&](auto tag) {
               using T = decltype(tag);
               if constexpr (std::is_same_v<T, float>)
                 kernels::glu_backward(xc.data<T>(), gc.data<T>(), dx.data<T>(), rows, d,
                                       xc.context().threads());
               else
                 kernels::glu_backward_reference(xc.data<T>(), gc.data<T>(), dx.data<T>(), rows, d);
             });
             return std::vector<Tensor>{dx, with_residual ? gc : Tensor()};
           });
  return out;
}

}  // namespace attend
