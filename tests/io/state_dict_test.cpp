// State dict save/load of nn::Module through safetensors.
#include "attend/io/state_dict.h"

#include <gtest/gtest.h>

#include "attend/io/safetensors.h"
#include "io_test_util.h"

namespace attend::io {
namespace {

using attend::testing::ScratchDir;

// child: bias (3) parameter, count () int64 buffer.
class Leaf : public nn::Module {
 public:
  Leaf() {
    bias = register_parameter("bias", Tensor::zeros({3}));
    count = register_buffer("count", Tensor::zeros({}, DType::I64));
  }
  std::string type_name() const override { return "Leaf"; }
  Tensor bias, count;
};

// weight (2, 3) parameter, running (3) buffer, scratch (non-persistent) buffer, child.
class Small : public nn::Module {
 public:
  Small() {
    weight = register_parameter("weight", Tensor::zeros({2, 3}));
    running = register_buffer("running", Tensor::zeros({3}));
    scratch = register_buffer("scratch", Tensor::zeros({4}), /*persistent=*/false);
    child = register_module("child", std::make_shared<Leaf>());
  }
  std::string type_name() const override { return "Small"; }
  Tensor weight, running, scratch;
  std::shared_ptr<Leaf> child;
};

void fill(Small& m, float base) {
  std::vector<float> w(6);
  for (int i = 0; i < 6; ++i) w[i] = base + 0.5f * i;
  m.weight.copy_from(Tensor::from_vector<float>(w, {2, 3}));
  m.running.copy_from(Tensor::from_vector<float>({base, -base, 2 * base}, {3}));
  m.child->bias.copy_from(Tensor::from_vector<float>({1, 2, base}, {3}));
  *m.child->count.data<int64_t>() = (int64_t{1} << 60) + 3;  // needs all 64 bits
}

TEST(StateDict, SaveLoadRoundTripInPlace) {
  ScratchDir dir;
  std::string path = dir.file("small.safetensors");
  Small a;
  fill(a, 1.25f);
  save_state_dict(a, path, {{"model", "Small"}});
  SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.metadata.at("model"), "Small");
  std::vector<std::string> keys;
  for (auto& [k, e] : f.tensors) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"child.bias", "child.count", "running", "weight"}));
  EXPECT_EQ(f.tensors.at("child.count").dtype, "I64");

  Small b;
  Tensor w_handle = b.weight;
  float* w_data = b.weight.data<float>();
  LoadResult r = load_state_dict(b, path);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_TRUE(r.unexpected.empty());
  EXPECT_EQ(b.weight.data<float>(), w_data);  // copied in place
  EXPECT_TRUE(b.weight.is_same(w_handle));
  EXPECT_TRUE(b.weight.requires_grad());
  EXPECT_EQ(b.weight.to_vector<float>(), a.weight.to_vector<float>());
  EXPECT_EQ(b.running.to_vector<float>(), a.running.to_vector<float>());
  EXPECT_EQ(b.child->bias.to_vector<float>(), a.child->bias.to_vector<float>());
  EXPECT_EQ(*b.child->count.data<int64_t>(), (int64_t{1} << 60) + 3);
}

TEST(StateDict, ConvertsDtypes) {
  Small m;
  std::map<std::string, Tensor> t = {
      {"weight", Tensor::from_vector<double>({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {2, 3})},
      {"running", Tensor::from_vector<double>({1, 2, 3}, {3})},
      {"child.bias", Tensor::from_vector<float>({7, 8, 9}, {3})},
      {"child.count", Tensor::scalar(5.0, DType::F32)}};
  load_state_dict(m, t);
  EXPECT_EQ(m.weight.dtype(), DType::F32);
  EXPECT_FLOAT_EQ(m.weight.at({1, 2}), 0.6f);
  EXPECT_EQ(*m.child->count.data<int64_t>(), 5);
  // A non-integral float cannot go into the int64 buffer; nothing is modified.
  t["child.count"] = Tensor::scalar(5.5, DType::F32);
  t["weight"] = Tensor::zeros({2, 3});
  EXPECT_THROW(load_state_dict(m, t), Error);
  EXPECT_FLOAT_EQ(m.weight.at({1, 2}), 0.6f);
}

TEST(StateDict, NonContiguousSource) {
  Small m;
  Tensor base = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  std::map<std::string, Tensor> t = m.state_dict();
  t["weight"] = base.as_strided({2, 3}, {1, 2}, 0);
  load_state_dict(m, t);
  EXPECT_EQ(m.weight.to_vector<float>(), (std::vector<float>{1, 3, 5, 2, 4, 6}));
}

TEST(StateDict, ErrorsListEveryBadKey) {
  Small m;
  fill(m, 3.0f);
  std::map<std::string, Tensor> t = {
      {"weight", Tensor::zeros({3, 2})},   // mis-shaped
      {"child.bias", Tensor::zeros({4})},  // mis-shaped
      {"child.count", Tensor::zeros({}, DType::I64)},
      {"extra.weight", Tensor::zeros({1})},  // unexpected
      {"other", Tensor::zeros({1})}};        // unexpected; "running" is missing
  try {
    load_state_dict(m, t);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const char* w : {"missing keys (1): running", "unexpected keys (2): extra.weight, other",
                          "weight (source (3, 2) vs module (2, 3))",
                          "child.bias (source (4) vs module (3))", "Small"})
      EXPECT_NE(msg.find(w), std::string::npos) << w << "\n" << msg;
  }
  EXPECT_FLOAT_EQ(m.weight.at({0, 0}), 3.0f);  // untouched
  EXPECT_FLOAT_EQ(m.child->bias.at({2}), 3.0f);
}

TEST(StateDict, NonStrictReportsKeysButStillChecksShapes) {
  Small m;
  std::map<std::string, Tensor> t = {{"weight", Tensor::ones({2, 3})},
                                     {"unused", Tensor::zeros({1})}};
  LoadResult r = load_state_dict(m, t, /*strict=*/false);
  EXPECT_EQ(r.missing, (std::vector<std::string>{"child.bias", "child.count", "running"}));
  EXPECT_EQ(r.unexpected, (std::vector<std::string>{"unused"}));
  EXPECT_FLOAT_EQ(m.weight.at({1, 1}), 1.0f);
  t["weight"] = Tensor::ones({6});
  try {
    load_state_dict(m, t, false);
    ADD_FAILURE();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("weight (source (6) vs module (2, 3))"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("unused"), std::string::npos) << msg;
  }
  // Strict with a missing key.
  EXPECT_THROW(load_state_dict(m, std::map<std::string, Tensor>{}), Error);
}

TEST(StateDict, LoadFromFileErrorNamesFile) {
  ScratchDir dir;
  std::string path = dir.file("wrong.safetensors");
  write_safetensors(path, {{"weight", Tensor::zeros({2, 2})}});
  Small m;
  try {
    load_state_dict(m, path);
    ADD_FAILURE();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("weight (source (2, 2) vs module (2, 3))"), std::string::npos) << msg;
    EXPECT_NE(msg.find("child.bias"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace attend::io
