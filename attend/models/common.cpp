#include "attend/models/common.h"

#include "attend/ops/elementwise.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"

namespace attend::models {

Tensor normalize_window(const Tensor& x, WindowNorm& norm) {
  norm.means = mean(x, {1}, true).detach();
  Tensor centred = sub(x, norm.means);
  norm.stdev = sqrt(add(var(centred, {1}, /*unbiased=*/false, true), 1e-5));
  return div(centred, norm.stdev);
}

Tensor denormalize_window(const Tensor& y, const WindowNorm& norm) {
  if (y.ndim() == 4) return add(mul(y, unsqueeze(norm.stdev, 3)), unsqueeze(norm.means, 3));
  return add(mul(y, norm.stdev), norm.means);
}

}  // namespace attend::models
