// prepare_for_inference and the packed weights of a loaded model's forecasts: the same forecast
// as the plain path (the weights packed at load, none at the first forecast), the random
// generator's counter unchanged by the warm-up forward.
#include <gtest/gtest.h>

#include "attend/autograd/node.h"
#include "attend/models/model.h"
#include "attend/train/forecast.h"
#include "support/gradcheck.h"

namespace attend::train {
namespace {

TEST(PackedInference, SameForecastWeightsPackedAtLoad) {
  for (const char* name : {"Informer", "PatchTST", "TemporalFusionTransformer", "LSTM"}) {
    SCOPED_TRACE(name);
    Context ctx({.threads = 2, .seed = 4});
    models::ModelConfig c;
    c.model = name;
    c.seq_len = 24, c.label_len = 12, c.pred_len = 12;
    c.enc_in = c.dec_in = c.c_out = 3;
    c.d_model = 128, c.n_heads = 4, c.d_ff = 256,
    c.dropout = 0.0;  // products past the small kernel
    auto model = models::make_model(c, ctx);
    model->eval();
    const int64_t F = mark_columns(c), Ly = c.label_len + c.pred_len;
    Tensor x = Tensor::normal({2, c.seq_len, 3}, 0, 1, DType::F32, ctx);
    Tensor xd = Tensor::normal({2, Ly, 3}, 0, 1, DType::F32, ctx);
    Tensor xm = Tensor::uniform({2, c.seq_len, F}, -0.5, 0.5, DType::F32, ctx);
    Tensor ym = Tensor::uniform({2, Ly, F}, -0.5, 0.5, DType::F32, ctx);
    auto forecast = [&] {
      NoGradGuard no_grad;
      ctx.generator().set_counter(0);  // Informer's key samples: the same draws each time
      return model->forecast(x, xm, xd, ym);
    };
    const Tensor plain = forecast();
    PackedWeights packed;
    const uint64_t counter = ctx.generator().counter();
    prepare_for_inference(*model, packed, ctx);
    EXPECT_EQ(ctx.generator().counter(), counter);
    const size_t at_load = packed.count();
    EXPECT_GT(at_load, 0u);
    const PackedWeights::Scope scope(packed);
    const Tensor fast = forecast();
    EXPECT_EQ(packed.count(), at_load);  // nothing left to pack at the first forecast
    EXPECT_TRUE(testing::all_close(fast, plain, 1e-5, 1e-4));
  }
}

}  // namespace
}  // namespace attend::train
