#include "attend/tensor/allocator.h"

#include <cstdlib>
#include <new>

#include "attend/base/sanitizer.h"

namespace attend {

namespace {
// Under AddressSanitizer nothing is cached: every block goes back to the system when returned, so
// that a read or write through a stale pointer is reported instead of landing in a recycled block.
#if defined(ATTEND_ASAN)
constexpr bool kCacheBlocks = false;
#else
constexpr bool kCacheBlocks = true;
#endif
}  // namespace

CachingAllocator::CachingAllocator(size_t max_cached_bytes)
    : max_cached_bytes_(kCacheBlocks ? max_cached_bytes : 0) {}

CachingAllocator::~CachingAllocator() {
  release_cached();
}

void* CachingAllocator::allocate(size_t bytes) {
  size_t size = round_up(bytes == 0 ? 1 : bytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      stats_.bytes_cached -= size;
      stats_.bytes_in_use += size;
      if (stats_.bytes_in_use > stats_.peak_bytes_in_use)
        stats_.peak_bytes_in_use = stats_.bytes_in_use;
      return p;
    }
    stats_.bytes_in_use += size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use)
      stats_.peak_bytes_in_use = stats_.bytes_in_use;
    ++stats_.system_allocations;
  }
  void* p = std::aligned_alloc(kAlignment, size);
  if (p == nullptr) {
    release_cached();
    p = std::aligned_alloc(kAlignment, size);
  }
  if (p == nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.bytes_in_use -= size;
    throw std::bad_alloc();
  }
  return p;
}

void CachingAllocator::deallocate(void* ptr, size_t bytes) {
  if (ptr == nullptr) return;
  size_t size = round_up(bytes == 0 ? 1 : bytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.bytes_in_use -= size;
    if (stats_.bytes_cached + size <= max_cached_bytes_) {
      free_[size].push_back(ptr);
      stats_.bytes_cached += size;
      return;
    }
  }
  std::free(ptr);
}

void CachingAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [size, blocks] : free_)
    for (void* p : blocks) std::free(p);
  free_.clear();
  stats_.bytes_cached = 0;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

}  // namespace attend
