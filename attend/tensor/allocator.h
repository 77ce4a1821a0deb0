#pragma once
// Caching allocator: 64-byte-aligned blocks, recycled by exact (64-byte-rounded) size, so that a
// training step, which asks for the same sizes every step, stops calling malloc after the first.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace attend {

constexpr size_t kAlignment = 64;

struct AllocatorStats {
  size_t bytes_in_use = 0;          // handed out and not yet returned
  size_t peak_bytes_in_use = 0;     // high-water mark of bytes_in_use since reset_peak()
  size_t bytes_cached = 0;          // returned blocks kept for reuse
  uint64_t system_allocations = 0;  // calls to the system allocator
};

class CachingAllocator {
 public:
  // max_cached_bytes: above this, returned blocks go back to the system.
  explicit CachingAllocator(size_t max_cached_bytes = size_t(4) << 30);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `bytes` bytes, 64-byte aligned (never null; throws on exhaustion).
  void* allocate(size_t bytes);
  // Returns a block obtained from allocate(bytes) with the same `bytes`.
  void deallocate(void* ptr, size_t bytes);
  // Frees every cached block.
  void release_cached();
  AllocatorStats stats() const;
  // False when returned blocks are freed at once: always in AddressSanitizer builds.
  bool caches() const { return max_cached_bytes_ > 0; }
  void reset_peak();

 private:
  static size_t round_up(size_t bytes) {
    return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  }
  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t max_cached_bytes_;
  AllocatorStats stats_;
};

}  // namespace attend
