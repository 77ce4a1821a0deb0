// Optimizers, gradient clipping and LR schedules: hand-computed cases and PyTorch's Adam step on
// every reference fixture.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "attend/io/safetensors.h"
#include "attend/optim/adam.h"
#include "attend/optim/clip_grad.h"
#include "attend/optim/lr_schedule.h"
#include "attend/optim/sgd.h"
#include "support/gradcheck.h"
#include "support/paths.h"

namespace attend::optim {
namespace {

Tensor leaf(const std::vector<double>& v, Context& ctx, DType dt = DType::F64) {
  Tensor t = Tensor::from_doubles(v, Shape{static_cast<int64_t>(v.size())}, dt, ctx);
  t.set_requires_grad(true);
  return t;
}

void set_grad(const Tensor& p, const std::vector<double>& g) {
  p.set_grad(Tensor::from_doubles(g, p.shape(), p.dtype(), p.context()));
}

TEST(SGD, MomentumDampeningWeightDecayTwoSteps) {
  Context ctx;
  Tensor p = leaf({1.0, -2.0}, ctx);
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
  set_grad(p, {0.5, 1.0});
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.949, 1e-12);
  EXPECT_NEAR(p.at({1}), -2.098, 1e-12);
  opt.step();  // same grad: d = g + wd·p, b = 0.9·b + 0.9·d
  EXPECT_NEAR(p.at({0}), 0.8572459, 1e-12);
  EXPECT_NEAR(p.at({1}), -2.2743118, 1e-12);
  EXPECT_EQ(opt.step_count(), 2);
}

TEST(SGD, NesterovTwoSteps) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  set_grad(p, {0.5});
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.905, 1e-12);
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.7695, 1e-12);
}

TEST(SGD, PlainAndSkipsParamsWithoutGrad) {
  Context ctx;
  Tensor p = leaf({1.0, 2.0}, ctx), q = leaf({3.0}, ctx);
  SGD opt({p, q}, {.lr = 0.5});
  set_grad(p, {1.0, -1.0});
  opt.step();
  EXPECT_DOUBLE_EQ(p.at({0}), 0.5);
  EXPECT_DOUBLE_EQ(p.at({1}), 2.5);
  EXPECT_DOUBLE_EQ(q.at({0}), 3.0);
  opt.zero_grad();
  EXPECT_FALSE(p.grad().defined());
}

TEST(SGD, NesterovNeedsMomentum) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  try {
    SGD opt({p}, {.lr = 0.1, .nesterov = true});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[SGD] nesterov"), std::string::npos) << e.what();
  }
}

TEST(Adam, TwoStepsHandComputed) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  Adam opt({p}, {.lr = 0.1});
  set_grad(p, {0.5});
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.900000002, 1e-14);
  set_grad(p, {-0.25});
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.8733662987078463, 1e-14);
}

TEST(Adam, L2WeightDecay) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1});
  set_grad(p, {0.5});
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.9000000016666666, 1e-14);
  set_grad(p, {-0.25});
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.8544413674617625, 1e-14);
}

TEST(Adam, AmsgradKeepsTheMaximum) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx), q = leaf({1.0}, ctx);
  Adam ams({p}, {.lr = 0.1, .amsgrad = true});
  Adam plain({q}, {.lr = 0.1});
  const double expect_ams[] = {0.900000001, 0.8330276878258663, 0.7751268222174107};
  const double expect_plain[] = {0.900000001, 0.8329941765341887, 0.7750933109257331};
  const double grads[] = {1.0, 0.0, 0.1};
  for (int s = 0; s < 3; ++s) {
    set_grad(p, {grads[s]});
    set_grad(q, {grads[s]});
    ams.step();
    plain.step();
    EXPECT_NEAR(p.at({0}), expect_ams[s], 1e-14);
    EXPECT_NEAR(q.at({0}), expect_plain[s], 1e-14);
  }
}

TEST(AdamW, DecoupledDecayTwoSteps) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  AdamOptions o = adamw_defaults(0.1);
  EXPECT_DOUBLE_EQ(o.weight_decay, 1e-2);
  o.weight_decay = 0.1;
  AdamW opt({p}, o);
  set_grad(p, {0.5});
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.890000002, 1e-14);
  set_grad(p, {-0.25});
  opt.step();
  EXPECT_NEAR(p.at({0}), 0.8544662986878463, 1e-14);
}

