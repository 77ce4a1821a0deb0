#include "attend/train/distributed.h"

#include "attend/base/error.h"

namespace attend::train {

BatchShare batch_share(int64_t n, int rank, int size) {
  ATTEND_CHECK(size >= 1 && rank >= 0 && rank < size && n >= 0,
               "[distributed] bad share: rank {} of {} ranks, {} rows", rank, size, n);
  const int64_t first = n * rank / size, last = n * (rank + 1) / size;
  return {first, last - first};
}

std::vector<std::string> all_gather(Communicator& comm, const std::string& bytes) {
  const auto N = static_cast<size_t>(comm.size()), r = static_cast<size_t>(comm.rank());
  std::vector<double> lengths(N, 0.0);
  lengths[r] = static_cast<double>(bytes.size());
  comm.allreduce_sum(lengths.data(), N);
  std::vector<size_t> offset(N + 1, 0);  // offset[i]: where rank i's bytes start
  for (size_t i = 0; i < N; ++i) offset[i + 1] = offset[i] + static_cast<size_t>(lengths[i]);
  std::vector<float> all(offset[N], 0.0f);
  for (size_t i = 0; i < bytes.size(); ++i)
    all[offset[r] + i] = static_cast<float>(static_cast<unsigned char>(bytes[i]));
  comm.allreduce_sum(all.data(), all.size());
  std::vector<std::string> out(N);
  for (size_t i = 0; i < N; ++i)
    for (size_t k = offset[i]; k < offset[i + 1]; ++k)
      out[i] += static_cast<char>(static_cast<unsigned char>(all[k]));
  return out;
}

}  // namespace attend::train
