// Data-parallel training in one process: N threads play N ranks over an in-memory Communicator,
// and their training must equal one process's on the whole batch (weights, losses, metrics) up
// to the summation order. The MPI form (mpirun -np N attend train) is tested in tests/mpi.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <fstream>
#include <mutex>
#include <thread>

#include "attend/io/state_dict.h"
#include "attend/ops/nn_functional.h"
#include "attend/train/distributed.h"
#include "attend/train/trainer.h"
#include "support/same_training.h"
#include "support/temp_dir.h"
#include "support/thread_ranks.h"
#include "support/tiny_data.h"

using namespace attend;
using namespace attend::train;
using attend::testing::ThreadRanks;

namespace {

RunConfig tiny_config(const std::string& model) {
  RunConfig c;
  c.model.model = model;
  c.data.data = "custom";
  c.model.seq_len = 24;
  c.model.label_len = 12;
  c.model.pred_len = 12;
  c.model.d_model = 16;
  c.model.n_heads = 2;
  c.model.e_layers = 1;
  c.model.d_layers = 1;
  c.model.d_ff = 16;
  c.model.dropout = 0.1;
  c.train.batch_size = 8;
  c.train.train_epochs = 2;
  // TSLib's default. The losses in eval mode follow the noise tensors a little (a BatchNorm's
  // running mean lags its input's shift), so a larger rate widens the runs' gap in the losses.
  c.train.learning_rate = 1e-4;
  c.train.seed = 3;
  return c;
}

struct TrainedRun {
  std::map<std::string, std::vector<float>> weights;  // parameters and buffers
  Metrics metrics;
  std::vector<EpochReport> history;
  int64_t steps = 0;
};

TrainedRun collect(Trainer& t, const TrainResult& r) {
  TrainedRun out;
  for (const auto& [name, v] : t.model().state_dict())
    if (v.dtype() == DType::F32) out.weights[name] = v.contiguous_data().to_vector<float>();
  out.metrics = t.test(false);
  out.history = r.history;
  out.steps = t.batches_per_epoch() * static_cast<int64_t>(r.history.size());
  return out;
}

TrainedRun train_alone(const RunConfig& c, std::shared_ptr<const data::ForecastData> d) {
  Context ctx(ContextOptions{1, 0});
  Trainer t(ValidConfig(c), d, ctx);
  const TrainResult r = t.train();
  return collect(t, r);
}

// Rank 0's run of `ranks` threads; every rank's metrics must be rank 0's.
TrainedRun train_ranks(const RunConfig& c, std::shared_ptr<const data::ForecastData> d, int ranks) {
  ThreadRanks world(ranks);
  std::vector<TrainedRun> runs(static_cast<size_t>(ranks));
  world.run([&](Communicator& comm) {
    Context ctx(ContextOptions{1, 0});
    Trainer t(ValidConfig(c), d, ctx);
    t.set_communicator(&comm);
    const TrainResult r = t.train();
    runs[static_cast<size_t>(comm.rank())] = collect(t, r);
  });
  for (const TrainedRun& r : runs) {
    EXPECT_EQ(r.metrics.mse, runs[0].metrics.mse);
    EXPECT_EQ(r.weights, runs[0].weights);  // every rank takes the same steps
  }
  return runs[0];
}

using attend::testing::kKeyBiasNoise;
using attend::testing::kPatchTstNoise;
using attend::testing::relative_difference;

void expect_same_run(const TrainedRun& a, const TrainedRun& b, double lr,
                     const std::vector<std::string>& noise) {
  attend::testing::expect_same_weights(a.weights, b.weights, lr, a.steps, noise);
  EXPECT_LT(relative_difference(a.metrics.mse, b.metrics.mse), 1e-5);
  EXPECT_LT(relative_difference(a.metrics.mae, b.metrics.mae), 1e-5);
  ASSERT_EQ(a.history.size(), b.history.size());
  for (size_t e = 0; e < a.history.size(); ++e) {
    EXPECT_LT(relative_difference(a.history[e].train_loss, b.history[e].train_loss), 1e-5) << e;
    EXPECT_LT(relative_difference(a.history[e].val_loss, b.history[e].val_loss), 1e-5) << e;
    EXPECT_LT(relative_difference(a.history[e].test_loss, b.history[e].test_loss), 1e-5) << e;
  }
}

}  // namespace

