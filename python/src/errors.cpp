// Exception translation: attend::NotFoundError -> FileNotFoundError, attend::Error -> ValueError;
// any other std::exception keeps pybind11's default (RuntimeError, MemoryError for bad_alloc, ...).
#include "attend/base/error.h"
#include "bindings.h"

void bind_errors(pybind11::module_& /*m*/) {
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const attend::NotFoundError& e) {
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
    } catch (const attend::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}
