#pragma once
// The pieces of the extension module attend._attend (python/src/module.cpp), one per file.
#include <pybind11/pybind11.h>

void bind_errors(pybind11::module_& m);      // errors.cpp: attend::Error -> ValueError, ...
void bind_kernels(pybind11::module_& m);     // kernels.cpp: attention, models, __version__
void bind_forecaster(pybind11::module_& m);  // forecaster.cpp: Forecaster, load

// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts): they go to
// Python's main thread, whose handler turns them into KeyboardInterrupt (module.cpp).
void block_stop_signals();