TEST(Distributed, BatchShares) {
  EXPECT_EQ(batch_share(10, 0, 3).first, 0);
  EXPECT_EQ(batch_share(10, 0, 3).count, 3);
  EXPECT_EQ(batch_share(10, 1, 3).first, 3);
  EXPECT_EQ(batch_share(10, 1, 3).count, 3);
  EXPECT_EQ(batch_share(10, 2, 3).first, 6);
  EXPECT_EQ(batch_share(10, 2, 3).count, 4);
  EXPECT_EQ(batch_share(1, 0, 2).count, 0);
  EXPECT_EQ(batch_share(1, 1, 2).count, 1);
}

// A row-split draw gives each rank the rows of the whole batch's draw, and advances the counter
// as the whole draw does.
// all_gather: every rank gets every rank's bytes in rank order, every byte value and an empty
// message included.
TEST(Distributed, AllGatherBytes) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const std::vector<std::string> sent = {every_byte, "", std::string("a\0b", 3)};
  ThreadRanks world(3);
  std::vector<std::vector<std::string>> got(3);
  world.run([&](Communicator& comm) {
    got[static_cast<size_t>(comm.rank())] =
        all_gather(comm, sent[static_cast<size_t>(comm.rank())]);
  });
  for (const auto& g : got) EXPECT_EQ(g, sent);
  ThreadRanks nothing(2);
  nothing.run(
      [&](Communicator& comm) { EXPECT_EQ(all_gather(comm, ""), std::vector<std::string>(2)); });
}

TEST(Distributed, RowSplitDropoutMasks) {
  const int64_t rows = 5, per_row = 7;
  Generator whole(11);
  whole.set_counter(3);
  std::vector<float> all(rows * per_row);
  whole.fill_bernoulli(all.data(), rows * per_row, 0.5);
  for (int size : {2, 3}) {
    for (int r = 0; r < size; ++r) {
      const BatchShare s = batch_share(rows, r, size);
      Generator part(11);
      part.set_counter(3);
      part.set_rows(rows, static_cast<uint64_t>(s.first), static_cast<uint64_t>(s.count));
      std::vector<float> mine(static_cast<size_t>(s.count * per_row));
      part.fill_bernoulli(mine.data(), s.count * per_row, 0.5);
      EXPECT_EQ(mine, std::vector<float>(all.begin() + s.first * per_row,
                                         all.begin() + (s.first + s.count) * per_row));
      EXPECT_EQ(part.counter(), whole.counter());
    }
  }
  Generator bad(1);
  bad.set_rows(4, 0, 2);
  std::vector<float> odd(3);
  EXPECT_THROW(bad.fill_bernoulli(odd.data(), 3, 0.5), Error);  // 3 values do not split in 2 rows
}

