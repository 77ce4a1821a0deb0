#pragma once
// TCN baseline (Bai, Kolter & Koltun 2018; attend's reference models/TCN/model.py, not in TSLib):
// per-window normalisation, e_layers TemporalBlocks (dilation 2^i, kernel 3, no weight norm, no
// dropout), Linear(d_model → pred_len·c_out) on the last time step, de-normalisation.
#include <memory>

#include "attend/models/model.h"
#include "attend/nn/conv1d.h"
#include "attend/nn/linear.h"

namespace attend::models {

// relu(relu(causal_conv2(relu(causal_conv1(x)))) + res), res = x or downsample(x) (1×1 conv when
// the channel counts differ). Causal conv = Conv1d with (k − 1)·d zeros on both sides, keeping the
// first L outputs (computed as (k − 1)·d zeros before the input only). Parameters as PyTorch's
// Conv1d.
class TemporalBlock : public nn::Module {
 public:
  TemporalBlock(int64_t n_inputs, int64_t n_outputs, int64_t kernel_size, int64_t dilation,
                Context& ctx, DType dtype);
  // x: (B, C_in, L) -> (B, C_out, L), as PyTorch's block
  Tensor forward(const Tensor& x) override;
  // The same on channels-last tensors when asked: (B, L, C_in) -> (B, L, C_out)
  Tensor forward(const Tensor& x, bool channels_last);
  std::string type_name() const override { return "TemporalBlock"; }

 private:
  int64_t chomp_;
  std::shared_ptr<nn::Conv1d> conv1_, conv2_, downsample_;
};

class TCN : public ForecastModel {
 public:
  static constexpr int64_t kKernelSize = 3;
  TCN(const ModelConfig& c, Context& ctx, DType dtype);
  // x_enc (B, seq_len, enc_in) -> (B, pred_len, c_out); the other inputs are ignored.
  Tensor forecast_quantiles(const Tensor& x_enc, const Tensor& x_mark_enc, const Tensor& x_dec,
                            const Tensor& x_mark_dec) override;
  std::string type_name() const override { return "TCN"; }
  // Input steps that can reach the last output: 1 + 2·(K − 1)·(2^e_layers − 1).
  int64_t receptive_field() const;

 private:
  std::vector<std::shared_ptr<TemporalBlock>> blocks_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace attend::models
