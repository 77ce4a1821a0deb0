// Parity of the attention models and DLinear with TSLib's PyTorch fixtures.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "attend/models/model.h"
#include "attend/nn/attention.h"
#include "parity.h"

namespace attend::testing {
namespace {

TEST(Parity, DLinear) {
  check_parity("DLinear");
}
// TSLib's Model(args, individual=True): Linear_Seasonal.{i} and Linear_Trend.{i} per variable.
// tests/fixtures/make_dlinear_individual.py wrote the fixture (not in the reference set, so a
// fixture folder from $ATTEND_FIXTURES may lack it).
TEST(Parity, DLinearIndividual) {
  if (!std::filesystem::exists(fixture_path("models/DLinear_individual")) &&
      std::getenv("ATTEND_FIXTURES"))
    GTEST_SKIP() << "no DLinear_individual in $ATTEND_FIXTURES";
  check_parity("DLinear_individual");
}
TEST(Parity, PatchTST) {
  check_parity("PatchTST");
}
TEST(Parity, Transformer) {
  check_parity("Transformer");
}
TEST(Parity, ITransformer) {
  check_parity("iTransformer");
}
// factor 30: every query selected, so ProbSparse equals dense attention in TSLib's layout.
TEST(Parity, InformerDense) {
  check_parity("Informer");
}

// factor 3: truly sparse; the key samples TSLib drew are replayed in evaluation order.
TEST(Parity, InformerSparse) {
  nn::IndexSampleQueue* queue_ptr = nullptr;
  std::unique_ptr<nn::IndexSampleQueue> queue;
  ParityOptions opts;
  opts.setup = [&](models::ForecastModel& m, const Fixture& f) {
    std::vector<Tensor> samples;
    for (int k = 0; f.expected.count("probsparse.index_sample." + std::to_string(k)); ++k)
      samples.push_back(f.expected.at("probsparse.index_sample." + std::to_string(k)));
    ASSERT_EQ(samples.size(), 8u);
    queue = std::make_unique<nn::IndexSampleQueue>(samples);
    queue_ptr = queue.get();
    nn::set_index_samples(m, queue_ptr);
  };
  check_parity("Informer_sparse", opts);
  ASSERT_NE(queue_ptr, nullptr);
  EXPECT_EQ(queue_ptr->used(), 8u);
}

// --cross_attention full: the same parameters (a TSLib Informer checkpoint loads unchanged), and
// a dense cross-attention: with factor 1 ProbSparse leaves most query rows at the uniform 1/Lk
// (their output is mean(V)); full attention leaves none.
TEST(Informer, FullCrossAttentionKeepsTheParameters) {
  Context ctx({.threads = 1, .seed = 2});
  models::ModelConfig c;
  c.model = "Informer";
  c.seq_len = 24, c.label_len = 12, c.pred_len = 12;
  c.enc_in = c.dec_in = c.c_out = 3;
  c.d_model = 8, c.n_heads = 2, c.d_ff = 16, c.dropout = 0.0, c.factor = 1;
  Tensor x = Tensor::normal({2, c.seq_len, 3}, 0, 1, DType::F32, ctx);
  Tensor xm = Tensor::normal({2, c.seq_len, 4}, 0, 1, DType::F32, ctx);
  Tensor xd = Tensor::normal({2, c.label_len + c.pred_len, 3}, 0, 1, DType::F32, ctx);
  Tensor ym = Tensor::normal({2, c.label_len + c.pred_len, 4}, 0, 1, DType::F32, ctx);
  // rows of the cross-attention weights that are exactly uniform
  auto uniform_cross_rows = [&](models::ForecastModel& m) {
    nn::AttentionCapture cap;
    nn::set_attention_capture(m, &cap);
    m.eval();
    {
      NoGradGuard ng;
      m.forecast(x, xm, xd, ym);
    }
    nn::set_attention_capture(m, nullptr);
    int uniform = 0, crosses = 0;
    for (const auto& r : cap.records()) {
      if (r.role != nn::AttentionRole::Cross) continue;
      ++crosses;
      const int64_t lk = r.weights.size(3);
      auto w = r.weights.contiguous_data().to_vector<float>();
      for (size_t i = 0; i < w.size(); i += lk) {
        bool same = true;
        for (int64_t j = 1; j < lk && same; ++j) same = w[i + j] == w[i];
        uniform += same;
      }
    }
    EXPECT_EQ(crosses, 1);
    return uniform;
  };
  auto prob = models::make_model(c, ctx);
  c.cross_attention = "full";
  auto full = models::make_model(c, ctx);
  auto a = prob->named_parameters(), b = full->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.shape(), b[i].second.shape()) << a[i].first;
  }
  EXPECT_GT(uniform_cross_rows(*prob), 0);
  EXPECT_EQ(uniform_cross_rows(*full), 0);
}

}  // namespace
}  // namespace attend::testing
