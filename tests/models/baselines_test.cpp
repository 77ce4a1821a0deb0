// LSTM and TCN baselines: parity with their PyTorch fixtures, causality, training, errors.
#include <gtest/gtest.h>

#include "attend/models/common.h"
#include "attend/models/lstm_model.h"
#include "attend/models/tcn.h"
#include "attend/nn/init.h"
#include "attend/ops/loss.h"
#include "attend/ops/shape.h"
#include "attend/optim/adam.h"
#include "parity.h"

namespace attend::testing {
namespace {

TEST(Parity, LSTM) {
  check_parity("LSTM");
}
TEST(Parity, TCN) {
  check_parity("TCN");
}

models::ModelConfig tiny_config(const std::string& name) {
  models::ModelConfig c;
  c.model = name;
  c.seq_len = 12;
  c.label_len = 4;
  c.pred_len = 4;
  c.enc_in = c.dec_in = c.c_out = 3;
  c.d_model = 8;
  c.e_layers = 2;
  c.dropout = 0.0;
  return c;
}

// A few Adam steps on one fixed batch lower the MSE.
void expect_training_lowers_loss(const models::ModelConfig& c, int steps = 30, double lr = 1e-2) {
  Context ctx({.threads = 1, .seed = 7});
  auto model = models::make_model(c, ctx);
  const int64_t B = 4, F = models::time_feature_count(c.freq);
  Tensor x_enc = Tensor::normal({B, c.seq_len, c.enc_in}, 0.0, 1.0, DType::F32, ctx);
  Tensor x_mark_enc = Tensor::uniform({B, c.seq_len, F}, -0.5, 0.5, DType::F32, ctx);
  Tensor x_dec = Tensor::normal({B, c.label_len + c.pred_len, c.dec_in}, 0.0, 1.0, DType::F32, ctx);
  Tensor x_mark_dec = Tensor::uniform({B, c.label_len + c.pred_len, F}, -0.5, 0.5, DType::F32, ctx);
  Tensor y = Tensor::normal({B, c.pred_len, c.c_out}, 0.0, 1.0, DType::F32, ctx);
  model->train();
  optim::AdamOptions o;
  o.lr = lr;
  optim::Adam adam(model->parameters(), o);
  double first = 0, last = 0;
  for (int s = 0; s < steps; ++s) {
    model->zero_grad();
    Tensor loss = mse_loss(model->forecast(x_enc, x_mark_enc, x_dec, x_mark_dec), y);
    loss.backward();
    adam.step();
    double v = loss.item();
    if (s == 0) first = v;
    last = v;
  }
  EXPECT_LT(last, 0.8 * first) << c.model << ": loss " << first << " -> " << last;
}

TEST(Baselines, LSTMTrains) {
  expect_training_lowers_loss(tiny_config("LSTM"));
}
TEST(Baselines, TCNTrains) {
  expect_training_lowers_loss(tiny_config("TCN"));
}

TEST(Baselines, OutputShapes) {
  Context ctx({.threads = 1, .seed = 3});
  for (const char* name : {"LSTM", "TCN"}) {
    auto c = tiny_config(name);
    auto model = models::make_model(c, ctx);
    EXPECT_FALSE(model->uses_decoder_input());
    EXPECT_FALSE(model->uses_time_marks());
    EXPECT_FALSE(model->has_attention());
    Tensor x = Tensor::normal({2, c.seq_len, c.enc_in}, 0.0, 1.0, DType::F32, ctx);
    Tensor out = model->forecast(x, Tensor(), Tensor(), Tensor());
    EXPECT_EQ(out.shape(), Shape({2, c.pred_len, c.c_out})) << name;
  }
}

// conv1 ∘ chomp is causal: output step t depends on input steps ≤ t only.
TEST(Baselines, TemporalBlockIsCausal) {
  Context ctx({.threads = 1, .seed = 5});
  models::TemporalBlock block(2, 4, 3, 2, ctx, DType::F64);
  const int64_t L = 10;
  Tensor x = Tensor::normal({1, L, 2}, 0.0, 1.0, DType::F64, ctx);  // channels-last (B, L, C)
  Tensor y0 = block.forward(x, /*channels_last=*/true);
  EXPECT_EQ(y0.shape(), Shape({1, L, 4}));
  // The (B, C, L) layout gives the same numbers.
  EXPECT_TRUE(all_close(permute(block.forward(permute(x, {0, 2, 1})), {0, 2, 1}), y0, 1e-12));
  Tensor x2 = x.copy_as(DType::F64);
  x2.data<double>()[6 * 2] += 5.0;      // step 6, channel 0
  x2.data<double>()[6 * 2 + 1] -= 3.0;  // step 6, channel 1
  Tensor y1 = block.forward(x2, /*channels_last=*/true);
  auto a = y0.to_vector<double>(), b = y1.to_vector<double>();
  bool later_changed = false;
  for (int64_t t = 0; t < L; ++t)
    for (int64_t ch = 0; ch < 4; ++ch) {
      if (t < 6) EXPECT_EQ(a[t * 4 + ch], b[t * 4 + ch]) << "channel " << ch << " step " << t;
      if (t >= 6 && a[t * 4 + ch] != b[t * 4 + ch]) later_changed = true;
    }
  EXPECT_TRUE(later_changed);
}

// Hand-computed block: 1 → 1 channel, all weights 1, biases 0, dilation 1, identity residual.
// x = [1, 2, 3]: causal conv (zeros on the left) y1 = [1, 3, 6]; y2 = conv(y1) = [1, 4, 10];
// out = relu(y2 + x) = [2, 6, 13].
TEST(Baselines, TemporalBlockHandComputed) {
  Context ctx({.threads = 1, .seed = 5});
  models::TemporalBlock block(1, 1, 3, 1, ctx, DType::F64);
  for (auto& [name, p] : block.named_parameters())
    nn::init::constant_(p, name.find("bias") != std::string::npos ? 0.0 : 1.0);
  Tensor x = Tensor::from_vector<double>({1, 2, 3}, Shape({1, 1, 3}), ctx);
  EXPECT_EQ(block.forward(x).to_vector<double>(), (std::vector<double>{2, 6, 13}));
  EXPECT_EQ(block.forward(reshape(x, {1, 3, 1}), true).to_vector<double>(),
            (std::vector<double>{2, 6, 13}));
}

// TCN runs a single window (1, C, L) and batches channels-last: the same forecasts either way.
TEST(Baselines, TcnBatchOfOneMatchesTheBatch) {
  Context ctx({.threads = 1, .seed = 3});
  auto c = tiny_config("TCN");
  auto model = models::make_model(c, ctx, DType::F64);
  model->eval();
  Tensor x = Tensor::normal({3, c.seq_len, c.enc_in}, 0.0, 1.0, DType::F64, ctx);
  Tensor batch = model->forecast(x, Tensor(), Tensor(), Tensor());
  for (int64_t b = 0; b < 3; ++b) {
    Tensor one = model->forecast(slice(x, 0, b, b + 1), Tensor(), Tensor(), Tensor());
    EXPECT_TRUE(all_close(one, slice(batch, 0, b, b + 1), 1e-12)) << "window " << b;
  }
}

// TCN runs its blocks on the last receptive_field() steps only; that must equal running them on
// the whole window (as the reference does) and reading the last step — outputs and gradients.
TEST(Baselines, TcnReceptiveFieldSliceIsExact) {
  Context ctx({.threads = 1, .seed = 5});
  auto c = tiny_config("TCN");
  c.seq_len = 40;
  c.e_layers = 3;  // R = 1 + 2·2·(2³ − 1) = 29 < 40
  auto model = models::make_model(c, ctx, DType::F64);
  auto& tcn = dynamic_cast<models::TCN&>(*model);
  ASSERT_EQ(tcn.receptive_field(), 29);
  Tensor x = Tensor::normal({3, c.seq_len, c.enc_in}, 0.0, 1.0, DType::F64, ctx);
  Tensor fast = model->forecast(x, Tensor(), Tensor(), Tensor());

  // the reference path: every block over all seq_len steps, channels-first
  std::vector<std::shared_ptr<nn::Module>> blocks;
  std::shared_ptr<nn::Module> head;
  for (const auto& [name, m] : model->named_children()) {
    if (name == "head") head = m;
    if (name == "blocks")
      for (const auto& [i, b] : m->named_children()) blocks.push_back(b);
  }
  ASSERT_EQ(blocks.size(), 3u);
  ASSERT_TRUE(head);
  auto full_path = [&] {
    models::WindowNorm norm;
    Tensor h = permute(models::normalize_window(x, norm), {0, 2, 1});
    for (const auto& b : blocks) h = b->forward(h);
    Tensor y = head->forward(select(h, 2, c.seq_len - 1));
    return models::denormalize_window(reshape(y, {3, c.pred_len, c.c_out}), norm);
  };
  Tensor full = full_path();
  EXPECT_TRUE(all_close(fast, full, 1e-12));

  // gradients of one loss through either path
  Tensor target = Tensor::normal(fast.shape(), 0.0, 1.0, DType::F64, ctx);
  mse_loss(model->forecast(x, Tensor(), Tensor(), Tensor()), target).backward();
  std::vector<Tensor> fast_grads;
  for (const auto& [name, p] : model->named_parameters())
    fast_grads.push_back(p.grad().copy_as(DType::F64));
  model->zero_grad();
  mse_loss(full_path(), target).backward();
  size_t i = 0;
  for (const auto& [name, p] : model->named_parameters())
    EXPECT_TRUE(all_close(p.grad(), fast_grads[i++], 1e-12, 1e-10)) << name;
}

TEST(Baselines, Errors) {
  Context ctx({.threads = 1, .seed = 3});
  for (const char* name : {"LSTM", "TCN"}) {
    auto c = tiny_config(name);
    auto model = models::make_model(c, ctx);
    Tensor bad = Tensor::zeros({2, c.seq_len + 1, c.enc_in}, DType::F32, ctx);
    EXPECT_THROW(model->forecast(bad, Tensor(), Tensor(), Tensor()), Error) << name;
    EXPECT_THROW(model->forecast(Tensor(), Tensor(), Tensor(), Tensor()), Error) << name;
    auto c2 = c;
    c2.c_out = 1;
    EXPECT_THROW(models::make_model(c2, ctx), Error) << name;
    auto c3 = c;
    c3.e_layers = 0;
    EXPECT_THROW(models::make_model(c3, ctx), Error) << name;
  }
}

}  // namespace
}  // namespace attend::testing
