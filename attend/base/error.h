#pragma once
// Raising attend::Error and attend::NotFoundError (attend/base/exceptions.h) with fmt-formatted
// messages: fail, fail_not_found, fail_errno, ATTEND_CHECK.
#include <fmt/format.h>

#include <cassert>
#include <cerrno>
#include <stdexcept>
#include <string>

#include "attend/base/exceptions.h"

namespace attend {

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
