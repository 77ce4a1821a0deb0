#pragma once
// Parity with the PyTorch reference fixtures (../shared/reference/models/<Fixture>/), DESIGN.md
// test kind 4: build the model from config.json, load weights.safetensors, feed batch.safetensors,
// compare out_eval, out_train, loss, every grad.*, BatchNorm buffers and after_adam.* with the
// README's tolerances.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "attend/io/safetensors.h"
#include "attend/io/state_dict.h"
#include "attend/models/model.h"
#include "attend/ops/loss.h"
#include "attend/optim/adam.h"
#include "attend/train/run_config.h"
#include "support/gradcheck.h"

namespace attend::testing {

struct Fixture {
  std::string dir;
  nlohmann::json config;  // TSLib run.py namespace
  nlohmann::json meta;
  std::map<std::string, Tensor> weights, batch, expected;
};

inline Fixture load_fixture(const std::string& name, Context& ctx) {
  Fixture f;
  f.dir = shared_path("reference/models/" + name);
  std::ifstream(f.dir + "/config.json") >> f.config;
  std::ifstream(f.dir + "/meta.json") >> f.meta;
  f.weights = io::load_tensors(f.dir + "/weights.safetensors", ctx);
  f.batch = io::load_tensors(f.dir + "/batch.safetensors", ctx);
  f.expected = io::load_tensors(f.dir + "/expected.safetensors", ctx);
  return f;
}

// The ModelConfig a TSLib namespace describes (read as a checkpoint's config.json is).
inline models::ModelConfig model_config_from(const nlohmann::json& c) {
  return train::run_config_from_json(c, "fixture config.json").model;
}

struct ParityOptions {
  // Called once after the weights are loaded (e.g. to inject recorded ProbSparse samples).
  std::function<void(models::ForecastModel&, const Fixture&)> setup;
};

// The full parity check of one fixture.
inline void check_parity(const std::string& fixture_name, const ParityOptions& opts = {}) {
  Context ctx({.threads = 2, .seed = 1});
  Fixture f = load_fixture(fixture_name, ctx);
  models::ModelConfig cfg = model_config_from(f.config);
  auto model = models::make_model(cfg, ctx);
  io::load_state_dict(*model, f.weights, /*strict=*/true);
  if (opts.setup) opts.setup(*model, f);

  const Tensor& x_enc = f.batch.at("x_enc");
  const Tensor& x_mark_enc = f.batch.at("x_mark_enc");
  const Tensor& x_dec = f.batch.at("x_dec");
  const Tensor& x_mark_dec = f.batch.at("x_mark_dec");
  const Tensor& y = f.batch.at("y");

  // eval forward
  model->eval();
  {
    NoGradGuard ng;
    Tensor out = model->forecast(x_enc, x_mark_enc, x_dec, x_mark_dec);
    EXPECT_TRUE(all_close(out, f.expected.at("out_eval"), 1e-5, 1e-4, "out_eval"));
  }
  // train forward + backward
  model->train();
  Tensor out = model->forecast(x_enc, x_mark_enc, x_dec, x_mark_dec);
  EXPECT_TRUE(all_close(out, f.expected.at("out_train"), 1e-5, 1e-4, "out_train"));
  Tensor loss = mse_loss(out, y);
  EXPECT_TRUE(all_close(loss, f.expected.at("loss"), 1e-5, 1e-4, "loss"));
  loss.backward();

  double G = f.meta.at("grad_scale_G (max |grad| over the model)").get<double>();
  int checked = 0;
  for (const auto& [name, p] : model->named_parameters()) {
    auto it = f.expected.find("grad." + name);
    if (it == f.expected.end()) {
      EXPECT_FALSE(p.grad().defined() && p.requires_grad() &&
                   [&] {
                     for (double v : p.grad().to_vector<double>())
                       if (v != 0) return true;
                     return false;
                   }())
          << name << " has a gradient but the reference has none";
      continue;
    }
    ASSERT_TRUE(p.grad().defined()) << "no gradient for " << name;
    const Tensor& g = it->second;
    double max_abs = 0;
    for (double v : g.to_vector<double>()) max_abs = std::max(max_abs, std::abs(v));
    EXPECT_TRUE(all_close(p.grad(), g, 1e-5 * max_abs + 1e-6 * G, 1e-3, "grad." + name));
    ++checked;
  }
  int expected_grads = 0;
  for (const auto& [name, t] : f.expected) expected_grads += name.rfind("grad.", 0) == 0;
  EXPECT_EQ(checked, expected_grads) << "some reference gradients have no parameter";

  // One Adam step from our gradients; elements whose reference gradient is below ~1e-6 are
  // ill-conditioned (the update is about lr·g/(|g| + eps)) and skipped, as the README advises.
  {
    std::vector<Tensor> params;
    for (const auto& [name, p] : model->named_parameters()) params.push_back(p);
    optim::Adam adam(params, optim::AdamOptions{});
    adam.step();
    for (const auto& [name, p] : model->named_parameters()) {
      auto after = f.expected.find("after_adam." + name);
      auto grad = f.expected.find("grad." + name);
      if (after == f.expected.end() || grad == f.expected.end()) continue;
      std::vector<double> a = p.to_vector<double>(), b = after->second.to_vector<double>(),
                          g = grad->second.to_vector<double>();
      for (size_t i = 0; i < a.size(); ++i) {
        if (std::abs(g[i]) < 1e-6) continue;
        ASSERT_LE(std::abs(a[i] - b[i]), 1e-6 + 1e-6 * std::abs(b[i]))
            << "after_adam." << name << " element " << i;
      }
    }
  }

  for (const auto& [name, t] : f.expected) {
    if (name.rfind("buffer_after_train.", 0) != 0) continue;
    std::string key = name.substr(std::string("buffer_after_train.").size());
    auto sd = model->state_dict();
    ASSERT_TRUE(sd.count(key)) << "missing buffer " << key;
    EXPECT_TRUE(all_close(sd.at(key), t, 1e-5, 1e-4, name));
  }
}

}  // namespace attend::testing
