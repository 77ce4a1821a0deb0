#include "attend/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "attend/base/error.h"

namespace attend::io {

namespace {

constexpr size_t kBufferBytes = 1 << 20;

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// strerror, with the likely cause where the text alone does not say it.
std::string errno_text(int err) {
  if (err == EFBIG)
    return fmt::format("{} (over the file size limit: ulimit -f)", std::strerror(err));
  return std::strerror(err);
}

int slow_writes_ms() {
  static const int ms = [] {
    const char* v = std::getenv("ATTEND_TEST_SLOW_WRITES");
    return v ? std::max(0, std::atoi(v)) : 0;
  }();
  return ms;
}

void sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail("[write] cannot open '{}' to sync it: {}", path, errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // EINVAL: a file system that does not sync this kind of file (nothing to make durable there)
  if (rc != 0 && err != EINVAL) fail("[write] fsync of '{}' failed: {}", path, errno_text(err));
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  ATTEND_CHECK(!path.empty(), "[write] empty file path");
  ATTEND_CHECK(path.back() != '/', "[write] '{}' names a folder, not a file", path);
  std::string dir = parent_dir(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    fail("[write] cannot write '{}': folder '{}' does not exist ({})", path, dir,
         errno_text(errno));
  ATTEND_CHECK(S_ISDIR(st.st_mode), "[write] cannot write '{}': '{}' is not a folder", path, dir);
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    fail("[write] cannot write '{}': it is a folder", path);

  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_path_ = fmt::format("{}.tmp.{}.{}.{:08x}", path, static_cast<long>(::getpid()),
                             counter.fetch_add(1), rd());
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) break;
    if (errno != EEXIST)
      fail("[write] cannot create a temporary file for '{}' in '{}': {}", path, dir,
           errno_text(errno));
  }
  ATTEND_CHECK(fd_ >= 0, "[write] cannot create a unique temporary file for '{}'", path);
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  abort();
}

void AtomicFile::flush_buffer() {
  const char* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      abort();
      fail("[write] writing '{}' failed: {}", path_, errno_text(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  buffer_.clear();
}

void AtomicFile::write(const void* data, size_t n) {
  ATTEND_CHECK(fd_ >= 0 && !committed_, "[write] '{}' is no longer open for writing", path_);
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    size_t take = std::min(n, kBufferBytes - buffer_.size());
    buffer_.append(p, take);
    p += take;
    n -= take;
    written_ += take;
    if (buffer_.size() == kBufferBytes) flush_buffer();
  }
}

void AtomicFile::commit() {
  ATTEND_CHECK(fd_ >= 0 && !committed_, "[write] '{}' is no longer open for writing", path_);
  flush_buffer();
  test_write_pause();
  if (::fsync(fd_) != 0) {
    int err = errno;
    abort();
    fail("[write] fsync of '{}' failed: {}", path_, errno_text(err));
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temp_path_.c_str());
    fail("[write] closing '{}' failed: {}", path_, errno_text(err));
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_path_.c_str());
    fail("[write] cannot rename the temporary file to '{}': {}", path_, errno_text(err));
  }
  committed_ = true;
  sync_folder(parent_dir(path_));  // the rename made durable
}

void AtomicFile::abort() noexcept {
  if (committed_) return;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

void sync_folder(const std::string& dir) noexcept {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void sync_tree(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st))
      sync_path(it->path().string(), O_RDONLY | O_DIRECTORY);
    else if (fs::is_regular_file(st))
      sync_path(it->path().string(), O_RDONLY);
  }
  if (ec) fail("[write] cannot list '{}' to sync it: {}", dir, ec.message());
  sync_path(dir, O_RDONLY | O_DIRECTORY);
}

void test_write_pause() noexcept {
  if (const int ms = slow_writes_ms(); ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

void write_file_atomic(const std::string& path, const std::function<void(AtomicFile&)>& fill) {
  AtomicFile f(path);
  fill(f);
  f.commit();
}

}  // namespace attend::io
