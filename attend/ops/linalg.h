#pragma once
// Matrix products through kernels::gemm. Differentiable.
#include <memory>
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend {

// torch.matmul: 1-d and 2-d operands and batched N-d products with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x · Wᵀ + b: x (..., in), weight (out, in), bias (out) or undefined. Fused (one GEMM, bias
// folded in; the backward is three GEMM-shaped steps).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// float32 weights packed once for inference, for a model whose weights do not change while this
// lives (a loaded checkpoint; a benchmark's model). `freeze` names the tensors (a model's
// parameters and buffers) whose storage is fixed; while a Scope is active on a thread, linear() on
// that thread with no gradient to record, at most kMaxRows rows and a weight that is a view of a
// frozen storage multiplies by kernels::pack_b's packed copy of Wᵀ (kernels::gemm_packed_b),
// packing that weight the first time it is seen. dnnl_sgemm packs its B operand inside every call;
// at inference the weights are that operand, the same every call.
class PackedWeights {
 public:
  // Rows of x up to which the packed product is used: at 1024 it still matched or beat the
  // backend on every Linear shape of TSLib's defaults (bench: one and two Zen 3 cores; at 3072
  // rows 0.94-1.04x).
  static constexpr int64_t kMaxRows = 1024;

  class Scope {
   public:
    explicit Scope(PackedWeights& weights);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    PackedWeights* previous_;
  };

  void freeze(const std::vector<Tensor>& tensors);
  // The active one on this thread, or null.
  static PackedWeights* current();
  // Wᵀ packed for `weight` (out, in), read through its layout (trans: element (o, i) at
  // o + i·ld, else o·ld + i); null when the weight's storage is not frozen.
  const float* packed(const Tensor& weight, bool trans, int64_t ld);
  size_t count() const;  // weights packed so far

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace attend
