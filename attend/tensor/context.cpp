#include "attend/tensor/context.h"

#include <thread>

namespace attend {

namespace {
int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}
}  // namespace

Context::Context(const ContextOptions& options)
    : threads_(options.threads > 0 ? options.threads : hardware_threads()),
      generator_(options.seed),
      allocator_(options.max_cached_bytes) {}

void Context::set_threads(int n) {
  threads_ = n > 0 ? n : hardware_threads();
}

Context& default_context() {
  static Context context;
  return context;
}

}  // namespace attend
