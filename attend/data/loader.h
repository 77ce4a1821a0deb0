#pragma once
// Batches of forecasting windows as float32 tensors, with seeded shuffling (TSLib's DataLoader
// with drop_last=False: every window once per epoch, the last batch may be short).
#include <cstdint>
#include <string_view>
#include <vector>

#include "attend/data/dataset.h"
#include "attend/tensor/context.h"
#include "attend/tensor/tensor.h"

namespace attend::data {

struct LoaderOptions {
  int64_t batch_size = 32;  // windows per batch (the last batch may be shorter)
  bool shuffle = false;     // reshuffle every epoch (TSLib: train and val yes, test no)
  uint64_t seed = 0;        // the order of epoch e depends only on (seed, e)
};

// One batch, as the exp feeds TSLib's models.
struct Batch {
  Tensor x_enc;       // (B, seq_len, C)
  Tensor x_mark_enc;  // (B, seq_len, F)
  Tensor y;           // (B, label_len + pred_len, C)  (TSLib's batch_y)
  Tensor y_mark;      // (B, label_len + pred_len, F)  (x_mark_dec)
  // (B, label_len + pred_len, C): 1 where y's value counts, 0 where it was missing and masked
  // (--missing mask); undefined when every value counts.
  Tensor y_observed;
  std::vector<int64_t> indices;  // window index of each row

  int64_t size() const { return static_cast<int64_t>(indices.size()); }
};

// Iterates one split in batches. The split must outlive the loader.
class BatchLoader {
 public:
  BatchLoader(const ForecastSplit& split, LoaderOptions options);

  // ceil(windows / batch_size).
  int64_t num_batches() const;
  int64_t num_windows() const { return split_->size(); }
  const LoaderOptions& options() const { return options_; }
  // Selects the epoch; with shuffle the window order is a permutation drawn from (seed, epoch)
  // by std::mt19937_64 (platform- and thread-count-independent).
  void set_epoch(uint64_t epoch);
  uint64_t epoch() const { return epoch_; }
  // Window indices in this epoch's order.
  const std::vector<int64_t>& order() const { return order_; }
  // Windows in batch b (batch_size, or fewer in the last batch).
  int64_t batch_windows(int64_t b) const;
  // Batch b of this epoch, tensors made in ctx.
  Batch batch(int64_t b, Context& ctx) const;
  // Rows [first, first + count) of batch b (a data-parallel rank's share).
  Batch batch_rows(int64_t b, int64_t first, int64_t count, Context& ctx) const;

 private:
  const ForecastSplit* split_;
  LoaderOptions options_;
  uint64_t epoch_ = 0;
  std::vector<int64_t> order_;
};

// TSLib's policy for a split: train and val shuffled, test in order; drop_last off.
BatchLoader make_loader(const ForecastData& data, std::string_view split, int64_t batch_size,
                        uint64_t seed);

}  // namespace attend::data
