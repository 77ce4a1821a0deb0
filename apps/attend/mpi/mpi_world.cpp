#include "mpi_world.h"

#include <mpi.h>

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include "attend/base/error.h"

namespace attend::cli {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail("[mpi] {} failed: {}", what, std::string(text, static_cast<size_t>(len)));
}

}  // namespace

// MPI counts are int: a buffer is reduced in pieces of at most INT_MAX elements.
void MpiWorld::allreduce(void* x, size_t n, bool f64) {
  const double t0 = MPI_Wtime();
  const size_t element_size = f64 ? sizeof(double) : sizeof(float);
  const MPI_Datatype type = f64 ? MPI_DOUBLE : MPI_FLOAT;
  ++calls_;
  bytes_ += static_cast<int64_t>(n * element_size);
  auto* p = static_cast<char*>(x);
  while (n > 0) {
    const size_t k = std::min<size_t>(n, INT_MAX);
    check(MPI_Allreduce(MPI_IN_PLACE, p, static_cast<int>(k), type, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
    p += k * element_size;
    n -= k;
  }
  seconds_ += MPI_Wtime() - t0;
}

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

std::unique_ptr<MpiWorld> MpiWorld::start(int* argc, char*** argv) {
  if (!launched_by_mpi()) return nullptr;
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors come back as codes (check() turns them into attend errors) instead of aborting inside
  // MPI with its own message.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::unique_ptr<MpiWorld>(new MpiWorld(rank, size));
}

MpiWorld::~MpiWorld() {
  const char* stats = std::getenv("ATTEND_MPI_STATS");
  if (rank_ == 0 && stats && std::string(stats) == "1")
    fmt::print(stderr, "allreduce (rank 0): {} calls, {:.1f} MB, {:.3f} s\n", calls_,
               static_cast<double>(bytes_) / 1e6, seconds_);
  MPI_Finalize();
}

void MpiWorld::allreduce_sum(float* x, size_t n) {
  allreduce(x, n, false);
}

void MpiWorld::allreduce_sum(double* x, size_t n) {
  allreduce(x, n, true);
}

void MpiWorld::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; should it, the process ends anyway
}

}  // namespace attend::cli
