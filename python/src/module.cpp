// attend._attend: the extension module under the Python package attend (python/attend/).
#include <omp.h>
#include <pthread.h>

#include <csignal>

#include "bindings.h"

void block_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
}

namespace {

// Starts the main thread's OpenMP workers with SIGINT and SIGTERM blocked (they keep the mask
// they are created with), so that Ctrl-C during a forecast on the main thread reaches Python's
// handler there and never a compute thread.
void start_openmp_workers_without_stop_signals() {
  sigset_t old;
  pthread_sigmask(SIG_SETMASK, nullptr, &old);
  block_stop_signals();
#pragma omp parallel
  { (void)omp_get_thread_num(); }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

PYBIND11_MODULE(_attend, m) {
  m.doc() = "attend's C++ core: attention kernels and the forecasting models (see attend)";
  start_openmp_workers_without_stop_signals();
  bind_errors(m);
  bind_kernels(m);
  bind_forecaster(m);
}
