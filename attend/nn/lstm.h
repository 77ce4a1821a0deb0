#pragma once
// torch.nn.LSTM (unidirectional), gate order i, f, g, o. Per layer: one linear over all time
// steps for the input projection, then a recurrence recorded as one autograd node per layer
// (per step one GEMM h·W_hhᵀ and the fused cell kernel; BPTT in the node's backward).
#include "attend/nn/module.h"

namespace attend::nn {

struct LSTMOutput {
  Tensor output;  // (B, L, H) with batch_first, else (L, B, H)
  Tensor h_n;     // (num_layers, B, H)
  Tensor c_n;     // (num_layers, B, H)
};

// One layer's recurrence. xproj: (B, L, 4H) = x·W_ihᵀ + b_ih; w_hh: (4H, H); b_hh: (4H) or
// undefined; h0, c0: (B, H) or undefined (zeros). Differentiable in all defined inputs.
LSTMOutput lstm_layer(const Tensor& xproj, const Tensor& w_hh, const Tensor& b_hh, const Tensor& h0,
                      const Tensor& c0);

class LSTM : public Module {
 public:
  // Every weight and bias ~ U(±1/√hidden_size). Parameters weight_ih_l{k} (4H, in_k),
  // weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k} (4H).
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool batch_first = true,
       bool bias = true, Context& ctx = default_context(), DType dtype = DType::F32);
  // x: (B, L, in) (batch_first) or (L, B, in); h0, c0: (num_layers, B, H) or undefined (zeros).
  LSTMOutput forward_all(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor());
  // The output sequence only.
  Tensor forward(const Tensor& x) override { return forward_all(x).output; }
  std::string type_name() const override { return "LSTM"; }
  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_; }
  int64_t num_layers() const { return layers_; }

 private:
  int64_t input_size_, hidden_, layers_;
  bool batch_first_;
  std::vector<Tensor> w_ih_, w_hh_, b_ih_, b_hh_;
};

}  // namespace attend::nn
