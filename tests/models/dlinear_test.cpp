// DLinear --individual beyond the fixture (whose weights are TSLib's constant 1/seq_len): with
// random weights each variable's output is the shared model's with that variable's layers, and the
// batched products' gradients agree with central differences.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "attend/models/model.h"
#include "attend/nn/init.h"
#include "attend/ops/shape.h"
#include "support/gradcheck.h"

namespace attend::testing {
namespace {

models::ModelConfig individual_config() {
  models::ModelConfig c;
  c.model = "DLinear";
  c.seq_len = 9;
  c.pred_len = 4;  // ≠ seq_len: a transposed weight fails
  c.moving_avg = 5;
  c.enc_in = c.dec_in = c.c_out = 3;
  c.individual = true;
  return c;
}

std::map<std::string, Tensor> parameters_of(const models::ForecastModel& m) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, p] : m.named_parameters()) out[name] = p;
  return out;
}

TEST(DLinear, IndividualIsTheSharedModelPerVariable) {
  Context ctx({.threads = 1, .seed = 11});
  const models::ModelConfig c = individual_config();
  auto individual = models::make_model(c, ctx, DType::F64);
  for (const auto& [name, p] : individual->named_parameters()) nn::init::uniform_(p, -0.5, 0.5);
  const auto params = parameters_of(*individual);
  ASSERT_EQ(params.size(), 4u * c.enc_in);
  Tensor x = Tensor::uniform({2, c.seq_len, c.enc_in}, -1.0, 1.0, DType::F64, ctx);
  NoGradGuard ng;
  const Tensor y = individual->forecast(x, Tensor(), Tensor(), Tensor());  // (B, P, C)
  ASSERT_EQ(y.shape(), Shape({2, c.pred_len, c.enc_in}));

  models::ModelConfig one = c;
  one.individual = false;
  one.enc_in = one.dec_in = one.c_out = 1;
  auto shared = models::make_model(one, ctx, DType::F64);
  auto shared_params = parameters_of(*shared);
  for (int64_t v = 0; v < c.enc_in; ++v) {
    for (const char* part : {"Linear_Seasonal", "Linear_Trend"})
      for (const char* kind : {"weight", "bias"})
        shared_params.at(std::string(part) + "." + kind)
            .copy_from(params.at(fmt::format("{}.{}.{}", part, v, kind)));
    const Tensor yv =
        shared->forecast(contiguous(slice(x, 2, v, v + 1)), Tensor(), Tensor(), Tensor());
    EXPECT_TRUE(all_close(contiguous(slice(y, 2, v, v + 1)), yv, 1e-12, 1e-12,
                          fmt::format("variable {}", v)));
  }
}

TEST(DLinear, IndividualGradcheckFloat64) {
  Context ctx({.threads = 1, .seed = 12});
  const models::ModelConfig c = individual_config();
  auto m = models::make_model(c, ctx, DType::F64);
  for (const auto& [name, p] : m->named_parameters()) nn::init::uniform_(p, -0.5, 0.5);
  const auto params = parameters_of(*m);
  Tensor x = Tensor::uniform({2, c.seq_len, c.enc_in}, -1.0, 1.0, DType::F64, ctx);
  for (const char* name : {"Linear_Seasonal.0.weight", "Linear_Trend.2.weight",
                           "Linear_Seasonal.1.bias", "Linear_Trend.1.bias"}) {
    EXPECT_TRUE(gradcheck(
        [&](const std::vector<Tensor>&) { return m->forecast(x, Tensor(), Tensor(), Tensor()); },
        {params.at(name)}))
        << name;
  }
}

}  // namespace
}  // namespace attend::testing
