#pragma once
// Element types. F32 is the compute type; F64 serves reference kernels and gradient checks;
// I64 is a storage type for indices and integer buffers (e.g. BatchNorm's num_batches_tracked).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace attend {

enum class DType : uint8_t { F32, F64, I64 };

constexpr size_t dtype_size(DType t) {
  return t == DType::F32 ? 4 : 8;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "float32";
    case DType::F64:
      return "float64";
    case DType::I64:
      return "int64";
  }
  return "?";
}

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::F64;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::I64;
}

}  // namespace attend
