#include "attend/optim/sgd.h"

#include "attend/autograd/node.h"

namespace attend::optim {

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : Optimizer(std::move(params), options.lr, "SGD"), options_(options) {
  ATTEND_CHECK(options.momentum >= 0.0, "[SGD] invalid momentum {}", options.momentum);
  ATTEND_CHECK(options.weight_decay >= 0.0, "[SGD] invalid weight_decay {}", options.weight_decay);
  ATTEND_CHECK(!options.nesterov || (options.momentum > 0.0 && options.dampening == 0.0),
               "[SGD] nesterov momentum requires a momentum and zero dampening");
}

void SGD::step() {
  NoGradGuard ng;
  const double lr = lr_, mom = options_.momentum, damp = options_.dampening,
               wd = options_.weight_decay;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = grad_of(i);
    if (!g.defined()) continue;
    bool fresh = false;
    Tensor buf = mom != 0.0 ? buffer(i, "momentum_buffer", &fresh) : Tensor();
    dispatch_float(params_[i].dtype(), "SGD", [&](auto tag) {
      using T = decltype(tag);
      T* p = params_[i].data<T>();
      const T* gp = g.data<T>();
      T* b = buf.defined() ? buf.data<T>() : nullptr;
      const T twd = T(wd), tmom = T(mom), tdamp = T(1.0 - damp), tlr = T(-lr);
      for (int64_t k = 0, n = params_[i].numel(); k < n; ++k) {
        T d = gp[k];
        if (wd != 0.0) d = d + twd * p[k];
        if (b) {
          b[k] = fresh ? d : b[k] * tmom + tdamp * d;
          d = options_.nesterov ? d + tmom * b[k] : b[k];
        }
        p[k] = p[k] + tlr * d;
      }
    });
    ++param_steps_[i];
  }
  ++steps_;
}

}  // namespace attend::optim
