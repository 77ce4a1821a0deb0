#pragma once
// N ranks as threads of one process over an in-memory train::Communicator, for the data-parallel
// tests (tests/train) and compare across ranks (tests/compare) without MPI.
#include <algorithm>
#include <barrier>
#include <exception>
#include <thread>
#include <vector>

#include "attend/train/distributed.h"

namespace attend::testing {

// N ranks as threads: allreduce_sum adds the ranks' buffers in rank order (deterministic).
class ThreadRanks {
 public:
  explicit ThreadRanks(int n) : n_(n), sync_(n), buffers_(static_cast<size_t>(n)) {}

  class Rank final : public train::Communicator {
   public:
    Rank(ThreadRanks& all, int rank) : all_(all), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return all_.n_; }
    void allreduce_sum(float* x, size_t n) override { all_.reduce(rank_, x, n); }
    void allreduce_sum(double* x, size_t n) override { all_.reduce(rank_, x, n); }

   private:
    ThreadRanks& all_;
    int rank_;
  };

  // Runs f(rank's communicator) on n threads; rethrows the first rank's exception.
  template <typename F>
  void run(F&& f) {
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(static_cast<size_t>(n_));
    for (int r = 0; r < n_; ++r)
      threads.emplace_back([&, r] {
        Rank comm(*this, r);
        try {
          f(comm);
        } catch (...) {
          errors[static_cast<size_t>(r)] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

 private:
  template <typename T>
  void reduce(int rank, T* x, size_t n) {
    buffers_[static_cast<size_t>(rank)] = x;
    sync_.arrive_and_wait();  // every rank's buffer is posted
    std::vector<T> sum(n, T(0));
    for (void* b : buffers_)
      for (size_t i = 0; i < n; ++i) sum[i] += static_cast<T*>(b)[i];
    sync_.arrive_and_wait();  // every rank has read every buffer
    std::copy(sum.begin(), sum.end(), x);
  }

  int n_;
  std::barrier<> sync_;
  std::vector<void*> buffers_;
};

}  // namespace attend::testing