TEST(Adam, StateDictRoundTrip) {
  Context ctx;
  Tensor p = leaf({1.0, 2.0}, ctx), q = leaf({1.0, 2.0}, ctx);
  Adam a({p}, {.lr = 0.1}), b({q}, {.lr = 0.1});
  set_grad(p, {0.5, -1.0});
  a.step();
  auto state = a.state_dict();
  EXPECT_EQ(state.at("step").item(), 1.0);
  EXPECT_EQ(state.at("0.step").item(), 1.0);
  EXPECT_NEAR(state.at("0.exp_avg").at({1}), -0.1, 1e-15);
  EXPECT_NEAR(state.at("0.exp_avg_sq").at({0}), 0.00025, 1e-15);
  // b continues from a's state on a copy of a's parameters: the next steps agree.
  q.copy_from(p);
  b.load_state_dict(state);
  set_grad(p, {0.25, 0.25});
  set_grad(q, {0.25, 0.25});
  a.step();
  b.step();
  EXPECT_DOUBLE_EQ(p.at({0}), q.at({0}));
  EXPECT_DOUBLE_EQ(p.at({1}), q.at({1}));
  EXPECT_THROW(b.load_state_dict({{"7.exp_avg", Tensor::zeros({2}, DType::F64, ctx)}}), Error);
}

TEST(Adam, BadHyperparameters) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  EXPECT_THROW(Adam({p}, {.lr = -1.0}), Error);
  EXPECT_THROW(Adam({p}, {.beta1 = 1.0}), Error);
}

// One Adam(lr=1e-3) step from the reference gradients of every fixture matches PyTorch's.
TEST(Adam, MatchesPyTorchOnEveryFixture) {
  namespace fs = std::filesystem;
  fs::path root = attend::testing::fixture_path("models");
  ASSERT_TRUE(fs::exists(root)) << root;
  int fixtures = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    fs::path expected_path = dir.path() / "expected.safetensors";
    if (!fs::exists(expected_path)) continue;
    SCOPED_TRACE(dir.path().filename().string());
    Context ctx;
    auto weights = io::load_tensors((dir.path() / "weights.safetensors").string(), ctx);
    auto expected = io::load_tensors(expected_path.string(), ctx);
    std::vector<std::string> names;
    std::vector<Tensor> params;
    for (const auto& [key, t] : expected) {
      if (key.rfind("after_adam.", 0) != 0) continue;
      std::string name = key.substr(11);
      ASSERT_TRUE(weights.count(name)) << name;
      Tensor p = weights.at(name).copy_as(DType::F32);
      p.set_requires_grad(true);
      auto g = expected.find("grad." + name);
      if (g != expected.end()) p.set_grad(g->second.copy_as(DType::F32));
      names.push_back(name);
      params.push_back(p);
    }
    ASSERT_FALSE(params.empty());
    Adam opt(params, {.lr = 1e-3});
    opt.step();
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_TRUE(
          attend::testing::all_close(params[i], expected.at("after_adam." + names[i]), 1e-6, 1e-6))
          << names[i];
    ++fixtures;
  }
  EXPECT_GE(fixtures, 9);
}

TEST(ClipGradNorm, HandCase) {
  Context ctx;
  Tensor a = leaf({0.0, 0.0}, ctx), b = leaf({0.0}, ctx), c = leaf({1.0}, ctx);
  set_grad(a, {3.0, 4.0});
  set_grad(b, {12.0});
  double total = clip_grad_norm_({a, b, c}, 6.5);
  EXPECT_NEAR(total, 13.0, 1e-12);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_NEAR(a.grad().at({0}), 3.0 * coef, 1e-12);
  EXPECT_NEAR(a.grad().at({1}), 4.0 * coef, 1e-12);
  EXPECT_NEAR(b.grad().at({0}), 12.0 * coef, 1e-12);
  EXPECT_FALSE(c.grad().defined());
  // Below the limit: unchanged (scale clamped at 1).
  set_grad(a, {3.0, 4.0});
  EXPECT_NEAR(clip_grad_norm_({a}, 100.0), 5.0, 1e-12);
  EXPECT_DOUBLE_EQ(a.grad().at({1}), 4.0);
  // Infinity norm and norm 1.
  set_grad(a, {3.0, -4.0});
  set_grad(b, {2.0});
  EXPECT_NEAR(clip_grad_norm_({a, b}, 100.0, INFINITY), 4.0, 1e-12);
  EXPECT_NEAR(clip_grad_norm_({a, b}, 100.0, 1.0), 9.0, 1e-12);
  EXPECT_EQ(clip_grad_norm_({c}, 1.0), 0.0);
}

