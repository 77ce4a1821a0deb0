#pragma once
// The library's exceptions (public: attend/attend.h includes this header, which needs only the
// standard library). attend::Error for every error a user can cause (bad shapes, files, flags,
// values); attend::NotFoundError, its subclass, when an input file or folder does not exist.
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

}  // namespace attend
