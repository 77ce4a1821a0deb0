// Fuzzes the safetensors reader (attend/io/safetensors.h): the input is a whole file. Every
// tensor read is summed once, so its values are touched. attend::Error is the reader's normal
// answer to a bad file; anything else is a finding.
#include <cstddef>
#include <cstdint>

#include "attend/base/error.h"
#include "attend/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static attend::Context ctx({.threads = 1, .seed = 0, .max_cached_bytes = 0});
  try {
    const attend::io::SafetensorsFile file =
        attend::io::parse_safetensors(data, size, "fuzz.safetensors", ctx);
    volatile double sum = 0;
    for (const auto& [name, entry] : file.tensors) {
      const attend::Tensor& t = entry.tensor;
      for (int64_t i = 0; i < t.numel(); ++i)
        sum = sum + (t.dtype() == attend::DType::F32   ? t.data<float>()[i]
                     : t.dtype() == attend::DType::F64 ? t.data<double>()[i]
                                                       : double(t.data<int64_t>()[i]));
    }
  } catch (const attend::Error&) {
  }
  return 0;
}
