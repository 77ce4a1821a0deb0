#pragma once
// attend::Error: the one exception type for errors a user can cause (bad shapes, files, flags).
#include <fmt/format.h>

#include <cassert>
#include <stdexcept>
#include <string>

namespace attend {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws attend::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Checks a user-facing condition; on failure throws attend::Error with the formatted message.
#define ATTEND_CHECK(cond, ...)               \
  do {                                        \
    if (!(cond)) ::attend::fail(__VA_ARGS__); \
  } while (0)

// Internal invariant: compiled out in release builds.
#define ATTEND_DEBUG_ASSERT(cond) assert(cond)

}  // namespace attend
