// Hostile safetensors files: every malformed input gives attend::Error naming the file (and the
// tensor), never a crash (run under ASan too).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "attend/io/safetensors.h"
#include "io_test_util.h"
#include "support/gradcheck.h"
#include "support/paths.h"

namespace attend::io {
namespace {

using attend::testing::read_bytes;
using attend::testing::ScratchDir;
using attend::testing::write_bytes;

// [u64 LE n][header][data]; `n` defaults to the header's size.
std::string make_file(const std::string& header, const std::string& data = "", int64_t n = -1) {
  uint64_t len = n < 0 ? header.size() : static_cast<uint64_t>(n);
  std::string out(8, '\0');
  std::memcpy(out.data(), &len, 8);
  return out + header + data;
}

class Hostile : public ::testing::Test {
 protected:
  // Writes `bytes` to a file and expects read_safetensors to throw an Error naming the file and
  // containing every fragment in `what`.
  void expect_error(const std::string& bytes, std::initializer_list<std::string> what) {
    std::string path = dir_.file("hostile.safetensors");
    write_bytes(path, bytes);
    try {
      read_safetensors(path);
      ADD_FAILURE() << "no error; expected: " << *what.begin();
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      for (const std::string& w : what) EXPECT_NE(msg.find(w), std::string::npos) << msg;
    }
  }
  ScratchDir dir_;
};

const std::string kF32x2 = R"("dtype":"F32","shape":[2])";

TEST_F(Hostile, EmptyFile) {
  expect_error("", {"empty file"});
}

TEST_F(Hostile, Truncated) {
  expect_error(std::string(5, '\x10'), {"too short"});
  // Valid file cut inside the data section.
  std::string good =
      make_file(R"({"t":{)" + kF32x2 + R"(,"data_offsets":[0,8]}})", std::string(8, 'x'));
  expect_error(good.substr(0, good.size() - 3), {"'t'", "run past the data section"});
}

TEST_F(Hostile, HeaderLengthPastEof) {
  expect_error(make_file("{}", "", 1000), {"runs past the end"});
}

TEST_F(Hostile, HugeHeaderLength) {
  expect_error(make_file("{}", "", INT64_MAX), {"exceeds the limit"});
  expect_error(make_file("{}", "", 200'000'000), {"exceeds the limit"});
}

TEST_F(Hostile, BadJson) {
  expect_error(make_file(R"({"a": )"), {"not valid JSON"});
  expect_error(make_file(R"({"a": {"dtype": "F32",})"), {"not valid JSON"});
  expect_error(make_file("[1, 2]"), {"does not start with"});
  expect_error(make_file("{\"a\":1} x"), {"not valid JSON"});
  expect_error(make_file(std::string("{\"a\"\0:1}", 8)), {"not valid JSON"});
}

TEST_F(Hostile, EntryNotObjectOrMissingFields) {
  expect_error(make_file(R"({"t": 3})"), {"'t'", "must be an object"});
  expect_error(make_file(R"({"t": {"shape":[1],"data_offsets":[0,4]}})", "abcd"), {"'t'", "dtype"});
  expect_error(make_file(R"({"t": {"dtype":"F32","data_offsets":[0,4]}})", "abcd"),
               {"'t'", "shape"});
  expect_error(make_file(R"({"t": {"dtype":"F32","shape":[1]}})", "abcd"), {"'t'", "data_offsets"});
  expect_error(make_file(R"({"t": {"dtype":7,"shape":[1],"data_offsets":[0,4]}})", "abcd"),
               {"'t'", "dtype"});
}

TEST_F(Hostile, UnknownDtype) {
  expect_error(make_file(R"({"t": {"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", "a"),
               {"'t'", "unknown dtype \"F8_E4M3\""});
}

TEST_F(Hostile, BadShapes) {
  expect_error(make_file(R"({"t": {"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})"),
               {"'t'", "non-negative integers"});
  expect_error(make_file(R"({"t": {"dtype":"F32","shape":[2.5],"data_offsets":[0,0]}})"),
               {"'t'", "non-negative integers"});
  expect_error(make_file(R"({"t": {"dtype":"F32","shape":"2","data_offsets":[0,0]}})"),
               {"'t'", "must be an array"});
  expect_error(
      make_file(R"({"t": {"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
      {"'t'", "overflows"});
  expect_error(
      make_file(R"({"t": {"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}})"),
      {"'t'", "overflows"});
  expect_error(
      make_file(R"({"t": {"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})"),
      {"'t'", "overflows the byte count"});
  expect_error(
      make_file(R"({"t": {"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,0]}})"),
      {"'t'", "overflows"});
  expect_error(
      make_file(R"({"t": {"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})",
                "abcd"),
      {"'t'", "9 dimensions"});
}

TEST_F(Hostile, OffsetsOutOfRange) {
  expect_error(make_file(R"({"t":{)" + kF32x2 + R"(,"data_offsets":[0,8]}})", "abcd"),
               {"'t'", "run past the data section (4 bytes)"});
  expect_error(make_file(R"({"t":{)" + kF32x2 + R"(,"data_offsets":[8,0]}})", std::string(8, 'x')),
               {"'t'", "end before they begin"});
  expect_error(make_file(R"({"t":{)" + kF32x2 + R"(,"data_offsets":[-8,0]}})", std::string(8, 'x')),
               {"'t'", "data_offsets"});
  expect_error(
      make_file(R"({"t":{)" + kF32x2 + R"(,"data_offsets":[0,8,9]}})", std::string(8, 'x')),
      {"'t'", "data_offsets"});
  expect_error(make_file(R"({"t":{)" + kF32x2 +
                             R"(,"data_offsets":[18446744073709551615,18446744073709551615]}})",
                         std::string(8, 'x')),
               {"'t'", "data_offsets"});
}

