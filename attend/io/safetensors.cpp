#include "attend/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <vector>

#include "attend/io/atomic_file.h"

namespace attend::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors values are little-endian; big-endian hosts need byte swapping");

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// Largest accepted JSON header (the reference implementation uses 100 MB as well).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

enum class Kind { Float, Int, Bool };

struct FileDType {
  const char* name;
  size_t size;
  Kind kind;
  DType held;  // dtype of the tensor the reader returns
  bool is_signed;
  int64_t min, max;  // integer range (Int and Bool)
};

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

constexpr FileDType kDTypes[] = {
    {"F32", 4, Kind::Float, DType::F32, true, 0, 0},
    {"F64", 8, Kind::Float, DType::F64, true, 0, 0},
    {"F16", 2, Kind::Float, DType::F32, true, 0, 0},
    {"BF16", 2, Kind::Float, DType::F32, true, 0, 0},
    {"I64", 8, Kind::Int, DType::I64, true, kI64Min, kI64Max},
    {"I32", 4, Kind::Int, DType::I64, true, INT32_MIN, INT32_MAX},
    {"I16", 2, Kind::Int, DType::I64, true, INT16_MIN, INT16_MAX},
    {"I8", 1, Kind::Int, DType::I64, true, INT8_MIN, INT8_MAX},
    {"U64", 8, Kind::Int, DType::I64, false, 0, kI64Max},  // values above 2^63-1 are refused
    {"U32", 4, Kind::Int, DType::I64, false, 0, UINT32_MAX},
    {"U16", 2, Kind::Int, DType::I64, false, 0, UINT16_MAX},
    {"U8", 1, Kind::Int, DType::I64, false, 0, UINT8_MAX},
    {"BOOL", 1, Kind::Bool, DType::I64, false, 0, 1},
};

