#pragma once
// Saving and loading nn::Module state dicts (parameters + persistent buffers, PyTorch key names)
// as safetensors files.
#include <map>
#include <string>
#include <vector>

#include "attend/nn/module.h"

namespace attend::io {

// Writes m.state_dict() to `path` (atomically) with optional string metadata.
void save_state_dict(const nn::Module& m, const std::string& path,
                     const std::map<std::string, std::string>& metadata = {});

// Keys of the module absent from the source (missing) and keys of the source the module lacks
// (unexpected).
struct LoadResult {
  std::vector<std::string> missing, unexpected;
};

// Copies tensors into the module's registered parameters/buffers in place, converting dtypes
// (F64 -> F32, integral floats -> I64, ...). Shapes must match exactly; strict: missing and
// unexpected keys are errors too. On error nothing is modified and the message lists every
// missing, unexpected and mis-shaped key (with both shapes).
LoadResult load_state_dict(nn::Module& m, const std::map<std::string, Tensor>& tensors,
                           bool strict = true);
// Same, reading the tensors from a safetensors file; errors name the file.
LoadResult load_state_dict(nn::Module& m, const std::string& path, bool strict = true);

}  // namespace attend::io
