// safetensors reader/writer: the shared format fixture, a model fixture, round trips for every
// dtype, rounding, and cross-checks with an independent Python reader.
#include "attend/io/safetensors.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io_test_util.h"
#include "support/gradcheck.h"
#include "support/paths.h"

namespace attend::io {
namespace {

using attend::testing::fixture_path;
using attend::testing::read_bytes;
using attend::testing::ScratchDir;
using json = nlohmann::json;

// Exact int64 values of a contiguous I64 tensor (to_vector goes through double).
std::vector<int64_t> ints(const Tensor& t) {
  const int64_t* p = t.data<int64_t>();
  return std::vector<int64_t>(p, p + t.numel());
}

uint32_t bits_of(float f) {
  return std::bit_cast<uint32_t>(f);
}
uint64_t bits_of(double d) {
  return std::bit_cast<uint64_t>(d);
}

double json_value(const json& v) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
    return NAN;
  }
  return v.get<double>();
}

TEST(Safetensors, FormatFixtureMatchesJson) {
  std::string path = fixture_path("safetensors/format.safetensors");
  json want = json::parse(read_bytes(fixture_path("safetensors/format.json")));
  std::string raw = read_bytes(path);
  ASSERT_EQ(raw.size(), want["file_size"].get<size_t>());
  uint64_t n;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(n, want["header_length"].get<uint64_t>());
  const size_t data_start = want["data_section_start"].get<size_t>();
  EXPECT_EQ(8 + n, data_start);

  SafetensorsFile f = read_safetensors(path);
  // Metadata, including a unicode value and an empty value.
  std::map<std::string, std::string> meta =
      want["metadata"].get<std::map<std::string, std::string>>();
  EXPECT_EQ(f.metadata, meta);
  EXPECT_EQ(f.metadata.at("unicode"), "ünïcødé ✓ 時系列");
  EXPECT_EQ(f.metadata.at("empty_value"), "");

  ASSERT_EQ(f.tensors.size(), want["tensors"].size());
  for (auto& [name, w] : want["tensors"].items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(f.tensors.count(name));
    const SafetensorsEntry& e = f.tensors.at(name);
    std::string dt = w["dtype"].get<std::string>();
    EXPECT_EQ(e.dtype, dt);
    Shape shape(w["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(e.shape, shape);
    EXPECT_EQ(e.tensor.shape(), shape);
    const json& values = w["values"];
    ASSERT_EQ(e.tensor.numel(), static_cast<int64_t>(values.size()));
    uint64_t begin = w["data_offsets"][0], end = w["data_offsets"][1];
    const char* bytes = raw.data() + data_start + begin;
    if (dt == "F32" || dt == "F16" || dt == "BF16") {
      ASSERT_EQ(e.tensor.dtype(), DType::F32);
      const float* p = e.tensor.data<float>();
      for (size_t i = 0; i < values.size(); ++i) {
        double v = json_value(values[i]);
        if (std::isnan(v))
          EXPECT_TRUE(std::isnan(p[i])) << i;
        else
          EXPECT_EQ(static_cast<double>(p[i]), v) << i;
        uint32_t b = w["bits"][i];
        if (dt == "F32") {
          EXPECT_EQ(bits_of(p[i]), b) << i;
        } else if (dt == "F16") {
          EXPECT_EQ(double_to_half(p[i]), b) << i;
        } else {
          EXPECT_EQ(bits_of(p[i]) >> 16, b) << i;
          EXPECT_EQ(double_to_bfloat16(p[i]), b) << i;
        }
      }
      if (dt == "F32" && !values.empty())  // offsets: the file's bytes are the tensor's bytes
        EXPECT_EQ(std::memcmp(bytes, p, end - begin), 0);
    } else if (dt == "F64") {
      ASSERT_EQ(e.tensor.dtype(), DType::F64);
      const double* p = e.tensor.data<double>();
      for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(p[i], json_value(values[i])) << i;
        EXPECT_EQ(bits_of(p[i]), w["bits"][i].get<uint64_t>()) << i;
      }
      EXPECT_EQ(std::memcmp(bytes, p, end - begin), 0);
    } else {
      ASSERT_EQ(e.tensor.dtype(), DType::I64);
      const int64_t* p = e.tensor.data<int64_t>();
      for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(p[i], values[i].get<int64_t>()) << i;
      if (dt == "I64" && !values.empty()) EXPECT_EQ(std::memcmp(bytes, p, end - begin), 0);
      if (dt == "U8")
        for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(static_cast<uint8_t>(bytes[i]), p[i]);
    }
  }
  // 0-d and empty tensors.
  EXPECT_EQ(f.tensors.at("h_scalar_f32").tensor.ndim(), 0);
  EXPECT_EQ(f.tensors.at("h_scalar_f32").tensor.item(), 42.5);
  EXPECT_EQ(f.tensors.at("k_scalar_i64").tensor.item(), -7);
  EXPECT_EQ(f.tensors.at("i_empty_f32").tensor.shape(), (Shape{0, 3}));
  EXPECT_EQ(f.tensors.at("l_empty_i64").tensor.shape(), (Shape{2, 0}));
}

TEST(Safetensors, ParseFromMemoryEqualsFile) {
  std::string path = fixture_path("safetensors/format.safetensors");
  std::string raw = read_bytes(path);
  SafetensorsFile f =
      parse_safetensors(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), "in-memory");
  EXPECT_EQ(f.tensors.size(), 13u);
  EXPECT_EQ(ints(f.tensors.at("e_i32").tensor),
            (std::vector<int64_t>{2147483647, -2147483648LL, 7}));
}