const FileDType* find_dtype(const std::string& name) {
  for (const FileDType& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

std::string known_dtypes() {
  std::string s;
  for (const FileDType& d : kDTypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

const char* json_type(const json& j) {
  return j.type_name();
}

// Short text of a header value for messages; never recurses into nested values (a hostile header
// may nest arrays a million levels deep).
std::string brief(const json& j) {
  std::string s;
  if (j.is_primitive() ||
      (j.is_array() && j.size() <= 16 &&
       std::all_of(j.begin(), j.end(), [](const json& v) { return v.is_primitive(); })))
    s = j.dump();
  else
    s = fmt::format("an {} of {} items", json_type(j), j.size());
  return s.size() <= 80 ? s : s.substr(0, 77) + "...";
}

// Reads one little-endian integer of `size` bytes from unaligned memory as int64 (U64 as bits).
int64_t load_int(const uint8_t* p, const FileDType& d) {
  switch (d.size) {
    case 1:
      return d.is_signed ? int64_t(int8_t(p[0])) : int64_t(p[0]);
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return d.is_signed ? int64_t(int16_t(v)) : int64_t(v);
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return d.is_signed ? int64_t(int32_t(v)) : int64_t(v);
    }
    default: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

// Shape of a header entry: non-negative integers, at most kMaxDims, numel and bytes fit in int64.
Shape parse_shape(const json& j, const FileDType& d, const std::string& file,
                  const std::string& name, int64_t& numel, uint64_t& bytes) {
  ATTEND_CHECK(j.is_array(), "[safetensors] {}: tensor '{}': shape must be an array, got {}", file,
               name, json_type(j));
  ATTEND_CHECK(j.size() <= static_cast<size_t>(kMaxDims),
               "[safetensors] {}: tensor '{}': {} dimensions, at most {} are supported", file, name,
               j.size(), kMaxDims);
  Shape shape;
  uint64_t prod_nonzero = 1;
  bool any_zero = false;
  for (const json& v : j) {
    if (!v.is_number_unsigned())
      fail("[safetensors] {}: tensor '{}': shape {} must hold non-negative integers", file, name,
           brief(j));
    uint64_t dim = v.get<uint64_t>();
    if (dim > static_cast<uint64_t>(kI64Max) ||
        (dim > 0 && __builtin_mul_overflow(prod_nonzero, dim, &prod_nonzero)) ||
        prod_nonzero > static_cast<uint64_t>(kI64Max))
      fail("[safetensors] {}: tensor '{}': shape {} overflows the element count", file, name,
           brief(j));
    any_zero |= dim == 0;
    shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t b = 0;
  if (__builtin_mul_overflow(prod_nonzero, static_cast<uint64_t>(d.size), &b) ||
      b > static_cast<uint64_t>(kI64Max))
    fail("[safetensors] {}: tensor '{}': shape {} overflows the byte count", file, name, brief(j));
  numel = any_zero ? 0 : static_cast<int64_t>(prod_nonzero);
  bytes = any_zero ? 0 : b;
  return shape;
}

// Converts `numel` values of file dtype `d` at `src` into a new tensor.
Tensor decode(const uint8_t* src, const FileDType& d, const Shape& shape, int64_t numel,
              const std::string& file, const std::string& name, Context& ctx) {
  Tensor t = Tensor::empty(shape, d.held, ctx);
  if (numel == 0) return t;
  std::string_view dn = d.name;
  if (dn == "F32" || dn == "F64" || dn == "I64") {
    std::memcpy(t.raw_data(), src, static_cast<size_t>(numel) * d.size);
  } else if (dn == "F16" || dn == "BF16") {
    float* out = t.data<float>();
    bool half = dn == "F16";
    for (int64_t i = 0; i < numel; ++i) {
      uint16_t bits;
      std::memcpy(&bits, src + 2 * i, 2);
      out[i] = half ? half_to_float(bits) : bfloat16_to_float(bits);
    }
  } else {
    int64_t* out = t.data<int64_t>();
    for (int64_t i = 0; i < numel; ++i) {
      const uint8_t* p = src + i * static_cast<int64_t>(d.size);
      int64_t v = load_int(p, d);
      if (dn == "U64" && v < 0) {
        uint64_t u;
        std::memcpy(&u, p, 8);
        fail("[safetensors] {}: tensor '{}': U64 value {} at index {} does not fit in int64", file,
             name, u, i);
      }
      if (d.kind == Kind::Bool && v > 1)
        fail("[safetensors] {}: tensor '{}': BOOL byte {} at index {} is neither 0 nor 1", file,
             name, v, i);
      out[i] = v;
    }
  }
  return t;
}

std::vector<uint8_t> read_whole_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    fail_errno(err, "[safetensors] cannot open '{}': {}", path, std::strerror(err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("[safetensors] cannot stat '{}': {}", path, std::strerror(errno));
  ATTEND_CHECK(!S_ISDIR(st.st_mode), "[safetensors] '{}' is a folder, not a file", path);
  std::vector<uint8_t> buf;
  if (S_ISREG(st.st_mode)) buf.reserve(static_cast<size_t>(st.st_size));
  uint8_t chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("[safetensors] reading '{}' failed: {}", path, std::strerror(errno));
    }
    if (n == 0) break;
    buf.insert(buf.end(), chunk, chunk + n);
  }
  return buf;
}

// ---- writing ---------------------------------------------------------------------------------

// Values of `t` in row-major order as type T (t.dtype() must be dtype_of<T>()).
template <typename T>
std::vector<T> gather(const Tensor& t) {
  std::vector<T> out(static_cast<size_t>(t.numel()));
  if (out.empty()) return out;
  if (t.is_contiguous()) {
    std::memcpy(out.data(), t.data<T>(), out.size() * sizeof(T));
  } else {
    const T* base = static_cast<const T*>(t.storage()->data);
    for_each_offset(t.shape(), t.strides(), t.offset(),
                    [&](int64_t i, int64_t off) { out[i] = base[off]; });
  }
  return out;
}

void store_int(uint8_t* p, int64_t v, size_t size) {
  switch (size) {
    case 1:
      p[0] = static_cast<uint8_t>(v);
      break;
    case 2: {
      uint16_t u = static_cast<uint16_t>(v);
      std::memcpy(p, &u, 2);
      break;
    }
    case 4: {
      uint32_t u = static_cast<uint32_t>(v);
      std::memcpy(p, &u, 4);
      break;
    }
    default:
      std::memcpy(p, &v, 8);
  }
}

std::string shortest(double v) {
  return fmt::format("{}", v);
}

// Encodes the values of `t` as file dtype `d` into `out` (numel * d.size bytes).
void encode(const Tensor& t, const FileDType& d, uint8_t* out, const std::string& path,
            const std::string& name) {
  std::string_view dn = d.name;
  auto range_error = [&](const std::string& value, int64_t i) {
    fail(
        "[write_safetensors] {}: tensor '{}': value {} at index {} is out of range for {} "
        "([{}, {}])",
        path, name, value, i, d.name, d.min, d.max);
  };
  if (t.dtype() == DType::I64) {
    std::vector<int64_t> v = gather<int64_t>(t);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] < d.min || v[i] > d.max) range_error(std::to_string(v[i]), i);
      store_int(out + i * d.size, v[i], d.size);
    }
    return;
  }
  // Float sources.
  std::vector<double> v;
  if (t.dtype() == DType::F32) {
    std::vector<float> f = gather<float>(t);
    if (dn == "F32") {
      if (!f.empty()) std::memcpy(out, f.data(), f.size() * 4);
      return;
    }
    if (dn == "BF16") {  // exact round-to-nearest-even on the float bits
      for (size_t i = 0; i < f.size(); ++i) {
        uint32_t u = std::bit_cast<uint32_t>(f[i]);
        uint16_t b = std::isnan(f[i]) ? static_cast<uint16_t>((u >> 16) | 0x40)
                                      : static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
        std::memcpy(out + 2 * i, &b, 2);
      }
      return;
    }
    v.assign(f.begin(), f.end());
  } else {
    v = gather<double>(t);
  }
  for (size_t i = 0; i < v.size(); ++i) {
    double x = v[i];
    uint8_t* p = out + i * d.size;
    if (dn == "F64") {
      std::memcpy(p, &x, 8);
    } else if (dn == "F32") {
      float f = static_cast<float>(x);
      std::memcpy(p, &f, 4);
    } else if (dn == "F16" || dn == "BF16") {
      uint16_t b = dn == "F16" ? double_to_half(x) : double_to_bfloat16(x);
      std::memcpy(p, &b, 2);
    } else {
      if (!std::isfinite(x) || x != std::trunc(x))
        fail("[write_safetensors] {}: tensor '{}': value {} at index {} is not an integer ({})",
             path, name, shortest(x), i, d.name);
      // -2^63 <= x < 2^63 first, so the cast is defined.
      if (x < -9.2233720368547758e18 || x >= 9.2233720368547758e18) range_error(shortest(x), i);
      int64_t iv = static_cast<int64_t>(x);
      if (iv < d.min || iv > d.max) range_error(shortest(x), i);
      store_int(p, iv, d.size);
    }
  }
}

// Generic IEEE-style binary encoding with `mbits` mantissa and `ebits` exponent bits, RNE.
uint16_t encode_small_float(double v, int mbits, int ebits) {
  uint64_t b = std::bit_cast<uint64_t>(v);
  uint16_t sign = static_cast<uint16_t>((b >> 63) << 15);
  int bias = (1 << (ebits - 1)) - 1;
  uint16_t exp_mask = static_cast<uint16_t>(((1 << ebits) - 1) << mbits);
  if (std::isnan(v)) {
    uint16_t payload = static_cast<uint16_t>((b >> (52 - mbits)) & ((1u << mbits) - 1));
    return static_cast<uint16_t>(sign | exp_mask | (1u << (mbits - 1)) | payload);
  }
  double a = std::fabs(v);
  if (std::isinf(a)) return sign | exp_mask;
  if (a == 0) return sign;
  int k;
  std::frexp(a, &k);  // a = f * 2^k, f in [0.5, 1)
  int e = std::max(k - 1, 1 - bias);
  uint64_t r = static_cast<uint64_t>(std::nearbyint(std::ldexp(a, mbits - e)));  // RNE
  if (r >= (uint64_t{1} << (mbits + 1))) {
    r >>= 1;
    ++e;
  }
  if (e > bias) return sign | exp_mask;                                    // overflow -> inf
  if (r < (uint64_t{1} << mbits)) return static_cast<uint16_t>(sign | r);  // subnormal
  return static_cast<uint16_t>(sign | ((e + bias) << mbits) | (r - (uint64_t{1} << mbits)));
}

}  // namespace

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));  // inf / NaN
  float mag =
      exp == 0 ? std::ldexp(float(mant), -24) : std::ldexp(float(mant | 0x400), int(exp) - 25);
  return sign ? -mag : mag;
}

