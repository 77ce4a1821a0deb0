// NPY v1.0 writer.
#include "attend/explain/npy.h"

#include <bit>
#include <cstring>

#include "attend/base/error.h"
#include "attend/io/atomic_file.h"

namespace attend::explain {

static_assert(std::endian::native == std::endian::little, "npy writer assumes little endian");

std::string npy_bytes(const std::vector<int64_t>& shape, const float* data) {
  std::string dims;
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    ATTEND_CHECK(shape[i] >= 0, "[npy] negative dimension {}", shape[i]);
    dims += std::to_string(shape[i]);
    dims += shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : "");
    n *= shape[i];
  }
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  out += header;
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  const size_t at = out.size();
  out.resize(at + bytes);
  if (bytes) std::memcpy(out.data() + at, data, bytes);
  return out;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  io::write_file_atomic(path, npy_bytes(shape, data));
}

}  // namespace attend::explain
