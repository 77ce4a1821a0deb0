#pragma once
// Atomic file writing: bytes go to a temporary file in the destination's folder, which is flushed,
// fsync'ed and renamed over the destination only when everything was written. Readers see either
// the old file or the complete new one; on any failure the temporary file is removed.
//
// Test hook: ATTEND_TEST_SLOW_WRITES=<ms> (read once) makes every atomic write, file or folder,
// pause that long while its temporary is complete but not yet in place, so that the crash test
// (tests/cli, CrashTrials) can kill a process inside a write. Unset or 0 in normal use.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace attend::io {

class AtomicFile {
 public:
  // Creates the temporary file beside `path`; throws attend::Error naming `path` on failure.
  explicit AtomicFile(const std::string& path);
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends `n` bytes.
  void write(const void* data, size_t n);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Flushes, fsyncs, closes and renames the temporary file to the destination.
  void commit();
  // Closes and removes the temporary file (no-op after commit).
  void abort() noexcept;

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }
  size_t bytes_written() const { return written_; }

 private:
  void flush_buffer();
  std::string path_;
  std::string temp_path_;
  std::string buffer_;
  int fd_ = -1;
  size_t written_ = 0;
  bool committed_ = false;
};

// fsyncs `dir` (its entries: names created, renamed or removed in it). Best effort: some file
// systems refuse fsync on folders.
void sync_folder(const std::string& dir) noexcept;
// fsyncs every file and folder under `dir`, then `dir`; errors name the path.
void sync_tree(const std::string& dir);
// The pause of ATTEND_TEST_SLOW_WRITES (none when unset).
void test_write_pause() noexcept;

// Writes `bytes` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view bytes);
// Calls fill(file) to produce the contents, then commits; if fill throws nothing is left on disk.
void write_file_atomic(const std::string& path, const std::function<void(AtomicFile&)>& fill);

}  // namespace attend::io
