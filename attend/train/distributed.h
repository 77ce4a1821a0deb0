#pragma once
// Data-parallel training: N processes (ranks) each hold the whole model and compute a share of
// every global batch of --batch_size windows; their gradients are summed before the optimizer
// step, so every rank takes the step one process takes on the whole batch (docs/distributed.md).
// The library only sees this interface; the CLI implements it over MPI (apps/attend/mpi/).
#include <cstddef>
#include <cstdint>

namespace attend::train {

class Communicator {
 public:
  virtual ~Communicator() = default;
  // This process's index in [0, size()) and the number of processes.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place on every rank: x[i] = Σ over ranks of x[i]. Collective: every rank calls it with
  // the same n, in the same order as its other collective calls.
  virtual void allreduce_sum(float* x, size_t n) = 0;
  virtual void allreduce_sum(double* x, size_t n) = 0;
};

// Rows [first, first + count) of a batch.
struct BatchShare {
  int64_t first = 0, count = 0;
};

// Rank r's contiguous share of a batch of n rows among `size` ranks: rows [⌊n·r/size⌋,
// ⌊n·(r+1)/size⌋) (sizes differ by at most one; a share is empty when n < size).
BatchShare batch_share(int64_t n, int rank, int size);

}  // namespace attend::train
