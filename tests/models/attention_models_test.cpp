// Parity of the attention models and DLinear with TSLib's PyTorch fixtures.
#include <gtest/gtest.h>

#include "attend/nn/attention.h"
#include "parity.h"

namespace attend::testing {
namespace {

TEST(Parity, DLinear) {
  check_parity("DLinear");
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

}  // namespace
}  // namespace attend::testing
