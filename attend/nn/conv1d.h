#pragma once
// torch.nn.Conv1d.
#include "attend/nn/module.h"
#include "attend/ops/conv.h"

namespace attend::nn {

class Conv1d : public Module {
 public:
  // weight (out, in/groups, k) ~ kaiming_uniform(a = √5) = U(±1/√fan_in), bias ~ U(±1/√fan_in),
  // fan_in = in/groups · k.
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
         int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1, bool bias = true,
         PaddingMode padding_mode = PaddingMode::Zeros, Context& ctx = default_context(),
         DType dtype = DType::F32);
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