TEST(Safetensors, ModelFixtureShapesMatchParamsTxt) {
  std::map<std::string, Tensor> t =
      load_tensors(fixture_path("models/DLinear/weights.safetensors"));
  std::ifstream params(fixture_path("models/DLinear/params.txt"));
  std::string line;
  size_t count = 0;
  while (std::getline(params, line)) {
    if (line.empty()) continue;
    std::istringstream ss(line);
    std::string name, shape_text;
    std::getline(ss, name, '\t');
    std::getline(ss, shape_text, '\t');
    std::vector<int64_t> dims = json::parse(shape_text).get<std::vector<int64_t>>();
    ASSERT_TRUE(t.count(name)) << name;
    EXPECT_EQ(t.at(name).shape(), Shape(dims)) << name;
    EXPECT_EQ(t.at(name).dtype(), DType::F32) << name;
    ++count;
  }
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(t.size(), count);
  // TSLib starts DLinear's weights at 1/seq_len.
  EXPECT_FLOAT_EQ(t.at("Linear_Trend.weight").at({3, 7}), 1.0f / 96);
}

TEST(Safetensors, HalfAndBfloat16Rounding) {
  // Round to nearest, ties to even.
  EXPECT_EQ(double_to_half(1.0), 0x3C00);
  EXPECT_EQ(double_to_half(1.0 + std::ldexp(1, -11)), 0x3C00);      // tie -> even
  EXPECT_EQ(double_to_half(1.0 + 3 * std::ldexp(1, -11)), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(double_to_half(1.0 + std::ldexp(1, -11) + std::ldexp(1, -40)),
            0x3C01);  // no double rounding
  EXPECT_EQ(double_to_half(65504.0), 0x7BFF);
  EXPECT_EQ(double_to_half(65519.0), 0x7BFF);
  EXPECT_EQ(double_to_half(65520.0), 0x7C00);  // tie rounds up to 2^16 -> inf
  EXPECT_EQ(double_to_half(-1e10), 0xFC00);
  EXPECT_EQ(double_to_half(std::ldexp(1, -24)), 0x0001);
  EXPECT_EQ(double_to_half(std::ldexp(1, -25)), 0x0000);  // tie -> even (0)
  EXPECT_EQ(double_to_half(std::ldexp(3, -26)), 0x0001);
  EXPECT_EQ(double_to_half(std::ldexp(1023, -24) + std::ldexp(1, -25)), 0x0400);  // -> min normal
  EXPECT_EQ(double_to_half(-0.0), 0x8000);
  EXPECT_EQ(double_to_half(1e-300), 0x0000);
  EXPECT_EQ(double_to_half(INFINITY), 0x7C00);
  EXPECT_TRUE(std::isnan(half_to_float(double_to_half(NAN))));
  EXPECT_EQ(double_to_bfloat16(1.0 + std::ldexp(1, -8)), 0x3F80);
  EXPECT_EQ(double_to_bfloat16(1.0 + 3 * std::ldexp(1, -8)), 0x3F82);
  EXPECT_EQ(double_to_bfloat16(3.3895313892515355e+38), 0x7F7F);
  EXPECT_EQ(double_to_bfloat16(3.4e38), 0x7F80);
  EXPECT_EQ(double_to_bfloat16(9.183549615799121e-41), 0x0001);
  // Every half value decodes and re-encodes to itself.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(double_to_half(f), h) << h;
    ASSERT_EQ(double_to_bfloat16(bfloat16_to_float(static_cast<uint16_t>(h))), h) << h;
  }
}