TEST_F(Hostile, SizeMismatch) {
  expect_error(make_file(R"({"t":{)" + kF32x2 + R"(,"data_offsets":[0,4]}})", std::string(8, 'x')),
               {"'t'", "hold 4 bytes but F32 (2) needs 8"});
}

TEST_F(Hostile, OverlappingOffsets) {
  expect_error(make_file(R"({"a":{)" + kF32x2 + R"(,"data_offsets":[0,8]},"b":{)" + kF32x2 +
                             R"(,"data_offsets":[4,12]}})",
                         std::string(12, 'x')),
               {"'a'", "'b'", "overlap"});
  // Two tensors on the very same bytes.
  expect_error(make_file(R"({"a":{)" + kF32x2 + R"(,"data_offsets":[0,8]},"b":{)" + kF32x2 +
                             R"(,"data_offsets":[0,8]}})",
                         std::string(8, 'x')),
               {"overlap"});
}

TEST_F(Hostile, EmptyTensorsMayShareOffsets) {
  std::string path = dir_.file("ok.safetensors");
  write_bytes(
      path,
      make_file(
          R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
          std::string(4, '\0')));
  SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.tensors.at("a").tensor.numel(), 0);
  EXPECT_EQ(f.tensors.at("b").tensor.item(), 0.0);
}

TEST_F(Hostile, MetadataNotStringMap) {
  expect_error(make_file(R"({"__metadata__":{"a":1}})"), {"__metadata__", "'a'"});
  expect_error(make_file(R"({"__metadata__":{"a":{"b":"c"}}})"), {"__metadata__"});
  expect_error(make_file(R"({"__metadata__":"x"})"), {"__metadata__"});
  expect_error(make_file(R"({"__metadata__":["x"]})"), {"__metadata__"});
}

TEST_F(Hostile, DeepNestingDoesNotOverflowTheStack) {
  const int depth = 1'000'000;
  std::string deep = std::string(depth, '[') + "1" + std::string(depth, ']');
  expect_error(make_file(R"({"t":{"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,0]}})"),
               {"'t'", "an array of 1 items"});
  expect_error(make_file(R"({"__metadata__":{"k":)" + deep + "}}"), {"__metadata__", "'k'"});
  expect_error(make_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":)" + deep + "}}"),
               {"'t'", "data_offsets"});
  std::string long_name(10000, 'n');
  expect_error(
      make_file(R"({"t":{"dtype":")" + long_name + R"(","shape":[1],"data_offsets":[0,4]}})",
                "abcd"),
      {"'t'", "unknown dtype"});
}

TEST_F(Hostile, DuplicateKeys) {
  expect_error(make_file(R"({"a":{)" + kF32x2 + R"(,"data_offsets":[0,8]},"a":{)" + kF32x2 +
                             R"(,"data_offsets":[8,16]}})",
                         std::string(16, 'x')),
               {"'a' more than once"});
}

TEST_F(Hostile, BadIntegerValues) {
  std::string big(8, '\xff');
  expect_error(make_file(R"({"u":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}})", big),
               {"'u'", "does not fit in int64"});
  expect_error(make_file(R"({"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})",
                         std::string("\x01\x02", 2)),
               {"'b'", "neither 0 nor 1"});
}

TEST_F(Hostile, NotAFile) {
  try {
    read_safetensors(dir_.path());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir_.path()), std::string::npos) << e.what();
  }
  std::string missing = dir_.file("missing.safetensors");
  try {
    read_safetensors(missing);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

// A file that does not exist is a NotFoundError (Python's FileNotFoundError); a folder is not.
TEST_F(Hostile, MissingFileIsNotFound) {
  EXPECT_THROW(read_safetensors(dir_.file("missing.safetensors")), NotFoundError);
  try {
    read_safetensors(dir_.path());
    ADD_FAILURE();
  } catch (const NotFoundError& e) {
    ADD_FAILURE() << e.what();
  } catch (const Error&) {
  }
}

// Every truncation and many single-byte corruptions of a valid file either parse or throw
// attend::Error; the buffer is exactly sized so ASan catches any over-read.
TEST_F(Hostile, TruncationsAndCorruptionsNeverCrash) {
  std::string good = read_bytes(attend::testing::fixture_path("safetensors/format.safetensors"));
  ASSERT_FALSE(good.empty());
  auto try_parse = [](const std::string& bytes) {
    std::vector<uint8_t> buf(bytes.begin(), bytes.end());
    try {
      parse_safetensors(buf.data(), buf.size(), "mem.safetensors");
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("mem.safetensors"), std::string::npos) << e.what();
    }
  };
  for (size_t len = 0; len < good.size(); ++len) try_parse(good.substr(0, len));
  const char replacements[] = {'\0', '\xff', '-', '9', '"', '}', ' ', 'e'};
  for (size_t pos = 0; pos < good.size(); pos += 3)
    for (char c : replacements) {
      std::string bad = good;
      bad[pos] = c;
      try_parse(bad);
    }
}

}  // namespace
}  // namespace attend::io