float bfloat16_to_float(uint16_t bits) {
  return std::bit_cast<float>(uint32_t(bits) << 16);
}

uint16_t double_to_half(double v) {
  return encode_small_float(v, 10, 5);
}

uint16_t double_to_bfloat16(double v) {
  return encode_small_float(v, 7, 8);
}

SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name,
                                  Context& ctx) {
  const std::string& file = name;
  ATTEND_CHECK(size > 0, "[safetensors] {}: empty file", file);
  ATTEND_CHECK(size >= 8, "[safetensors] {}: {} bytes is too short for the 8-byte header length",
               file, size);
  uint64_t n;
  std::memcpy(&n, data, 8);
  ATTEND_CHECK(n <= kMaxHeaderBytes,
               "[safetensors] {}: header length {} exceeds the limit of {} bytes (not a "
               "safetensors file?)",
               file, n, kMaxHeaderBytes);
  ATTEND_CHECK(n <= size - 8,
               "[safetensors] {}: header length {} runs past the end of the file ({} bytes)", file,
               n, size);
  ATTEND_CHECK(n >= 2, "[safetensors] {}: header length {} is too short for a JSON object", file,
               n);
  const char* hbegin = reinterpret_cast<const char*>(data + 8);
  const char* hend = hbegin + n;
  ATTEND_CHECK(*hbegin == '{', "[safetensors] {}: header does not start with '{{'", file);

  json header;
  try {
    // Rejects duplicate top-level keys (the last one would silently win otherwise).
    std::set<std::string> seen;
    json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
      if (event == json::parse_event_t::key && depth == 1) {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!seen.insert(key).second)
          fail("[safetensors] {}: header lists '{}' more than once", file, key);
      }
      return true;
    };
    header = json::parse(hbegin, hend, cb, /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    fail("[safetensors] {}: header is not valid JSON: {}", file, e.what());
  }
  ATTEND_CHECK(header.is_object(), "[safetensors] {}: header must be a JSON object, got {}", file,
               json_type(header));

  const uint64_t data_start = 8 + n;
  const uint64_t data_size = size - data_start;
  const uint8_t* section = data + data_start;

  SafetensorsFile out;
  struct Range {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  struct Pending {
    std::string name;
    const FileDType* dtype;
    Shape shape;
    int64_t numel;
    uint64_t begin;
  };
  std::vector<Pending> pending;

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "__metadata__") {
      ATTEND_CHECK(v.is_object(),
                   "[safetensors] {}: __metadata__ must be an object of strings, got {}", file,
                   json_type(v));
      for (auto m = v.begin(); m != v.end(); ++m) {
        ATTEND_CHECK(m.value().is_string(),
                     "[safetensors] {}: __metadata__ must map strings to strings; '{}' holds {}",
                     file, m.key(), json_type(m.value()));
        out.metadata.emplace(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    ATTEND_CHECK(v.is_object(), "[safetensors] {}: tensor '{}': entry must be an object, got {}",
                 file, key, json_type(v));
    auto dt = v.find("dtype");
    ATTEND_CHECK(dt != v.end() && dt->is_string(),
                 "[safetensors] {}: tensor '{}': missing or non-string 'dtype'", file, key);
    const FileDType* d = find_dtype(dt->get<std::string>());
    ATTEND_CHECK(d, "[safetensors] {}: tensor '{}': unknown dtype {} (known: {})", file, key,
                 brief(*dt), known_dtypes());
    auto sh = v.find("shape");
    ATTEND_CHECK(sh != v.end(), "[safetensors] {}: tensor '{}': missing 'shape'", file, key);
    int64_t numel = 0;
    uint64_t bytes = 0;
    Shape shape = parse_shape(*sh, *d, file, key, numel, bytes);
    auto off = v.find("data_offsets");
    ATTEND_CHECK(off != v.end(), "[safetensors] {}: tensor '{}': missing 'data_offsets'", file,
                 key);
    ATTEND_CHECK(off->is_array() && off->size() == 2 && (*off)[0].is_number_unsigned() &&
                     (*off)[1].is_number_unsigned(),
                 "[safetensors] {}: tensor '{}': data_offsets {} must be [begin, end] with "
                 "non-negative integers",
                 file, key, brief(*off));
    uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
    ATTEND_CHECK(begin <= end,
                 "[safetensors] {}: tensor '{}': data_offsets [{}, {}] end before they begin", file,
                 key, begin, end);
    ATTEND_CHECK(end <= data_size,
                 "[safetensors] {}: tensor '{}': data_offsets [{}, {}] run past the data section "
                 "({} bytes)",
                 file, key, begin, end, data_size);
    ATTEND_CHECK(end - begin == bytes,
                 "[safetensors] {}: tensor '{}': data_offsets [{}, {}] hold {} bytes but {} {} "
                 "needs {}",
                 file, key, begin, end, end - begin, d->name, shape.str(), bytes);
    pending.push_back({key, d, shape, numel, begin});
  }
  // Non-empty byte ranges must not overlap (empty tensors may sit anywhere).
  for (const Pending& p : pending)
    if (p.numel > 0)
      ranges.push_back(
          {p.begin, p.begin + static_cast<uint64_t>(p.numel) * p.dtype->size, &p.name});
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  for (size_t i = 1; i < ranges.size(); ++i)
    ATTEND_CHECK(ranges[i].begin >= ranges[i - 1].end,
                 "[safetensors] {}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", file,
                 *ranges[i - 1].name, ranges[i - 1].begin, ranges[i - 1].end, *ranges[i].name,
                 ranges[i].begin, ranges[i].end);

  for (const Pending& p : pending) {
    Tensor t = decode(section + p.begin, *p.dtype, p.shape, p.numel, file, p.name, ctx);
    out.tensors.emplace(p.name, SafetensorsEntry{p.dtype->name, p.shape, std::move(t)});
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path, Context& ctx) {
  std::vector<uint8_t> bytes = read_whole_file(path);
  return parse_safetensors(bytes.data(), bytes.size(), path, ctx);
}

std::map<std::string, Tensor> load_tensors(const std::string& path, Context& ctx) {
  SafetensorsFile f = read_safetensors(path, ctx);
  std::map<std::string, Tensor> out;
  for (auto& [name, e] : f.tensors) out.emplace(name, std::move(e.tensor));
  return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata,
                       const std::map<std::string, std::string>& dtypes) {
  for (const auto& [name, dt] : dtypes)
    ATTEND_CHECK(tensors.count(name),
                 "[write_safetensors] {}: dtype override for '{}' names no tensor", path, name);
  struct Plan {
    const std::string* name;
    const Tensor* tensor;
    const FileDType* dtype;
    uint64_t bytes;
  };
  std::vector<Plan> plans;
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json m = ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = std::move(m);
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    ATTEND_CHECK(name != "__metadata__",
                 "[write_safetensors] {}: '__metadata__' cannot name a tensor", path);
    ATTEND_CHECK(t.defined(), "[write_safetensors] {}: tensor '{}' is undefined", path, name);
    auto o = dtypes.find(name);
    std::string want = o != dtypes.end()         ? o->second
                       : t.dtype() == DType::F32 ? "F32"
                       : t.dtype() == DType::F64 ? "F64"
                                                 : "I64";
    const FileDType* d = find_dtype(want);
    ATTEND_CHECK(
        d && d->name != std::string_view("U64"),
        "[write_safetensors] {}: tensor '{}': cannot write dtype '{}' (writable: F32, F64, "
        "F16, BF16, I64, I32, I16, I8, U32, U16, U8, BOOL)",
        path, name, want);
    ATTEND_CHECK(d->kind != Kind::Float || t.dtype() != DType::I64,
                 "[write_safetensors] {}: tensor '{}': an int64 tensor cannot be stored as {}",
                 path, name, d->name);
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * d->size;
    ordered_json e = ordered_json::object();
    e["dtype"] = d->name;
    e["shape"] = t.shape().vec();
    e["data_offsets"] = {offset, offset + bytes};
    header[name] = std::move(e);
    offset += bytes;
    plans.push_back({&name, &t, d, bytes});
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const ordered_json::exception& e) {
    fail("[write_safetensors] {}: cannot encode the header (names and metadata must be UTF-8): {}",
         path, e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t n = text.size();

  AtomicFile f(path);
  f.write(&n, 8);
  f.write(text);
  std::vector<uint8_t> buf;
  for (const Plan& p : plans) {
    buf.resize(p.bytes);
    encode(*p.tensor, *p.dtype, buf.data(), path, *p.name);
    f.write(buf.data(), buf.size());
  }
  f.commit();
}

}  // namespace attend::io
