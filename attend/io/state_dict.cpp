#include "attend/io/state_dict.h"

#include <cmath>

#include "attend/io/safetensors.h"

namespace attend::io {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Checks that float values copied into an int64 tensor are integers within range.
void check_integral(const Tensor& src, const std::string& source, const std::string& key) {
  Tensor c = src.copy_as(DType::F64);
  const double* p = c.data<double>();
  for (int64_t i = 0; i < c.numel(); ++i) {
    double x = p[i];
    if (!std::isfinite(x) || x != std::trunc(x) || x < -9.2233720368547758e18 ||
        x >= 9.2233720368547758e18)
      fail("[load_state_dict] {}: '{}': value {} at index {} cannot be stored in an int64 tensor",
           source, key, x, i);
  }
}

LoadResult load_impl(nn::Module& m, const std::map<std::string, Tensor>& tensors, bool strict,
                     const std::string& source) {
  std::map<std::string, Tensor> own = m.state_dict();
  LoadResult r;
  std::vector<std::string> mis_shaped;
  for (const auto& [key, t] : own) {
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      r.missing.push_back(key);
      continue;
    }
    ATTEND_CHECK(it->second.defined(), "[load_state_dict] {}: '{}' is undefined", source, key);
    if (!(it->second.shape() == t.shape()))
      mis_shaped.push_back(fmt::format("{} (source {} vs module {})", key, it->second.shape().str(),
                                       t.shape().str()));
  }
  for (const auto& [key, t] : tensors)
    if (!own.count(key)) r.unexpected.push_back(key);

  bool bad_keys = strict && (!r.missing.empty() || !r.unexpected.empty());
  if (bad_keys || !mis_shaped.empty()) {
    std::string msg =
        fmt::format("[load_state_dict] {}: cannot load into {}", source, m.type_name());
    if (strict && !r.missing.empty())
      msg += fmt::format("; missing keys ({}): {}", r.missing.size(), join(r.missing));
    if (strict && !r.unexpected.empty())
      msg += fmt::format("; unexpected keys ({}): {}", r.unexpected.size(), join(r.unexpected));
    if (!mis_shaped.empty())
      msg += fmt::format("; shape mismatch ({}): {}", mis_shaped.size(), join(mis_shaped));
    throw Error(msg);
  }
  // Validate every conversion before touching the module, so a failure leaves it unchanged.
  for (const auto& [key, t] : own) {
    auto it = tensors.find(key);
    if (it != tensors.end() && t.dtype() == DType::I64 && it->second.dtype() != DType::I64)
      check_integral(it->second, source, key);
  }
  for (const auto& [key, t] : own) {
    auto it = tensors.find(key);
    if (it == tensors.end()) continue;
    const Tensor& src = it->second;
    if (t.dtype() == DType::I64 && src.dtype() == DType::I64 &&
        !(t.is_contiguous() && src.is_contiguous())) {
      // Keep all 64 bits (the generic copy goes through double).
      std::vector<int64_t> vals(static_cast<size_t>(src.numel()));
      const int64_t* sb = static_cast<const int64_t*>(src.storage()->data);
      for_each_offset(src.shape(), src.strides(), src.offset(),
                      [&](int64_t i, int64_t off) { vals[i] = sb[off]; });
      int64_t* base = static_cast<int64_t*>(t.storage()->data);
      for_each_offset(t.shape(), t.strides(), t.offset(),
                      [&](int64_t i, int64_t off) { base[off] = vals[i]; });
    } else {
      t.copy_from(src);
    }
  }
  return r;
}

}  // namespace

void save_state_dict(const nn::Module& m, const std::string& path,
                     const std::map<std::string, std::string>& metadata) {
  write_safetensors(path, m.state_dict(), metadata);
}

LoadResult load_state_dict(nn::Module& m, const std::map<std::string, Tensor>& tensors,
                           bool strict) {
  return load_impl(m, tensors, strict, "state dict");
}

LoadResult load_state_dict(nn::Module& m, const std::string& path, bool strict) {
  return load_impl(m, load_tensors(path), strict, path);
}

}  // namespace attend::io
