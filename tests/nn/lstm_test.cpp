// LSTM: fused cell kernel vs its reference twin, the module vs a step-by-step reference made of
// plain ops (values and gradients), gradcheck, and the PyTorch LSTM fixture.
#include <gtest/gtest.h>

#include <cmath>

#include "attend/io/safetensors.h"
#include "attend/kernels/lstm_cell.h"
#include "attend/nn/linear.h"
#include "attend/nn/lstm.h"
#include "attend/ops/lstm.h"
#include "attend/ops/ops.h"
#include "support/gradcheck.h"
#include "support/paths.h"

namespace attend::nn {
namespace {

using attend::testing::all_close;
using attend::testing::gradcheck;
using attend::testing::random_leaf;

TEST(LstmCellKernel, FastMatchesReference) {
  Context ctx({.seed = 3});
  for (int64_t H : {1, 5, 8, 16, 17, 33}) {
    for (int64_t B : {1, 3, 40}) {
      for (int64_t pad : {0, 3}) {
        SCOPED_TRACE(fmt::format("B={} H={} pad={}", B, H, pad));
        const int64_t ld = 4 * H + pad;
        Tensor gates = Tensor::uniform({B, ld}, -3.0, 3.0, DType::F32, ctx);
        Tensor cp = Tensor::uniform({B, H}, -2.0, 2.0, DType::F32, ctx);
        Tensor g1 = gates.copy_as(DType::F32), g2 = gates.copy_as(DType::F32);
        Tensor c1 = Tensor::zeros({B, H}, DType::F32, ctx), c2 = c1.copy_as(DType::F32);
        Tensor h1 = Tensor::zeros({B, H}, DType::F32, ctx), h2 = h1.copy_as(DType::F32);
        // The first `cols` columns of t (B, ·): the gates' rows have stride ld.
        auto rows = [&](const Tensor& t, int64_t cols) {
          return kernels::View<float, 2>{t.data<float>(), {B, cols}, {t.size(1), 1}};
        };
        kernels::lstm_cell_forward(rows(g1, 4 * H), rows(cp, H), rows(c1, H), rows(h1, H), 2);
        kernels::lstm_cell_forward_reference<float>(rows(g2, 4 * H), rows(cp, H), rows(c2, H),
                                                    rows(h2, H));
        EXPECT_TRUE(all_close(g1, g2, 1e-6, 1e-5));
        EXPECT_TRUE(all_close(c1, c2, 1e-6, 1e-5));
        EXPECT_TRUE(all_close(h1, h2, 1e-6, 1e-5));
        Tensor dh = Tensor::uniform({B, H}, -1.0, 1.0, DType::F32, ctx);
        Tensor dc1 = Tensor::uniform({B, H}, -1.0, 1.0, DType::F32, ctx),
               dc2 = dc1.copy_as(DType::F32);
        Tensor da1 = Tensor::zeros({B, ld}, DType::F32, ctx), da2 = da1.copy_as(DType::F32);
        kernels::lstm_cell_backward(rows(g2, 4 * H), rows(cp, H), rows(c2, H), rows(dh, H),
                                    rows(dc1, H), rows(da1, 4 * H), 2);
        kernels::lstm_cell_backward_reference<float>(rows(g2, 4 * H), rows(cp, H), rows(c2, H),
                                                     rows(dh, H), rows(dc2, H), rows(da2, 4 * H));
        EXPECT_TRUE(all_close(da1, da2, 1e-6, 1e-5));
        EXPECT_TRUE(all_close(dc1, dc2, 1e-6, 1e-5));
      }
    }
  }
}

TEST(LstmCellKernel, HandValues) {
  // a = 0 everywhere: i = f = o = ½, g = 0; c = ½·c_prev; h = ½·tanh(c).
  double gates[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  double cp[2] = {1.0, -2.0}, c[2], h[2];
  using Row = kernels::View<double, 2>;
  kernels::lstm_cell_forward(Row::dense(gates, {1, 8}), Row::dense(cp, {1, 2}),
                             Row::dense(c, {1, 2}), Row::dense(h, {1, 2}), 1);
  EXPECT_DOUBLE_EQ(c[0], 0.5);
  EXPECT_DOUBLE_EQ(c[1], -1.0);
  EXPECT_DOUBLE_EQ(h[0], 0.5 * std::tanh(0.5));
  EXPECT_DOUBLE_EQ(gates[4], 0.0);
  EXPECT_DOUBLE_EQ(gates[0], 0.5);
}

// The textbook recurrence from plain ops: gates = x_t·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh.
LSTMOutput reference_lstm(const LSTM& m, const Tensor& x, const Tensor& h0, const Tensor& c0) {
  auto params = m.named_parameters();
  auto p = [&](const std::string& n) {
    for (auto& [name, t] : params)
      if (name == n) return t;
    return Tensor();
  };
  const int64_t H = m.hidden_size(), L = x.size(1);
  Tensor seq = x;
  std::vector<Tensor> hn, cn;
  for (int64_t k = 0; k < m.num_layers(); ++k) {
    std::string s = "_l" + std::to_string(k);
    Tensor h = select(h0, 0, k), c = select(c0, 0, k);
    std::vector<Tensor> outs;
    for (int64_t t = 0; t < L; ++t) {
      Tensor a = add(linear(select(seq, 1, t), p("weight_ih" + s), p("bias_ih" + s)),
                     linear(h, p("weight_hh" + s), p("bias_hh" + s)));
      Tensor i = sigmoid(slice(a, 1, 0, H)), f = sigmoid(slice(a, 1, H, 2 * H));
      Tensor g = tanh(slice(a, 1, 2 * H, 3 * H)), o = sigmoid(slice(a, 1, 3 * H, 4 * H));
      c = add(mul(f, c), mul(i, g));
      h = mul(o, tanh(c));
      outs.push_back(h);
    }
    seq = stack(outs, 1);
    hn.push_back(h);
    cn.push_back(c);
  }
  return {seq, stack(hn, 0), stack(cn, 0)};
}

TEST(LSTM, ParameterNamesAndShapes) {
  Context ctx;
  LSTM m(7, 32, {.num_layers = 2, .batch_first = true}, ctx);
  auto sd = m.state_dict();
  EXPECT_EQ(sd.size(), 8u);
  EXPECT_EQ(sd.at("weight_ih_l0").shape(), Shape({128, 7}));
  EXPECT_EQ(sd.at("weight_hh_l0").shape(), Shape({128, 32}));
  EXPECT_EQ(sd.at("bias_ih_l1").shape(), Shape({128}));
  EXPECT_EQ(sd.at("weight_ih_l1").shape(), Shape({128, 32}));
  EXPECT_EQ(m.named_parameters()[2].first, "bias_ih_l0");
  LSTM nb(3, 4, {.bias = false, .batch_first = true}, ctx);
  EXPECT_EQ(nb.named_parameters().size(), 2u);
}

TEST(LSTM, MatchesStepByStepReferenceWithGradients) {
  Context ctx({.seed = 11});
  LSTM m(3, 5, {.num_layers = 2, .batch_first = true}, ctx, DType::F64);
  Tensor x = random_leaf({2, 4, 3}, ctx);
  Tensor h0 = random_leaf({2, 2, 5}, ctx), c0 = random_leaf({2, 2, 5}, ctx);
  Tensor r1 = Tensor::normal({2, 4, 5}, 0, 1, DType::F64, ctx);
  Tensor r2 = Tensor::normal({2, 2, 5}, 0, 1, DType::F64, ctx);
  Tensor r3 = Tensor::normal({2, 2, 5}, 0, 1, DType::F64, ctx);
  auto loss = [&](const LSTMOutput& o) {
    return add(add(sum(mul(o.output, r1)), sum(mul(o.h_n, r2))), sum(mul(o.c_n, r3)));
  };
  std::vector<Tensor> leaves = {x, h0, c0};
  for (auto& t : m.parameters()) leaves.push_back(t);

  LSTMOutput fast = m.forward_all(x, h0, c0);
  loss(fast).backward();
  std::vector<Tensor> g_fast;
  for (auto& t : leaves) {
    g_fast.push_back(t.grad());
    t.zero_grad();
  }
  LSTMOutput ref = reference_lstm(m, x, h0, c0);
  EXPECT_TRUE(all_close(fast.output, ref.output, 1e-12, 1e-10));
  EXPECT_TRUE(all_close(fast.h_n, ref.h_n, 1e-12, 1e-10));
  EXPECT_TRUE(all_close(fast.c_n, ref.c_n, 1e-12, 1e-10));
  loss(ref).backward();
  for (size_t i = 0; i < leaves.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(g_fast[i].defined());
    EXPECT_TRUE(all_close(g_fast[i], leaves[i].grad(), 1e-12, 1e-9));
  }
}

TEST(LSTM, FloatMatchesDouble) {
  Context ctx({.seed = 5});
  LSTM m64(4, 19, {.batch_first = true}, ctx, DType::F64);
  LSTM m32(4, 19, {.batch_first = true}, ctx, DType::F32);
  auto p64 = m64.parameters(), p32 = m32.parameters();
  for (size_t i = 0; i < p64.size(); ++i) p32[i].copy_from(p64[i]);
  Tensor x = Tensor::uniform({3, 6, 4}, -1, 1, DType::F64, ctx);
  LSTMOutput a = m64.forward_all(x), b = m32.forward_all(x.copy_as(DType::F32));
  EXPECT_TRUE(all_close(b.output, a.output, 1e-6, 1e-5));
  EXPECT_TRUE(all_close(b.c_n, a.c_n, 1e-6, 1e-5));
}

TEST(LSTM, Gradcheck) {
  Context ctx({.seed = 2});
  LSTM m(3, 2, {.num_layers = 2, .batch_first = true}, ctx, DType::F64);
  Tensor x = random_leaf({2, 3, 3}, ctx);
  Tensor h0 = random_leaf({2, 2, 2}, ctx), c0 = random_leaf({2, 2, 2}, ctx);
  std::vector<Tensor> inputs = {x, h0, c0};
  for (auto& t : m.parameters()) inputs.push_back(t);
  auto f = [&](const std::vector<Tensor>& in) {
    LSTMOutput o = m.forward_all(in[0], in[1], in[2]);
    return concat({reshape(o.output, {-1}), reshape(o.h_n, {-1}), reshape(o.c_n, {-1})}, 0);
  };
  EXPECT_TRUE(gradcheck(f, inputs));
}

TEST(LSTM, SequenceFirstLayout) {
  Context ctx({.seed = 9});
  LSTM bf(2, 3, {.batch_first = true}, ctx, DType::F64), sf(2, 3, ctx, DType::F64);
  auto pb = bf.parameters(), ps = sf.parameters();
  for (size_t i = 0; i < pb.size(); ++i) ps[i].copy_from(pb[i]);
  Tensor x = Tensor::uniform({4, 5, 2}, -1, 1, DType::F64, ctx);
  LSTMOutput a = bf.forward_all(x), b = sf.forward_all(transpose(x, 0, 1));
  EXPECT_TRUE(all_close(transpose(b.output, 0, 1).contiguous_data(), a.output, 1e-14, 1e-12));
  EXPECT_TRUE(all_close(b.h_n, a.h_n, 1e-14, 1e-12));
}

// lstm_layer split by hidden units (2 and 3 threads; H 300 in uneven chunks) against the
// per-step path on one thread: outputs, final state and the gradients of every input, float32
// and float64; and the same result twice for one thread count.
TEST(LSTMLayer, ByUnitsMatchesBySteps) {
  Context ctx({.seed = 21});
  for (DType dt : {DType::F32, DType::F64}) {
    const double atol = dt == DType::F32 ? 2e-5 : 1e-12, rtol = dt == DType::F32 ? 1e-4 : 1e-10;
    for (int64_t B : {1, 5}) {
      for (int64_t H : {5, 130, 300}) {
        for (int64_t L : {1, 7}) {
          for (bool state_and_bias : {false, true}) {
            SCOPED_TRACE(fmt::format("{} B={} H={} L={} state_and_bias={}", dtype_name(dt), B, H, L,
                                     state_and_bias));
            auto leaf = [&](const Shape& shape, double scale) {
              Tensor t = Tensor::uniform(shape, -scale, scale, dt, ctx);
              t.set_requires_grad(true);
              return t;
            };
            Tensor x = leaf({B, L, 4 * H}, 1.0), w = leaf({4 * H, H}, 0.5);
            Tensor b = state_and_bias ? leaf({4 * H}, 0.5) : Tensor();
            Tensor h0 = state_and_bias ? leaf({B, H}, 1.0) : Tensor();
            Tensor c0 = state_and_bias ? leaf({B, H}, 1.0) : Tensor();
            Tensor r1 = Tensor::normal({B, L, H}, 0, 1, dt, ctx);
            Tensor r2 = Tensor::normal({B, H}, 0, 1, dt, ctx),
                   r3 = Tensor::normal({B, H}, 0, 1, dt, ctx);
            std::vector<Tensor> leaves = {x, w, b, h0, c0};
            // The outputs and the gradients of a random linear function of all three.
            auto run = [&](int threads, LSTMThreading threading) {
              ctx.set_threads(threads);
              LSTMOutput o = lstm_layer(x, w, b, h0, c0, threading);
              add(add(sum(mul(o.output, r1)), sum(mul(o.h_n, r2))), sum(mul(o.c_n, r3))).backward();
              std::vector<Tensor> r = {o.output.detach(), o.h_n.detach(), o.c_n.detach()};
              for (Tensor& t : leaves)
                if (t.defined()) {
                  r.push_back(t.grad());
                  t.zero_grad();
                }
              return r;
            };
            const std::vector<Tensor> ref = run(1, LSTMThreading::by_steps);
            for (int threads : {2, 3}) {
              SCOPED_TRACE(threads);
              const std::vector<Tensor> got = run(threads, LSTMThreading::by_units);
              const std::vector<Tensor> again = run(threads, LSTMThreading::by_units);
              for (size_t i = 0; i < ref.size(); ++i) {
                SCOPED_TRACE(i);
                EXPECT_TRUE(all_close(got[i], ref[i], atol, rtol));
                EXPECT_EQ(got[i].to_vector<double>(), again[i].to_vector<double>());
              }
            }
          }
        }
      }
    }
  }
  ctx.set_threads(0);
}

// The float32 recurrence (W_hh packed once, attend's kernel for each step, from batch 2 or up to
// H 64 on one thread; the backend otherwise) against the float64 one, on one and two threads and
// both paths of two: outputs, final state and every input's gradient.
TEST(LSTMLayer, Float32RecurrenceMatchesFloat64) {
  Context ctx({.seed = 23});
  for (int64_t B : {1, 2, 5, 8}) {
    for (int64_t H : {5, 64, 130}) {
      const int64_t L = 6;
      auto leaf = [&](const Shape& shape, double scale) {
        Tensor t = Tensor::uniform(shape, -scale, scale, DType::F64, ctx);
        t.set_requires_grad(true);
        return t;
      };
      std::vector<Tensor> in64 = {leaf({B, L, 4 * H}, 1.0), leaf({4 * H, H}, 0.5),
                                  leaf({4 * H}, 0.5), leaf({B, H}, 1.0), leaf({B, H}, 1.0)};
      std::vector<Tensor> in32;
      for (const Tensor& t : in64) {
        in32.push_back(t.detach().copy_as(DType::F32));
        in32.back().set_requires_grad(true);
      }
      Tensor r1 = Tensor::normal({B, L, H}, 0, 1, DType::F64, ctx);
      auto run = [&](std::vector<Tensor>& in, LSTMThreading threading) {
        LSTMOutput o = lstm_layer(in[0], in[1], in[2], in[3], in[4], threading);
        const Tensor weights = r1.copy_as(o.output.dtype());
        add(add(sum(mul(o.output, weights)), sum(o.h_n)), sum(o.c_n)).backward();
        std::vector<Tensor> r = {o.output.detach(), o.h_n.detach(), o.c_n.detach()};
        for (Tensor& t : in) {
          r.push_back(t.grad());
          t.zero_grad();
        }
        return r;
      };
      ctx.set_threads(1);
      const std::vector<Tensor> ref = run(in64, LSTMThreading::by_steps);
      for (int threads : {1, 2})
        for (LSTMThreading threading : {LSTMThreading::by_steps, LSTMThreading::by_units}) {
          if (threads == 1 && threading == LSTMThreading::by_units) continue;
          SCOPED_TRACE(fmt::format("B={} H={} threads={} by_units={}", B, H, threads,
                                   threading == LSTMThreading::by_units));
          ctx.set_threads(threads);
          const std::vector<Tensor> got = run(in32, threading);
          for (size_t i = 0; i < ref.size(); ++i) {
            SCOPED_TRACE(i);
            EXPECT_TRUE(all_close(got[i].copy_as(DType::F64), ref[i], 2e-5, 1e-4));
          }
        }
    }
  }
  ctx.set_threads(0);
}

TEST(LSTM, BadInputs) {
  Context ctx;
  LSTM m(7, 4, {.num_layers = 2, .batch_first = true}, ctx);
  try {
    m.forward(Tensor::zeros({4, 96, 8}, DType::F32, ctx));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[LSTM] expected input (B, L, 7), got (4, 96, 8)");
  }
  try {
    m.forward_all(Tensor::zeros({4, 96, 7}, DType::F32, ctx),
                  Tensor::zeros({1, 4, 4}, DType::F32, ctx));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[LSTM] expected initial state (2, 4, 4), got (1, 4, 4)");
  }
}

// models/LSTM/model.py rebuilt from LSTM + Linear + ops.
class LstmModel : public Module {
 public:
  LstmModel(Context& ctx, int64_t enc_in, int64_t d_model, int64_t layers, int64_t pred_len)
      : pred_len_(pred_len), c_out_(enc_in) {
    lstm_ = register_module(
        "lstm", std::make_shared<LSTM>(
                    enc_in, d_model, LSTMOptions{.num_layers = layers, .batch_first = true}, ctx));
    head_ = register_module("head", std::make_shared<Linear>(d_model, pred_len * enc_in, ctx));
  }
  Tensor forward(const Tensor& x_enc) override {
    Tensor means = mean(x_enc, {1}, true).detach();
    Tensor x = sub(x_enc, means);
    Tensor stdev = sqrt(add(var(x, {1}, false, true), 1e-5));
    x = div(x, stdev);
    LSTMOutput o = lstm_->forward_all(x);
    Tensor dec = head_->forward(select(o.h_n, 0, -1));
    dec = reshape(dec, {-1, pred_len_, c_out_});
    return add(mul(dec, stdev), means);  // stdev, means: (B, 1, C) broadcast over pred_len
  }

 private:
  int64_t pred_len_, c_out_;
  std::shared_ptr<LSTM> lstm_;
  std::shared_ptr<Linear> head_;
};

TEST(LSTM, MatchesPyTorchFixture) {
  Context ctx;
  const std::string dir = attend::testing::fixture_path("models/LSTM/");
  auto weights = io::load_tensors(dir + "weights.safetensors", ctx);
  auto batch = io::load_tensors(dir + "batch.safetensors", ctx);
  auto expected = io::load_tensors(dir + "expected.safetensors", ctx);
  LstmModel model(ctx, 7, 32, 2, 96);
  auto sd = model.state_dict();
  ASSERT_EQ(sd.size(), weights.size());
  for (auto& [name, t] : sd) t.copy_from(weights.at(name));

  model.eval();
  {
    NoGradGuard ng;
    Tensor out = model.forward(batch.at("x_enc"));
    EXPECT_TRUE(all_close(out, expected.at("out_eval"), 1e-5, 1e-4));
  }
  model.train();
  Tensor out = model.forward(batch.at("x_enc"));
  EXPECT_TRUE(all_close(out, expected.at("out_train"), 1e-5, 1e-4));
  Tensor d = sub(out, batch.at("y"));
  Tensor loss = mean(mul(d, d));
  EXPECT_NEAR(loss.item(), expected.at("loss").item(), 1e-5 + 1e-4 * expected.at("loss").item());
  loss.backward();
  const double G = 0.002723232377320528;
  for (auto& [name, p] : model.named_parameters()) {
    SCOPED_TRACE(name);
    Tensor ref = expected.at("grad." + name);
    ASSERT_TRUE(p.grad().defined());
    std::vector<double> a = p.grad().to_vector<double>(), b = ref.to_vector<double>();
    double maxabs = 0;
    for (double v : b) maxabs = std::max(maxabs, std::abs(v));
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_LE(std::abs(a[i] - b[i]), 1e-5 * maxabs + 1e-3 * std::abs(b[i]) + 1e-6 * G)
          << "element " << i << ": " << a[i] << " vs " << b[i];
  }
}

}  // namespace
}  // namespace attend::nn