// Tensors covering every dtype, with specials, a 0-d, an empty and a non-contiguous tensor.
std::map<std::string, Tensor> sample_tensors() {
  std::map<std::string, Tensor> t;
  float inf = std::numeric_limits<float>::infinity();
  t["f32"] = Tensor::from_vector<float>(
      {1.5f, -0.0f, inf, -inf, std::nanf(""), 1e-45f, 3.4028235e38f, 0.1f}, {2, 4});
  t["f64"] = Tensor::from_vector<double>({0.1, -1e-300, M_PI, 1e300}, {4});
  t["i64"] = Tensor::from_vector<int64_t>(
      {0, -1, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}, {2, 2});
  t["f16"] =
      Tensor::from_vector<float>({1.0f, -2.5f, 65504.0f, 1.0f + 1.0f / 2048, 1e-8f, 70000.f}, {6});
  t["f16_from_f64"] =
      Tensor::from_vector<double>({1.0 + std::ldexp(1, -11) + std::ldexp(1, -40)}, {1});
  t["bf16"] = Tensor::from_vector<float>({1.0f, -3.14159f, 3.4e38f, 1e-40f, 1.0f / 3}, {5});
  t["i32"] = Tensor::from_vector<int64_t>({2147483647, -2147483648LL, 7}, {3});
  t["i16"] = Tensor::from_vector<int64_t>({32767, -32768}, {2});
  t["i8"] = Tensor::from_vector<int64_t>({127, -128, 0}, {3});
  t["u8"] = Tensor::from_vector<int64_t>({0, 1, 127, 128, 255}, {5});
  t["u16"] = Tensor::from_vector<int64_t>({0, 65535}, {2});
  t["u32"] = Tensor::from_vector<int64_t>({0, 4294967295LL}, {2});
  t["bool"] = Tensor::from_vector<int64_t>({0, 1, 1}, {3});
  t["i32_from_float"] = Tensor::from_vector<float>({-3.0f, 5.0f}, {2});
  t["scalar"] = Tensor::scalar(42.5);
  t["empty"] = Tensor::empty({0, 3});
  // Transposed view of a (3, 2) matrix: written row-major as (2, 3).
  Tensor base = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  t["transposed"] = base.as_strided({2, 3}, {1, 2}, 0);
  return t;
}

const std::map<std::string, std::string> kOverrides = {
    {"f16", "F16"},   {"f16_from_f64", "F16"},  {"bf16", "BF16"},
    {"i32", "I32"},   {"i16", "I16"},           {"i8", "I8"},
    {"u8", "U8"},     {"u16", "U16"},           {"u32", "U32"},
    {"bool", "BOOL"}, {"i32_from_float", "I32"}};

std::string expected_dtype(const std::string& name, const Tensor& t) {
  auto it = kOverrides.find(name);
  if (it != kOverrides.end()) return it->second;
  return t.dtype() == DType::F32 ? "F32" : t.dtype() == DType::F64 ? "F64" : "I64";
}

