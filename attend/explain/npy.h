#pragma once
// NumPy .npy files (format version 1.0) for float32 arrays, written without numpy:
// "\x93NUMPY" 1 0, uint16 LE header length, the header dict
// {'descr': '<f4', 'fortran_order': False, 'shape': (...), } padded with spaces and a final
// '\n' so the data starts at a multiple of 64 bytes, then the C-order little-endian data.
#include <cstdint>
#include <string>
#include <vector>

namespace attend::explain {

// The bytes of an .npy file holding `data` (product of shape floats, C order).
std::string npy_bytes(const std::vector<int64_t>& shape, const float* data);

// Writes an .npy file atomically; errors name the path.
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace attend::explain
