#pragma once
// Whether two trainings are the same up to the summation order of float32 sums (data-parallel
// runs against one process: tests/train/distributed_test.cpp, tests/mpi).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace attend::testing {

// Relative difference of b from a.
inline double relative_difference(double a, double b) {
  return std::abs(a - b) / std::max(std::abs(a), 1e-30);
}

// Weights within 1e-5 of the tensor's largest magnitude (at least 1): float32 sums in another
// order differ by a few ulp per step (seen: ≤ 3e-7 after 100 Adam steps). `noise` names the
// tensors whose gradient is zero in exact arithmetic — a bias of the attention keys (the softmax
// over the keys is invariant to a shift), a scale or shift right before a BatchNorm — and the
// statistics that follow them: Adam normalises their rounding noise into steps of up to lr each,
// in either run, so they are held only to lr · steps.
inline void expect_same_weights(const std::map<std::string, std::vector<float>>& a,
                                const std::map<std::string, std::vector<float>>& b, double lr,
                                int64_t steps, const std::vector<std::string>& noise) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, va] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    const std::vector<float>& vb = b.at(name);
    ASSERT_EQ(va.size(), vb.size()) << name;
    double scale = 0, diff = 0;
    for (size_t i = 0; i < va.size(); ++i) {
      scale = std::max(scale, std::abs(static_cast<double>(va[i])));
      diff = std::max(diff, std::abs(static_cast<double>(va[i]) - vb[i]));
    }
    const bool is_noise = std::any_of(noise.begin(), noise.end(), [&](const std::string& n) {
      return name.find(n) != std::string::npos;
    });
    const double tolerance =
        is_noise ? lr * static_cast<double>(steps) : 1e-5 * std::max(scale, 1.0);
    EXPECT_LE(diff, tolerance) << name << (is_noise ? " (noise)" : "");
  }
}

// The noise tensors (see expect_same_weights) of the models the tests train: every attention's
// key bias; PatchTST's last encoder LayerNorm (norm2 of its one layer), which feeds the encoder's
// BatchNorm, and that BatchNorm's running statistics.
inline const std::vector<std::string> kKeyBiasNoise = {"key_projection.bias"};
inline const std::vector<std::string> kPatchTstNoise = {
    "key_projection.bias", "attn_layers.0.norm2.", "encoder.norm.1.running_"};

}  // namespace attend::testing
