#pragma once
// The message of the attend::Error a call throws, for tests that check error texts.
#include <string>

#include "attend/base/error.h"

namespace attend::testing {

// Message of the attend::Error thrown by f(), or "" when nothing was thrown.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace attend::testing