// BatchNorm over a batch split in two equals BatchNorm over the whole batch, forward and backward
// (the input gradient; the parameters' are each rank's share, summed by the trainer).
TEST(Distributed, SynchronisedBatchNorm) {
  Context whole_ctx(ContextOptions{1, 5});
  const int64_t N = 6, C = 3, L = 4;
  Tensor x = Tensor::normal({N, C, L}, 1.0, 2.0, DType::F32, whole_ctx);
  Tensor w = Tensor::uniform({C}, 0.5, 1.5, DType::F32, whole_ctx).set_requires_grad();
  Tensor b = Tensor::zeros({C}, DType::F32, whole_ctx).set_requires_grad();
  const std::vector<float> xs = x.to_vector<float>();
  auto grad_of_out = [&](const Tensor& y, int64_t first) {
    // the loss Σ y · k with k = 1 + global row index: a row-dependent gradient
    std::vector<float> k(static_cast<size_t>(y.numel()));
    for (size_t i = 0; i < k.size(); ++i) k[i] = 1.0f + static_cast<float>(first + i / (C * L));
    return Tensor::from_vector(k, y.shape(), y.context());
  };
  Tensor xw = x.copy_as(DType::F32).set_requires_grad();
  Tensor rm = Tensor::zeros({C}, DType::F32, whole_ctx),
         rv = Tensor::ones({C}, DType::F32, whole_ctx);
  Tensor y = batch_norm(xw, rm, rv, w, b, true);
  y.backward(grad_of_out(y, 0));
  const std::vector<float> want_y = y.to_vector<float>(), want_dx = xw.grad().to_vector<float>();
  const std::vector<float> want_rm = rm.to_vector<float>(), want_rv = rv.to_vector<float>();

  ThreadRanks world(2);
  world.run([&](Communicator& comm) {
    Context ctx(ContextOptions{1, 5});
    ctx.set_batch_sum([&comm](double* v, size_t n) { comm.allreduce_sum(v, n); });
    const BatchShare s = batch_share(N, comm.rank(), 2);
    const auto at = static_cast<std::ptrdiff_t>(s.first * C * L);
    std::vector<float> mine(xs.begin() + at, xs.begin() + at + s.count * C * L);
    Tensor xr = Tensor::from_vector(mine, {s.count, C, L}, ctx).set_requires_grad();
    Tensor wr = Tensor::from_vector(w.to_vector<float>(), {C}, ctx).set_requires_grad();
    Tensor br = Tensor::zeros({C}, DType::F32, ctx).set_requires_grad();
    Tensor rmr = Tensor::zeros({C}, DType::F32, ctx), rvr = Tensor::ones({C}, DType::F32, ctx);
    Tensor yr = batch_norm(xr, rmr, rvr, wr, br, true);
    yr.backward(grad_of_out(yr, s.first));
    const std::vector<float> got_y = yr.to_vector<float>(), got_dx = xr.grad().to_vector<float>();
    for (size_t i = 0; i < got_y.size(); ++i) {
      EXPECT_NEAR(got_y[i], want_y[static_cast<size_t>(at) + i], 1e-5);
      EXPECT_NEAR(got_dx[i], want_dx[static_cast<size_t>(at) + i], 1e-5);
    }
    for (int64_t c = 0; c < C; ++c) {
      EXPECT_NEAR(rmr.to_vector<float>()[c], want_rm[c], 1e-6);
      EXPECT_NEAR(rvr.to_vector<float>()[c], want_rv[c], 1e-6);
    }
  });
}

// Transformer with dropout 0.1: two and three ranks equal one process (dropout masks drawn by
// global window index). Batch 8 over 3 ranks: shares of 2, 3, 3.
TEST(Distributed, TransformerWithDropoutEqualsOneProcess) {
  const RunConfig c = tiny_config("Transformer");
  auto d = attend::testing::tiny_data(c, 500);
  const TrainedRun alone = train_alone(c, d);
  expect_same_run(alone, train_ranks(c, d, 2), c.train.learning_rate, kKeyBiasNoise);
  expect_same_run(alone, train_ranks(c, d, 3), c.train.learning_rate, kKeyBiasNoise);
}

// PatchTST's encoder ends in a BatchNorm1d: statistics synchronised over the ranks, so the run
// equals one process's, running statistics included.
TEST(Distributed, PatchTstBatchNormEqualsOneProcess) {
  const RunConfig c = tiny_config("PatchTST");
  auto d = attend::testing::tiny_data(c, 500);
  expect_same_run(train_alone(c, d), train_ranks(c, d, 2), c.train.learning_rate, kPatchTstNoise);
}

// The last batch shorter than the number of ranks is computed whole by every rank; training,
// validation and test batches of one window each (batch_size 1 is the extreme).
TEST(Distributed, BatchesSmallerThanTheRanks) {
  RunConfig c = tiny_config("PatchTST");
  c.train.batch_size = 1;
  c.train.train_epochs = 1;
  auto d = attend::testing::tiny_data(c, 140);
  expect_same_run(train_alone(c, d), train_ranks(c, d, 2), c.train.learning_rate, kPatchTstNoise);
}

