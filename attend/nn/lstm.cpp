#include "attend/nn/lstm.h"

#include <cmath>

#include "attend/nn/init.h"
#include "attend/ops/linalg.h"
#include "attend/ops/shape.h"

namespace attend::nn {

LSTM::LSTM(int64_t input_size, int64_t hidden_size, const LSTMOptions& options, Context& ctx,
           DType dtype)
    : input_size_(input_size),
      hidden_(hidden_size),
      layers_(options.num_layers),
      batch_first_(options.batch_first) {
  ATTEND_CHECK(input_size > 0 && hidden_size > 0 && layers_ > 0,
               "[LSTM] input_size, hidden_size and num_layers must be positive, got {}, {}, {}",
               input_size, hidden_size, layers_);
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  const int64_t G = 4 * hidden_size;
  for (int64_t k = 0; k < layers_; ++k) {
    const int64_t in = k == 0 ? input_size : hidden_size;
    const std::string sfx = "_l" + std::to_string(k);
    w_ih_.push_back(register_parameter("weight_ih" + sfx, Tensor::empty({G, in}, dtype, ctx)));
    w_hh_.push_back(
        register_parameter("weight_hh" + sfx, Tensor::empty({G, hidden_size}, dtype, ctx)));
    if (options.bias) {
      b_ih_.push_back(register_parameter("bias_ih" + sfx, Tensor::empty({G}, dtype, ctx)));
      b_hh_.push_back(register_parameter("bias_hh" + sfx, Tensor::empty({G}, dtype, ctx)));
    } else {
      b_ih_.emplace_back();
      b_hh_.emplace_back();
    }
  }
  // PyTorch order: weight_ih, weight_hh, bias_ih, bias_hh per layer, all U(±1/√H).
  for (const Tensor& p : parameters()) init::uniform_(p, -bound, bound);
}

LSTMOutput LSTM::forward_all(const Tensor& x_in, const Tensor& h0, const Tensor& c0) {
  ATTEND_CHECK(x_in.defined() && x_in.ndim() == 3 && x_in.size(2) == input_size_,
               "[LSTM] expected input {}, got {}",
               batch_first_ ? fmt::format("(B, L, {})", input_size_)
                            : fmt::format("(L, B, {})", input_size_),
               x_in.defined() ? x_in.shape().str() : "undefined");
  Tensor x = batch_first_ ? x_in : transpose(x_in, 0, 1);
  const int64_t B = x.size(0);
  for (const Tensor* t : {&h0, &c0})
    ATTEND_CHECK(!t->defined() || t->shape() == Shape({layers_, B, hidden_}),
                 "[LSTM] expected initial state ({}, {}, {}), got {}", layers_, B, hidden_,
                 t->shape().str());
  std::vector<Tensor> hn, cn;
  Tensor seq = x;
  for (int64_t k = 0; k < layers_; ++k) {
    Tensor xproj = linear(seq, w_ih_[k], b_ih_[k]);  // (B, L, 4H)
    LSTMOutput r = lstm_layer(xproj, w_hh_[k], b_hh_[k], h0.defined() ? select(h0, 0, k) : Tensor(),
                              c0.defined() ? select(c0, 0, k) : Tensor());
    seq = r.output;
    hn.push_back(r.h_n);
    cn.push_back(r.c_n);
  }
  LSTMOutput out;
  out.output = batch_first_ ? seq : transpose(seq, 0, 1);
  out.h_n = stack(hn, 0);
  out.c_n = stack(cn, 0);
  return out;
}

}  // namespace attend::nn
