#pragma once
// Data-parallel training: N processes (ranks) each hold the whole model and compute a share of
// every global batch of --batch_size windows; their gradients are summed before the optimizer
// step, so every rank takes the step one process takes on the whole batch (docs/distributed.md).
// The library only sees this interface; the CLI implements it over MPI (apps/attend/mpi/).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

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

// Every rank's `bytes`, in rank order, on every rank (an all-gather). Collective. Built on
// allreduce_sum alone, so every Communicator has it: one sum of N doubles (rank r adds its length
// at slot r of zeros), then one sum of Σ lengths floats (rank r adds its bytes, each as a float in
// [0, 256), at its offset among zeros). A sum of one value and zeros is that value exactly, so
// the bytes come back unchanged. It moves 4 bytes per byte: for small messages (a table's rows).
std::vector<std::string> all_gather(Communicator& comm, const std::string& bytes);

}  // namespace attend::train