// Missing values masked out of the loss: the global batch's loss is the mean over its observed
// values, whatever their share on each rank.
TEST(Distributed, MaskedLossEqualsOneProcess) {
  const std::string path = attend::testing::fresh_temp_dir("distributed_mask") + "/panel.csv";
  {
    std::ofstream f(path);
    f << "store,week,price,sales\n";
    for (const std::string id : {"north", "south"})
      for (int i = 0; i < 90; ++i) {
        f << id << "," << data::format_timestamp(1577836800 + int64_t{7 * 86400} * i) << ","
          << std::cos(0.3 * i) << ",";
        if (i % 7 != 3) f << (id == "north" ? 10 : 50) + std::sin(0.5 * i);
        f << "\n";
      }
  }
  RunConfig c = tiny_config("DLinear");
  c.data.root_path = std::filesystem::path(path).parent_path().string();
  c.data.data_path = "panel.csv";
  c.data.id_col = "store";
  c.data.time_col = "week";
  c.data.target = "sales";
  c.data.features = "MS";
  c.data.missing = "mask";
  c.model.freq = "auto";
  c.model.seq_len = 8;
  c.model.label_len = 4;
  c.model.pred_len = 3;
  c.train.batch_size = 5;
  const TrainedRun alone = [&] {
    Context ctx(ContextOptions{1, 0});
    Trainer t(ValidConfig(c), ctx);
    const TrainResult r = t.train();
    return collect(t, r);
  }();
  ThreadRanks world(2);
  TrainedRun got;
  world.run([&](Communicator& comm) {
    Context ctx(ContextOptions{1, 0});
    Trainer t(ValidConfig(c), ctx);
    t.set_communicator(&comm);
    const TrainResult r = t.train();
    TrainedRun run = collect(t, r);
    if (comm.rank() == 0) got = run;
  });
  expect_same_run(alone, got, c.train.learning_rate, {});
}

// A stop flag raised on one rank stops every rank before the same batch; the saved state resumes
// alone (another number of processes) to the uninterrupted run's end.
TEST(Distributed, StopOnOneRankThenResumeAlone) {
  RunConfig c = tiny_config("Transformer");
  c.train.train_epochs = 2;
  auto d = attend::testing::tiny_data(c, 500);
  const TrainedRun alone = train_alone(c, d);
  const std::string dir = attend::testing::fresh_temp_dir("distributed_resume");
  ThreadRanks world(2);
  std::atomic<bool> stop{false};
  std::vector<int64_t> stopped_at(2);
  world.run([&](Communicator& comm) {
    Context ctx(ContextOptions{1, 0});
    Trainer t(ValidConfig(c), d, ctx);
    t.set_communicator(&comm);
    int batches = 0;
    TrainCallbacks cb;
    if (comm.rank() == 1)
      cb.on_batch = [&](int, int64_t, int64_t, double) {
        if (++batches == t.batches_per_epoch() + 5) stop = true;  // epoch 2, after batch 5
      };
    t.set_callbacks(cb);
    std::atomic<bool> never{false};
    t.set_stop_flag(comm.rank() == 1 ? &stop : &never);
    const TrainResult r = t.train();
    EXPECT_TRUE(r.interrupted);
    stopped_at[static_cast<size_t>(comm.rank())] = t.epoch() * t.batches_per_epoch() + t.batch();
    if (comm.rank() == 0) t.write_resume(dir);
  });
  EXPECT_EQ(stopped_at[0], stopped_at[1]);
  Context ctx(ContextOptions{1, 0});
  Trainer t(ValidConfig(c), d, ctx);
  t.load_resume(dir);
  EXPECT_EQ(t.epoch(), 1);
  EXPECT_EQ(t.batch(), 5);
  const TrainResult r = t.train();
  expect_same_run(alone, collect(t, r), c.train.learning_rate, kKeyBiasNoise);
}
