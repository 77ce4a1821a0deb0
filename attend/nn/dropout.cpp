#include "attend/nn/dropout.h"

#include "attend/ops/nn_functional.h"

namespace attend::nn {

Dropout::Dropout(double p) : p_(p) {
  ATTEND_CHECK(p >= 0.0 && p <= 1.0, "[Dropout] probability has to be between 0 and 1, got {}", p);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  return dropout(x, p_, true);
}

}  // namespace attend::nn
