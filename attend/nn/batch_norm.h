#pragma once
// torch.nn.BatchNorm1d over dim 1 of (N, C) or (N, C, L).
#include "attend/nn/module.h"

namespace attend::nn {

// torch.nn.BatchNorm1d's keyword arguments.
struct BatchNorm1dOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;
  bool track_running_stats = true;
};

class BatchNorm1d : public Module {
 public:
  // weight 1, bias 0; buffers running_mean 0, running_var 1, num_batches_tracked 0 (int64 0-d).
  BatchNorm1d(int64_t num_features, const BatchNorm1dOptions& options,
              Context& ctx = default_context(), DType dtype = DType::F32);
  explicit BatchNorm1d(int64_t num_features, Context& ctx = default_context(),
                       DType dtype = DType::F32)
      : BatchNorm1d(num_features, BatchNorm1dOptions{}, ctx, dtype) {}
  // Training: batch statistics, running stats updated (running_var with the unbiased variance)
  // and num_batches_tracked += 1. Eval: running statistics.
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm1d"; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  const Tensor& num_batches_tracked() const { return num_batches_tracked_; }

 private:
  int64_t c_;
  double eps_, momentum_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

}  // namespace attend::nn
