#pragma once
// MPI_COMM_WORLD as the trainer's Communicator (attend/train/distributed.h), for
// `mpirun -np N attend train ...`. Only the CLI links this (target attend_mpi); the library does
// not depend on MPI.
#include <cstdint>
#include <memory>

#include "attend/train/distributed.h"

namespace attend::cli {

class MpiWorld final : public train::Communicator {
 public:
  // MPI_Init_thread (MPI_THREAD_FUNNELED: only the main thread calls MPI), when the process was
  // started by an MPI launcher (launched_by_mpi()); nullptr otherwise, so a plain `attend` never
  // starts MPI.
  static std::unique_ptr<MpiWorld> start(int* argc, char*** argv);
  // MPI_Finalize. With ATTEND_MPI_STATS=1 in the environment, rank 0 first prints its
  // allreduce calls, bytes and seconds (waiting for slower ranks included) to stderr.
  ~MpiWorld() override;
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* x, size_t n) override;
  void allreduce_sum(double* x, size_t n) override;
  // Ends every rank of the job with `code` (MPI_Abort): after an error on one rank, so the others
  // do not wait forever in a collective.
  [[noreturn]] void abort(int code);

 private:
  MpiWorld(int rank, int size) : rank_(rank), size_(size) {}
  // x: n floats, or n doubles when f64
  void allreduce(void* x, size_t n, bool f64);

  int rank_, size_;
  int64_t calls_ = 0, bytes_ = 0;
  double seconds_ = 0;
};

// Whether an MPI launcher started this process: mpirun/mpiexec (Open MPI: OMPI_COMM_WORLD_SIZE;
// MPICH, Intel MPI: PMI_RANK) or Slurm's srun with PMIx or PMI-2 (PMIX_RANK, PMI_RANK).
bool launched_by_mpi();

}  // namespace attend::cli
