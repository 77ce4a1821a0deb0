#pragma once
// torch.nn.Conv1d.
#include "attend/nn/module.h"
#include "attend/ops/conv.h"

namespace attend::nn {

// torch.nn.Conv1d's keyword arguments (the module's; attend::Conv1dOptions are conv1d()'s, which
// the module derives from these).
struct Conv1dModuleOptions {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
  PaddingMode padding_mode = PaddingMode::Zeros;
};

class Conv1d : public Module {
 public:
  // weight (out, in/groups, k) ~ kaiming_uniform(a = √5) = U(±1/√fan_in), bias ~ U(±1/√fan_in),
  // fan_in = in/groups · k.
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
         const Conv1dModuleOptions& options, Context& ctx = default_context(),
         DType dtype = DType::F32);
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
         Context& ctx = default_context(), DType dtype = DType::F32)
      : Conv1d(in_channels, out_channels, kernel_size, Conv1dModuleOptions{}, ctx, dtype) {}
  // x: (N, in, L) -> (N, out, L_out); an unbatched (in, L) gives (out, L_out).
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv1d"; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Conv1dOptions& options() const { return options_; }

 private:
  int64_t in_, out_, k_;
  Conv1dOptions options_;
  Tensor weight_, bias_;
};

}  // namespace attend::nn
