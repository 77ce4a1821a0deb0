#include "attend/optim/clip_grad.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attend/autograd/node.h"

namespace attend::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  ATTEND_CHECK(norm_type > 0.0, "[clip_grad_norm_] norm_type must be positive, got {}", norm_type);
  NoGradGuard ng;
  const bool inf = std::isinf(norm_type);
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  double total = 0.0;  // max-abs, or Σ‖g‖ₚᵖ
  for (const Tensor& g : grads) {
    double acc = 0.0;
    dispatch_float(g.dtype(), "clip_grad_norm_", [&](auto tag) {
      using T = decltype(tag);
      const T* base = static_cast<const T*>(g.storage()->data);
      for_each_offset(g.shape(), g.strides(), g.offset(), [&](int64_t, int64_t off) {
        double x = std::abs(static_cast<double>(base[off]));
        if (inf)
          acc = std::max(acc, x);
        else
          acc += norm_type == 2.0 ? x * x : std::pow(x, norm_type);
      });
    });
    if (inf)
      total = std::max(total, acc);
    else
      total += std::pow(std::pow(acc, 1.0 / norm_type), norm_type);
  }
  if (!inf) total = std::pow(total, 1.0 / norm_type);
  const double coef = std::min(max_norm / (total + 1e-6), 1.0);
  for (const Tensor& g : grads) {
    dispatch_float(g.dtype(), "clip_grad_norm_", [&](auto tag) {
      using T = decltype(tag);
      T* base = static_cast<T*>(g.storage()->data);
      const T c = T(coef);
      for_each_offset(g.shape(), g.strides(), g.offset(),
                      [&](int64_t, int64_t off) { base[off] = base[off] * c; });
    });
  }
  return total;
}

}  // namespace attend::optim
