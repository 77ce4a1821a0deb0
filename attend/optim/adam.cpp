#include "attend/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "attend/autograd/node.h"

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
      T* p = params_[i].data<T>();
      const T* gp = g.data<T>();
      T* mp = m.data<T>();
      T* vp = v.data<T>();
      T* vm = vmax.defined() ? vmax.data<T>() : nullptr;
      const T tb1 = T(b1), tb2 = T(b2), t1b1 = T(1.0 - b1), t1b2 = T(1.0 - b2), teps = T(eps),
              tbc2 = T(bc2_sqrt), tstep = T(-step_size), twd = T(wd), tdecay = T(1.0 - lr * wd);
      for (int64_t k = 0, n = params_[i].numel(); k < n; ++k) {
        T gk = gp[k];
        if (wd != 0.0) {
          if (decoupled_)
            p[k] = p[k] * tdecay;
          else
            gk = gk + twd * p[k];
        }
        mp[k] = mp[k] * tb1 + t1b1 * gk;
        vp[k] = vp[k] * tb2 + t1b2 * gk * gk;
        T vh = vp[k];
        if (vm) {
          vm[k] = std::max(vm[k], vp[k]);
          vh = vm[k];
        }
        T denom = std::sqrt(vh) / tbc2 + teps;
        p[k] = p[k] + tstep * mp[k] / denom;
      }
    });
  }
  ++steps_;
}

}  // namespace attend::optim
