#pragma once
// torch.nn.LSTM (unidirectional), gate order i, f, g, o. Per layer: one linear over all time
// steps for the input projection, then the recurrence as one op (`lstm_layer`, ops/lstm.h).
#include "attend/nn/module.h"
#include "attend/ops/lstm.h"

namespace attend::nn {

using attend::LSTMOutput;  // output, h_n, c_n

// torch.nn.LSTM's keyword arguments (unidirectional, no dropout between layers).
struct LSTMOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // true: x (B, L, in) and output (B, L, H); false: (L, B, ·)
};

class LSTM : public Module {
 public:
  // Every weight and bias ~ U(±1/√hidden_size). Parameters weight_ih_l{k} (4H, in_k),
  // weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k} (4H).
  LSTM(int64_t input_size, int64_t hidden_size, const LSTMOptions& options,
       Context& ctx = default_context(), DType dtype = DType::F32);
  LSTM(int64_t input_size, int64_t hidden_size, Context& ctx = default_context(),
       DType dtype = DType::F32)
      : LSTM(input_size, hidden_size, LSTMOptions{}, ctx, dtype) {}
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
