// Atomic writes: a failure at any point leaves neither the file nor a temporary file behind, and
// an existing file keeps its old contents.
#include "attend/io/atomic_file.h"

#include <gtest/gtest.h>

#include "attend/io/safetensors.h"
#include "io_test_util.h"

namespace attend::io {
namespace {

using attend::testing::read_bytes;
using attend::testing::ScratchDir;

TEST(AtomicFile, WritesAndReplaces) {
  ScratchDir dir;
  std::string path = dir.file("a.txt");
  write_file_atomic(path, "hello");
  EXPECT_EQ(read_bytes(path), "hello");
  write_file_atomic(path, [](AtomicFile& f) {
    f.write("new ");
    std::string big(3 << 20, 'x');  // crosses the internal buffer size
    f.write(big);
  });
  EXPECT_EQ(read_bytes(path).size(), 4u + (3 << 20));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"a.txt"}));
}

TEST(AtomicFile, FailureInsideFillLeavesNothing) {
  ScratchDir dir;
  std::string path = dir.file("b.txt");
  EXPECT_THROW(write_file_atomic(path,
                                 [](AtomicFile& f) {
                                   f.write("partial");
                                   fail("boom");
                                 }),
               Error);
  EXPECT_TRUE(dir.entries().empty());
  write_file_atomic(path, "old");
  EXPECT_THROW(write_file_atomic(path,
                                 [](AtomicFile& f) {
                                   f.write("partial");
                                   throw std::runtime_error("boom");
                                 }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"b.txt"}));
}

TEST(AtomicFile, NonexistentFolderIsAClearError) {
  ScratchDir dir;
  std::string path = dir.file("no/such/folder/c.safetensors");
  try {
    write_safetensors(path, {{"x", Tensor::zeros({2})}});
    ADD_FAILURE();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, PathIsAFolder) {
  ScratchDir dir;
  try {
    write_file_atomic(dir.path(), "x");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.path()), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_file_atomic(dir.path() + "/", "x"), Error);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, SafetensorsRangeErrorMidWayLeavesOldFile) {
  ScratchDir dir;
  std::string path = dir.file("w.safetensors");
  // "a" and "b" are fine, "c" fails its U8 range check after both were written to the temp file.
  std::map<std::string, Tensor> t = {{"a", Tensor::ones({1000})},
                                     {"b", Tensor::from_vector<int64_t>({1, 2}, {2})},
                                     {"c", Tensor::from_vector<int64_t>({3, 999}, {2})}};
  EXPECT_THROW(write_safetensors(path, t, {}, {{"b", "U8"}, {"c", "U8"}}), Error);
  EXPECT_TRUE(dir.entries().empty());
  write_safetensors(path, {{"old", Tensor::zeros({1})}});
  std::string before = read_bytes(path);
  EXPECT_THROW(write_safetensors(path, t, {}, {{"c", "U8"}}), Error);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"w.safetensors"}));
  EXPECT_EQ(load_tensors(path).count("old"), 1u);
}

}  // namespace
}  // namespace attend::io
