#include "attend/data/loader.h"

#include <cstring>
#include <numeric>
#include <random>

#include "attend/base/error.h"

namespace attend::data {
namespace {

// Uniform integer in [0, bound) from a 64-bit engine (Lemire's method with rejection).
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  unsigned __int128 m = static_cast<unsigned __int128>(rng()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(rng()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

}  // namespace

BatchLoader::BatchLoader(const ForecastSplit& split, LoaderOptions options)
    : split_(&split), options_(options) {
  ATTEND_CHECK(options_.batch_size >= 1, "[loader] batch_size must be >= 1, got {}",
               options_.batch_size);
  ATTEND_CHECK(split.size() >= 1, "[loader] split '{}' has no windows", split.name);
  set_epoch(0);
}

int64_t BatchLoader::num_batches() const {
  return (num_windows() + options_.batch_size - 1) / options_.batch_size;
}

void BatchLoader::set_epoch(uint64_t epoch) {
  epoch_ = epoch;
  order_.resize(static_cast<size_t>(num_windows()));
  std::iota(order_.begin(), order_.end(), int64_t{0});
  if (!options_.shuffle) return;
  const uint64_t s = options_.seed;
  std::seed_seq seq{static_cast<uint32_t>(s), static_cast<uint32_t>(s >> 32),
                    static_cast<uint32_t>(epoch), static_cast<uint32_t>(epoch >> 32)};
  std::mt19937_64 rng(seq);
  // Fisher-Yates.
  for (size_t i = order_.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(bounded(rng, i));
    std::swap(order_[i - 1], order_[j]);
  }
}

int64_t BatchLoader::batch_windows(int64_t b) const {
  ATTEND_CHECK(b >= 0 && b < num_batches(), "[loader] batch {} out of range [0, {})", b,
               num_batches());
  return std::min(options_.batch_size, num_windows() - b * options_.batch_size);
}

Batch BatchLoader::batch(int64_t b, Context& ctx) const {
  return batch_rows(b, 0, batch_windows(b), ctx);
}

Batch BatchLoader::batch_rows(int64_t b, int64_t first_row, int64_t B, Context& ctx) const {
  ATTEND_CHECK(first_row >= 0 && B >= 0 && first_row + B <= batch_windows(b),
               "[loader] rows [{}, {}) are not in batch {} of {} windows", first_row, first_row + B,
               b, batch_windows(b));
  const ForecastSplit& sp = *split_;
  const int64_t first = b * options_.batch_size + first_row;
  const int64_t L = sp.seq_len, Y = sp.y_len(), C = sp.channels, F = sp.mark_dim;
  Batch out;
  out.indices.assign(order_.begin() + first, order_.begin() + first + B);
  out.x_enc = Tensor::empty({B, L, C}, DType::F32, ctx);
  out.x_mark_enc = Tensor::empty({B, L, F}, DType::F32, ctx);
  out.y = Tensor::empty({B, Y, C}, DType::F32, ctx);
  out.y_mark = Tensor::empty({B, Y, F}, DType::F32, ctx);
  float* x = out.x_enc.data<float>();
  float* xm = out.x_mark_enc.data<float>();
  float* y = out.y.data<float>();
  float* ym = out.y_mark.data<float>();
  float* yo = nullptr;
  if (!sp.observed.empty()) {
    out.y_observed = Tensor::empty({B, Y, C}, DType::F32, ctx);
    yo = out.y_observed.data<float>();
  }
  for (int64_t k = 0; k < B; ++k) {
    const int64_t i = out.indices[k];
    // Window rows are contiguous in the split array: one copy per tensor and window.
    std::memcpy(x + k * L * C, sp.seq_x(i), sizeof(float) * L * C);
    std::memcpy(y + k * Y * C, sp.seq_y(i), sizeof(float) * Y * C);
    if (F > 0) {
      std::memcpy(xm + k * L * F, sp.seq_x_mark(i), sizeof(float) * L * F);
      std::memcpy(ym + k * Y * F, sp.seq_y_mark(i), sizeof(float) * Y * F);
    }
    if (yo) {
      const uint8_t* o = sp.seq_y_observed(i);
      for (int64_t j = 0; j < Y * C; ++j) yo[k * Y * C + j] = o[j] ? 1.0f : 0.0f;
    }
  }
  return out;
}

BatchLoader make_loader(const ForecastData& data, std::string_view split, int64_t batch_size,
                        uint64_t seed) {
  const ForecastSplit& sp = data.split(split);
  LoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = sp.name != "test";
  options.seed = seed;
  return BatchLoader(sp, options);
}

}  // namespace attend::data
