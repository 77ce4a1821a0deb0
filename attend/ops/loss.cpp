// Regression losses (mean over all elements): forward and backward side by side.
#include "attend/ops/loss.h"

#include <cmath>

#include "attend/autograd/node.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/nn_functional.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"

namespace attend {

namespace {

enum class Kind { Mse, Mae, Huber };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Mse:
      return "mse_loss";
    case Kind::Mae:
      return "mae_loss";
    case Kind::Huber:
      return "huber_loss";
  }
  return "?";
}

// Loss of one difference d = pred − target.
template <typename T>
inline double elem_loss(Kind k, T d, double delta) {
  switch (k) {
    case Kind::Mse:
      return double(d) * d;
    case Kind::Mae:
      return std::abs(double(d));
    case Kind::Huber: {
      const double z = std::abs(double(d));
      return z < delta ? 0.5 * z * z : delta * (z - 0.5 * delta);
    }
  }
  return 0;
}

// d loss / d d for one difference.
template <typename T>
inline T elem_grad(Kind k, T d, T delta) {
  switch (k) {
    case Kind::Mse:
      return T(2) * d;
    case Kind::Mae:
      return d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0));
    case Kind::Huber:
      return d < -delta ? -delta : (d > delta ? delta : d);
  }
  return T(0);
}

Tensor loss(Kind kind, const Tensor& pred, const Tensor& target, double delta) {
  const char* name = kind_name(kind);
  ATTEND_CHECK(pred.defined() && target.defined(), "[{}] got an undefined tensor", name);
  ATTEND_CHECK(pred.shape() == target.shape(), "[{}] pred shape {} and target shape {} differ",
               name, pred.shape().str(), target.shape().str());
  ATTEND_CHECK(pred.dtype() == target.dtype(), "[{}] pred is {} but target is {}", name,
               dtype_name(pred.dtype()), dtype_name(target.dtype()));
  ATTEND_CHECK(kind != Kind::Huber || delta > 0, "[huber_loss] delta must be positive, got {}",
               delta);
  Tensor pc = pred.contiguous_data(), tc = target.contiguous_data();
  Tensor out = Tensor::empty(Shape{}, pred.dtype(), pred.context());
  const int64_t n = pc.numel();
  dispatch_float(pred.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T* p = pc.data<T>();
    const T* t = tc.data<T>();
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += elem_loss<T>(kind, p[i] - t[i], delta);
    out.data<T>()[0] = static_cast<T>(s / static_cast<double>(n));
  });
  if (needs_grad({pred, target})) {
    record(name, {pred, target}, out,
           [kind, pc, tc, delta, rp = pred.requires_grad(),
            rt = target.requires_grad()](const Tensor& g) {
             Tensor dp = Tensor::empty(pc.shape(), pc.dtype(), pc.context());
             Tensor dt = rt ? Tensor::empty(pc.shape(), pc.dtype(), pc.context()) : Tensor();
             dispatch_float(pc.dtype(), "loss", [&](auto tag) {
               using T = decltype(tag);
               const int64_t n = pc.numel();
               const T scale = static_cast<T>(g.item() / static_cast<double>(n));
               const T* p = pc.data<T>();
               const T* t = tc.data<T>();
               T* dpp = dp.data<T>();
               for (int64_t i = 0; i < n; ++i)
                 dpp[i] = scale * elem_grad<T>(kind, p[i] - t[i], static_cast<T>(delta));
               if (rt) {
                 T* dtp = dt.data<T>();
                 for (int64_t i = 0; i < n; ++i) dtp[i] = -dpp[i];
               }
             });
             return std::vector<Tensor>{rp ? dp : Tensor(), dt};
           });
  }
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  return loss(Kind::Mse, pred, target, 0.0);
}

Tensor mae_loss(const Tensor& pred, const Tensor& target) {
  return loss(Kind::Mae, pred, target, 0.0);
}

Tensor huber_loss(const Tensor& pred, const Tensor& target, double delta) {
  return loss(Kind::Huber, pred, target, delta);
}

Tensor pinball_loss(const Tensor& pred_q, const Tensor& target,
                    const std::vector<double>& quantiles) {
  const int64_t Q = static_cast<int64_t>(quantiles.size());
  ATTEND_CHECK(pred_q.defined() && target.defined() && pred_q.ndim() == target.ndim() + 1 &&
                   pred_q.size(pred_q.ndim() - 1) == Q,
               "[pinball_loss] expected pred (..., Q={}) and target (...), got {} and {}", Q,
               pred_q.defined() ? pred_q.shape().str() : "none",
               target.defined() ? target.shape().str() : "none");
  for (int i = 0; i < target.ndim(); ++i)
    ATTEND_CHECK(pred_q.size(i) == target.size(i),
                 "[pinball_loss] pred {} and target {} do not match", pred_q.shape().str(),
                 target.shape().str());
  for (double q : quantiles)
    ATTEND_CHECK(q > 0.0 && q < 1.0, "[pinball_loss] quantile {} is not in (0, 1)", q);
  Tensor qs = Tensor::from_doubles(quantiles, Shape({Q}), pred_q.dtype(), pred_q.context());
  // d = y − ŷ; max(q·d, (q − 1)·d) = q·d + relu(−d)
  Tensor d = sub(unsqueeze(target.detach(), target.ndim()), pred_q);
  return mean(add(mul(d, qs), relu(neg(d))));
}

}  // namespace attend