TEST(LrSchedule, TslibTypes) {
  const double lr = 1e-3;
  TslibSchedule t1("type1", lr, 10), t2("type2", lr, 10), t3("type3", lr, 10), cs("cosine", lr, 10),
      c("constant", lr, 10);
  EXPECT_DOUBLE_EQ(*t1.lr_for_epoch(1), 1e-3);
  EXPECT_DOUBLE_EQ(*t1.lr_for_epoch(2), 5e-4);
  EXPECT_DOUBLE_EQ(*t1.lr_for_epoch(4), 1.25e-4);
  EXPECT_FALSE(t2.lr_for_epoch(1).has_value());
  EXPECT_DOUBLE_EQ(*t2.lr_for_epoch(2), 5e-5);
  EXPECT_FALSE(t2.lr_for_epoch(3).has_value());
  EXPECT_DOUBLE_EQ(*t2.lr_for_epoch(15), 1e-7);
  EXPECT_DOUBLE_EQ(*t2.lr_for_epoch(20), 5e-8);
  EXPECT_DOUBLE_EQ(*t3.lr_for_epoch(1), 1e-3);
  EXPECT_DOUBLE_EQ(*t3.lr_for_epoch(3), 1e-3);
  EXPECT_NEAR(*t3.lr_for_epoch(4), 9e-4, 1e-18);
  EXPECT_NEAR(*t3.lr_for_epoch(5), 8.1e-4, 1e-18);
  EXPECT_NEAR(*cs.lr_for_epoch(5), 5e-4, 1e-18);
  EXPECT_NEAR(*cs.lr_for_epoch(10), 0.0, 1e-18);
  EXPECT_NEAR(*cs.lr_for_epoch(1), 5e-4 * (1 + std::cos(0.1 * M_PI)), 1e-18);
  EXPECT_DOUBLE_EQ(*c.lr_for_epoch(7), 1e-3);

  // type2 keeps the current lr on epochs outside its table.
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  SGD opt({p}, {.lr = lr});
  auto sched = make_lr_schedule("type2", opt, lr, 10, 100);
  EXPECT_FALSE(sched->per_batch());
  sched->epoch_end(opt, 1);
  EXPECT_DOUBLE_EQ(opt.lr(), 1e-3);
  sched->epoch_end(opt, 2);
  EXPECT_DOUBLE_EQ(opt.lr(), 5e-5);
  sched->epoch_end(opt, 3);
  EXPECT_DOUBLE_EQ(opt.lr(), 5e-5);
}

TEST(LrSchedule, UnknownName) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  SGD opt({p}, {.lr = 1e-3});
  try {
    make_lr_schedule("type9", opt, 1e-3, 10, 10);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[lradj] unknown schedule 'type9'"), std::string::npos)
        << e.what();
  }
}

TEST(LrSchedule, OneCycle) {
  Context ctx;
  Tensor p = leaf({1.0}, ctx);
  Adam opt({p}, {.lr = 1e-2});
  // 10 epochs of 10 batches, pct_start 0.3: warm-up over steps 0..29, anneal over 29..99.
  auto sched = make_lr_schedule("TST", opt, 1e-2, 10, 10, 0.3);
  auto& oc = dynamic_cast<OneCycleLR&>(*sched);
  EXPECT_TRUE(sched->per_batch());
  const double initial = 1e-2 / 25, min_lr = initial / 1e4;
  EXPECT_NEAR(opt.lr(), initial, 1e-18);
  EXPECT_DOUBLE_EQ(opt.momentum(), 0.95);
  EXPECT_NEAR(oc.lr_at(29), 1e-2, 1e-15);
  EXPECT_NEAR(oc.momentum_at(29), 0.85, 1e-15);
  EXPECT_NEAR(oc.lr_at(99), min_lr, 1e-15);
  EXPECT_NEAR(oc.momentum_at(99), 0.95, 1e-15);
  EXPECT_NEAR(oc.lr_at(64), (1e-2 + min_lr) / 2, 1e-15);  // halfway through the anneal
  // step 10 of the warm-up: pct = 10/29
  const double pct = 10.0 / 29.0;
  EXPECT_NEAR(oc.lr_at(10), 1e-2 + (initial - 1e-2) / 2 * (std::cos(M_PI * pct) + 1), 1e-15);
  for (int s = 0; s < 10; ++s) sched->batch_end(opt);
  EXPECT_DOUBLE_EQ(opt.lr(), oc.lr_at(10));
  EXPECT_DOUBLE_EQ(opt.momentum(), oc.momentum_at(10));
  sched->epoch_end(opt, 1);  // no effect
  EXPECT_DOUBLE_EQ(opt.lr(), oc.lr_at(10));
  for (int s = 10; s < 100; ++s) sched->batch_end(opt);
  EXPECT_THROW(sched->batch_end(opt), Error);
}

}  // namespace
}  // namespace attend::optim
