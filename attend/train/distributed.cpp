#include "attend/train/distributed.h"

#include "attend/base/error.h"

namespace attend::train {

BatchShare batch_share(int64_t n, int rank, int size) {
  ATTEND_CHECK(size >= 1 && rank >= 0 && rank < size && n >= 0,
               "[distributed] bad share: rank {} of {} ranks, {} rows", rank, size, n);
  const int64_t first = n * rank / size, last = n * (rank + 1) / size;
  return {first, last - first};
}

}  // namespace attend::train
