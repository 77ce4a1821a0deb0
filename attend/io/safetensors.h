#pragma once
// safetensors reader and writer (https://github.com/huggingface/safetensors):
//   [u64 LE header length N][N bytes of JSON header][data section]
//   header = {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [..],
//             "data_offsets": [begin, end]}, ...}, offsets relative to the data section, values
//   little-endian and row-major. Tensors in the file are not aligned: values are memcpy'd.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "attend/tensor/tensor.h"

namespace attend::io {

// One tensor of a safetensors file. dtype is the file's name ("F32", "F64", "I64", "I32", "F16",
// "BF16", "U8", also "I8", "I16", "U16", "U32", "U64", "BOOL"); tensor holds the values as F32
// (F32, F16, BF16), F64 (F64) or I64 (all integer types and BOOL); all conversions are exact.
struct SafetensorsEntry {
  std::string dtype;
  Shape shape;
  Tensor tensor;
};

struct SafetensorsFile {
  std::map<std::string, SafetensorsEntry> tensors;
  std::map<std::string, std::string> metadata;
};

// Reads and validates a whole safetensors file; throws attend::Error naming the file (and tensor).
SafetensorsFile read_safetensors(const std::string& path, Context& ctx = default_context());
// Parses a safetensors image held in memory; `name` is used in error messages.
SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name,
                                  Context& ctx = default_context());
// Convenience: name -> tensor.
std::map<std::string, Tensor> load_tensors(const std::string& path,
                                           Context& ctx = default_context());

// Writes tensors (any strides; written row-major) in sorted key order with the header padded by
// spaces to a multiple of 8, atomically (temporary file in the same folder, fsync, rename).
// `dtypes` optionally overrides the stored dtype per name: "F32", "F64", "F16", "BF16" (from float
// tensors; round-to-nearest-even) or "I64", "I32", "I16", "I8", "U8", "U16", "U32", "BOOL" (from
// I64 tensors or integral float values; range-checked). Default: F32, F64 or I64 as held.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {},
                       const std::map<std::string, std::string>& dtypes = {});

// IEEE binary16 / bfloat16 bits <-> values (round-to-nearest-even; NaN stays NaN).
float half_to_float(uint16_t bits);
float bfloat16_to_float(uint16_t bits);
uint16_t double_to_half(double v);
uint16_t double_to_bfloat16(double v);

}  // namespace attend::io