// What the file must hold for element i, as the raw unsigned bits (floats) or value (integers).
int64_t expected_raw(const std::string& dtype, double v) {
  if (dtype == "F32") return bits_of(static_cast<float>(v));
  if (dtype == "F16") return double_to_half(v);
  if (dtype == "BF16") return double_to_bfloat16(v);
  return static_cast<int64_t>(v);
}

TEST(Safetensors, RoundTripEveryDtype) {
  ScratchDir dir;
  std::string path = dir.file("all.safetensors");
  auto tensors = sample_tensors();
  std::map<std::string, std::string> meta = {{"k", "v"}, {"unicode", "\xe6\x99\x82"}, {"e", ""}};
  write_safetensors(path, tensors, meta, kOverrides);
  SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    const SafetensorsEntry& e = f.tensors.at(name);
    std::string dt = expected_dtype(name, t);
    EXPECT_EQ(e.dtype, dt);
    EXPECT_EQ(e.shape, t.shape());
    if (dt == "F32" || dt == "F64") {
      ASSERT_EQ(e.tensor.dtype(), t.dtype());
      std::vector<double> a = t.to_vector<double>(), b = e.tensor.to_vector<double>();
      for (size_t i = 0; i < a.size(); ++i)
        if (std::isnan(a[i]))
          EXPECT_TRUE(std::isnan(b[i]));
        else
          EXPECT_EQ(bits_of(a[i]), bits_of(b[i])) << i;  // -0.0 kept
    } else if (dt == "F16" || dt == "BF16") {
      ASSERT_EQ(e.tensor.dtype(), DType::F32);
      std::vector<double> a = t.to_vector<double>();
      const float* b = e.tensor.data<float>();
      for (size_t i = 0; i < a.size(); ++i) {
        uint16_t want = dt == "F16" ? double_to_half(a[i]) : double_to_bfloat16(a[i]);
        float v = dt == "F16" ? half_to_float(want) : bfloat16_to_float(want);
        EXPECT_EQ(bits_of(b[i]), bits_of(v)) << i;
      }
    } else {
      ASSERT_EQ(e.tensor.dtype(), DType::I64);
      if (t.dtype() == DType::I64)
        EXPECT_EQ(ints(e.tensor), ints(t));
      else
        EXPECT_EQ(e.tensor.to_vector<double>(), t.to_vector<double>());
    }
  }
  EXPECT_EQ(f.tensors.at("transposed").tensor.to_vector<float>(),
            (std::vector<float>{1, 3, 5, 2, 4, 6}));
  EXPECT_EQ(f.tensors.at("f16_from_f64").tensor.item(), 1.0 + std::ldexp(1, -10));
  EXPECT_EQ(f.tensors.at("f16").tensor.at({5}), INFINITY);  // 70000 overflows F16
  // Header layout: N % 8 == 0, JSON followed by spaces, keys sorted with contiguous offsets.
  std::string raw = read_bytes(path);
  uint64_t n;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  std::string header = raw.substr(8, n);
  json h = json::parse(header);
  EXPECT_EQ(header.substr(0, 16), "{\"__metadata__\":");
  uint64_t pos = 0;
  for (auto& [name, t] : tensors) {
    EXPECT_EQ(h[name]["data_offsets"][0].get<uint64_t>(), pos) << name;
    pos = h[name]["data_offsets"][1].get<uint64_t>();
  }
  EXPECT_EQ(8 + n + pos, raw.size());
}

