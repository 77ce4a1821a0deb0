// attend._attend: the extension module under the Python package attend (python/attend/).
#include "bindings.h"

PYBIND11_MODULE(_attend, m) {
  m.doc() = "attend's C++ core: attention kernels and the forecasting models (see attend)";
  bind_errors(m);
  bind_kernels(m);
  bind_forecaster(m);
}
