#pragma once
// attend::Error: the one exception type for errors a user can cause (bad shapes, files, flags);
// attend::NotFoundError, its subclass, when an input file or folder does not exist.
#include <fmt/format.h>

#include <cassert>
#include <cerrno>
#include <stdexcept>
#include <string>

namespace attend {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// An input file or folder that does not exist (Python's FileNotFoundError).
class NotFoundError : public Error {
 public:
  using Error::Error;
};

// Throws attend::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Throws attend::NotFoundError with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail_not_found(fmt::format_string<Args...> format, Args&&... args) {
  throw NotFoundError(fmt::format(format, std::forward<Args>(args)...));
}

// After a failed open or stat with errno `err`: NotFoundError when the path does not exist (ENOENT,
// or ENOTDIR: a parent is not a folder), else Error.
template <typename... Args>
[[noreturn]] void fail_errno(int err, fmt::format_string<Args...> format, Args&&... args) {
  if (err == ENOENT || err == ENOTDIR) fail_not_found(format, std::forward<Args>(args)...);
  fail(format, std::forward<Args>(args)...);
}

// Checks a user-facing condition; on failure throws attend::Error with the formatted message.
#define ATTEND_CHECK(cond, ...)               \
  do {                                        \
    if (!(cond)) ::attend::fail(__VA_ARGS__); \
  } while (0)

// Internal invariant: compiled out in release builds.
#define ATTEND_DEBUG_ASSERT(cond) assert(cond)

}  // namespace attend