TEST(Safetensors, WrittenFilesReadByIndependentPythonReader) {
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  ScratchDir dir;
  std::string path = dir.file("py.safetensors"), out = dir.file("py.json");
  auto tensors = sample_tensors();
  std::map<std::string, std::string> meta = {
      {"format", "pt"}, {"unicode", "\xe6\x99\x82"}, {"e", ""}};
  write_safetensors(path, tensors, meta, kOverrides);
  std::string cmd = std::string("/usr/bin/python3 ") + ATTEND_SOURCE_DIR +
                    "/tests/io/read_safetensors.py '" + path + "' > '" + out + "' 2>&1";
  int rc = std::system(cmd.c_str());
  ASSERT_EQ(rc, 0) << read_bytes(out);
  json py = json::parse(read_bytes(out));
  std::string raw = read_bytes(path);
  uint64_t n;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(py["header_length"].get<uint64_t>(), n);
  EXPECT_EQ((py["metadata"].get<std::map<std::string, std::string>>()), meta);
  ASSERT_EQ(py["tensors"].size(), tensors.size());
  for (auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    const json& e = py["tensors"][name];
    std::string dt = expected_dtype(name, t);
    EXPECT_EQ(e["dtype"].get<std::string>(), dt);
    EXPECT_EQ(Shape(e["shape"].get<std::vector<int64_t>>()), t.shape());
    const json& bits = e["bits"];
    ASSERT_EQ(static_cast<int64_t>(bits.size()), t.numel());
    if (t.dtype() == DType::I64) {
      std::vector<int64_t> v = ints(t);
      for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(bits[i].get<int64_t>(), v[i]) << i;
    } else if (dt == "F64") {
      std::vector<double> v = t.to_vector<double>();
      for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(bits[i].get<uint64_t>(), bits_of(v[i])) << i;
    } else {
      std::vector<double> v = t.to_vector<double>();
      for (size_t i = 0; i < v.size(); ++i) {
        if (dt == "F32" && std::isnan(v[i])) {
          EXPECT_EQ(bits[i].get<uint64_t>(), bits_of(static_cast<float>(v[i]))) << i;
          continue;
        }
        EXPECT_EQ(bits[i].get<int64_t>(), expected_raw(dt, v[i])) << i;
      }
    }
  }
}

TEST(Safetensors, WriterErrorsNameFileAndTensor) {
  ScratchDir dir;
  std::string path = dir.file("bad.safetensors");
  auto expect_error = [&](const std::map<std::string, Tensor>& t,
                          const std::map<std::string, std::string>& dtypes,
                          const std::string& what) {
    try {
      write_safetensors(path, t, {}, dtypes);
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
    EXPECT_TRUE(dir.entries().empty());
  };
  Tensor i = Tensor::from_vector<int64_t>({1, 256}, {2});
  Tensor f = Tensor::from_vector<float>({1.5f}, {1});
  expect_error({{"x", i}}, {{"x", "U8"}}, "'x': value 256 at index 1 is out of range for U8");
  expect_error({{"x", Tensor::from_vector<int64_t>({-1}, {1})}}, {{"x", "U32"}}, "out of range");
  expect_error({{"x", Tensor::from_vector<int64_t>({2}, {1})}}, {{"x", "BOOL"}}, "out of range");
  expect_error({{"x", Tensor::from_vector<int64_t>({1LL << 40}, {1})}}, {{"x", "I32"}},
               "out of range");
  expect_error({{"y", f}}, {{"y", "I32"}}, "'y': value 1.5 at index 0 is not an integer");
  expect_error({{"y", f}}, {{"y", "F8_E4M3"}}, "cannot write dtype 'F8_E4M3'");
  expect_error({{"y", i}}, {{"y", "F16"}}, "int64 tensor cannot be stored as F16");
  expect_error({{"y", f}}, {{"z", "F16"}}, "override for 'z' names no tensor");
  expect_error({{"__metadata__", f}}, {}, "'__metadata__' cannot name a tensor");
  expect_error({{"u", Tensor()}}, {}, "'u' is undefined");
  try {
    write_safetensors(path, {{"a", f}}, {{"bad", std::string("\xff\xfe")}});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Safetensors, EmptyFileRoundTrip) {
  ScratchDir dir;
  std::string path = dir.file("none.safetensors");
  write_safetensors(path, {});
  SafetensorsFile f = read_safetensors(path);
  EXPECT_TRUE(f.tensors.empty());
  EXPECT_TRUE(f.metadata.empty());
  EXPECT_EQ(read_bytes(path).size() % 8, 0u);
}

}  // namespace
}  // namespace attend::io
