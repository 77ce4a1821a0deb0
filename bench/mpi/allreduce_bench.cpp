// MPI_Allreduce (sum) of n floats: the gradient sum of a data-parallel step, alone.
// mpirun -np 2 build/allreduce_bench [MB ...]   (default: 0.001 1 15 42)
// Prints, per size, the median over 15 repetitions of the slowest rank's time and the bytes per
// second that gives (bytes / time).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<double> megabytes;
  for (int i = 1; i < argc; ++i) megabytes.push_back(std::atof(argv[i]));
  if (megabytes.empty()) megabytes = {0.001, 1, 15, 42};
  if (rank == 0) std::printf("ranks %d\n%10s %10s %10s\n", size, "MB", "ms", "GB/s");
  for (double mb : megabytes) {
    const auto n = static_cast<size_t>(mb * 1e6 / sizeof(float));
    std::vector<float> x(std::max<size_t>(n, 1), 1.0f);
    std::vector<double> times;
    for (int r = 0; r < 18; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, x.data(), static_cast<int>(x.size()), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      double t = MPI_Wtime() - t0;
      MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      if (r >= 3) times.push_back(t);  // 3 warm-up rounds
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    if (rank == 0)
      std::printf("%10.6f %10.4f %10.2f\n", mb, median * 1e3, x.size() * 4.0 / median / 1e9);
  }
  MPI_Finalize();
  return 0;
}
