#include "attend/optim/adam.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "attend/autograd/node.h"
#include "attend/kernels/adam.h"

namespace attend::optim {

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::move(params), options, false, "Adam") {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled, std::string name)
    : Optimizer(std::move(params), options.lr, std::move(name)),
      options_(options),
      decoupled_(decoupled) {
  ATTEND_CHECK(options.eps >= 0.0, "[{}] invalid epsilon {}", name_, options.eps);
  ATTEND_CHECK(options.beta1 >= 0.0 && options.beta1 < 1.0, "[{}] invalid beta1 {}", name_,
               options.beta1);
  ATTEND_CHECK(options.beta2 >= 0.0 && options.beta2 < 1.0, "[{}] invalid beta2 {}", name_,
               options.beta2);
  ATTEND_CHECK(options.weight_decay >= 0.0, "[{}] invalid weight_decay {}", name_,
               options.weight_decay);
}

AdamW::AdamW(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::move(params), options, true, "AdamW") {}

void Adam::step() {
  NoGradGuard ng;
  const double lr = lr_, b1 = options_.beta1, b2 = options_.beta2, eps = options_.eps,
               wd = options_.weight_decay;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = grad_of(i);
    if (!g.defined()) continue;
    Tensor m = buffer(i, "exp_avg"), v = buffer(i, "exp_avg_sq");
    Tensor vmax = options_.amsgrad ? buffer(i, "max_exp_avg_sq") : Tensor();
    int64_t t = ++param_steps_[i];
    // Scalars are computed in double and applied in the parameter's type, as PyTorch does.
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t));
    const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(t)));
    const double step_size = lr / bc1;
    dispatch_float(params_[i].dtype(), name_.c_str(), [&](auto tag) {
      using T = decltype(tag);
      kernels::AdamCoefficients<T> c{
          T(b1),       T(b2),         T(1.0 - b1), T(1.0 - b2),      T(eps),
          T(bc2_sqrt), T(-step_size), T(wd),       T(1.0 - lr * wd), decoupled_};
      T* p = params_[i].data<T>();
      const T* gp = g.data<T>();
      T* vm = vmax.defined() ? vmax.data<T>() : nullptr;
      const int64_t n = params_[i].numel();
      if constexpr (std::is_same_v<T, float>)
        kernels::adam_update(c, p, gp, m.data<T>(), v.data<T>(), vm, n,
                             params_[i].context().threads());
      else
        kernels::adam_update_reference(c, p, gp, m.data<T>(), v.data<T>(), vm, n);
    });
  }
  ++steps_;
}

}  // namespace attend::optim
