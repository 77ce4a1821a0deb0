#pragma once
// Context: owns what would otherwise be global state — thread count, random generator, allocator.
// Every tensor points at the context it was made in; ops on tensors use their inputs' context.
// A context must outlive the tensors made in it.
#include <cstddef>
#include <cstdint>
#include <functional>

#include "attend/tensor/allocator.h"
#include "attend/tensor/random.h"

namespace attend {

struct ContextOptions {
  int threads = 0;    // worker threads for kernels; 0 = all hardware threads
  uint64_t seed = 0;  // seed of the context's generator
  size_t max_cached_bytes = size_t(4) << 30;  // allocator cache limit
};

class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int threads() const { return threads_; }
  // n <= 0 means all hardware threads.
  void set_threads(int n);
  Generator& generator() { return generator_; }
  CachingAllocator& allocator() { return allocator_; }

  // Data-parallel training (attend/train/distributed.h): while set, a batch is split across
  // processes and batch_sum() sums a buffer over them in place (every process gets the sums);
  // batch statistics (batch_norm) are then those of the whole batch. Empty otherwise.
  using BatchSum = std::function<void(double* values, size_t n)>;
  const BatchSum& batch_sum() const { return batch_sum_; }
  void set_batch_sum(BatchSum sum) { batch_sum_ = std::move(sum); }

 private:
  int threads_;
  BatchSum batch_sum_;
  Generator generator_;
  CachingAllocator allocator_;
};

// The context used when a caller names none. Callers that need isolation (tests, services,
// several models in one process) make their own Context and pass it.
Context& default_context();

}  // namespace attend
