// Trainer: metrics, early stopping, schedules, short runs, determinism, checkpoints, resume.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "attend/data/csv.h"
#include "attend/io/safetensors.h"
#include "attend/train/checkpoint.h"
#include "attend/train/experiment.h"
#include "attend/train/forecast.h"
#include "attend/train/progress.h"
#include "attend/train/trainer.h"
#include "support/gradcheck.h"
#include "support/temp_dir.h"
#include "support/tiny_data.h"

namespace fs = std::filesystem;
using namespace attend;
using namespace attend::train;

namespace {

std::shared_ptr<const data::ForecastData> tiny_data(const RunConfig& cfg) {
  return attend::testing::tiny_data(cfg, 700);
}

RunConfig tiny_config(const std::string& model) {
  RunConfig c;
  c.model.model = model;
  c.data.data = "custom";
  c.model.seq_len = 48;
  c.model.label_len = 24;
  c.model.pred_len = 24;
  c.model.d_model = 16;
  c.model.n_heads = 2;
  c.model.e_layers = 1;
  c.model.d_ff = 32;
  c.train.batch_size = 32;
  c.train.train_epochs = 3;
  c.train.learning_rate = 1e-3;
  c.train.seed = 7;
  return c;
}

std::string temp_dir(const std::string& name) {
  return attend::testing::fresh_temp_dir("train_" + name);
}

}  // namespace

TEST(Metrics, HandComputed) {
  const float pred[] = {1, 2, 4, -1};
  const float truth[] = {2, 2, 2, -2};
  Metrics m = compute_metrics(pred, truth, 4);
  // d = pred - true = -1, 0, 2, 1
  EXPECT_DOUBLE_EQ(m.mse, (1 + 0 + 4 + 1) / 4.0);
  EXPECT_DOUBLE_EQ(m.mae, (1 + 0 + 2 + 1) / 4.0);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(1.5));
  // |d / true| = 0.5, 0, 1, 0.5
  EXPECT_DOUBLE_EQ(m.mape, 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(m.mspe, (0.25 + 0 + 1 + 0.25) / 4.0);
  EXPECT_EQ(metrics_line(m), "mse:1.5, mae:1");
}

// Two values, levels {0.1, 0.5, 0.9}; ρ_τ(d) = max(τ·d, (τ − 1)·d) with d = y − q:
//   value 0: y = 1, q = (0, 1, 3): d = 1, 0, −2 -> ρ = 0.1, 0, 0.2; covered
//   value 1: y = 5, q = (1, 2, 4): d = 4, 3, 1  -> ρ = 0.4, 1.5, 0.9; not covered
// pinball = (0.1 + 0 + 0.2 + 0.4 + 1.5 + 0.9) / 6 = 3.1 / 6; coverage = 1/2;
// midpoint weights w = (0.3, 0.4, 0.3): crps = (2·(0.03 + 0 + 0.06) + 2·(0.12 + 0.6 + 0.27)) / 2.
TEST(Metrics, QuantilesHandComputed) {
  const float q[] = {0, 1, 3, 1, 2, 4};
  const float y[] = {1, 5};
  Metrics m;
  add_quantile_metrics(m, q, y, 2, {0.1, 0.5, 0.9});
  EXPECT_TRUE(m.has_quantiles);
  EXPECT_NEAR(m.pinball, 3.1 / 6, 1e-12);
  EXPECT_DOUBLE_EQ(m.coverage, 0.5);
  EXPECT_NEAR(m.interval, 0.8, 1e-12);
  EXPECT_NEAR(m.crps, (2 * 0.09 + 2 * 0.99) / 2, 1e-12);
  EXPECT_EQ(quantile_metrics_line(m), "pinball:0.51666665, coverage:0.5 (nominal 0.8), crps:1.08");
  const nlohmann::json j = metrics_to_json(m);
  EXPECT_DOUBLE_EQ(j.at("coverage").get<double>(), 0.5);
  EXPECT_FALSE(metrics_to_json(Metrics{}).contains("crps"));
  // One level at 0.5: CRPS = 2 · ρ_0.5 = |y − q|, the absolute error of the median.
  Metrics med;
  const float q1[] = {2, -1};
  const float y1[] = {5, 1};
  add_quantile_metrics(med, q1, y1, 2, {0.5});
  EXPECT_NEAR(med.crps, (3 + 2) / 2.0, 1e-12);
}

TEST(EarlyStopping, TslibRule) {
  EarlyStopping es(2);
  EXPECT_TRUE(es.step(1.0));   // first call saves
  EXPECT_FALSE(es.step(1.1));  // worse: counter 1
  EXPECT_EQ(es.counter(), 1);
  EXPECT_TRUE(es.step(1.0));  // equal counts as improvement (score >= best + 0), counter reset
  EXPECT_EQ(es.counter(), 0);
  EXPECT_TRUE(es.step(0.5));
  EXPECT_FALSE(es.step(0.6));
  EXPECT_FALSE(es.early_stop());
  EXPECT_FALSE(es.step(0.7));
  EXPECT_TRUE(es.early_stop());
  EXPECT_DOUBLE_EQ(*es.best_loss(), 0.5);
  EarlyStopping copy(2);
  copy.load_json(es.to_json());
  EXPECT_EQ(copy.counter(), 2);
  EXPECT_TRUE(copy.early_stop());
}

TEST(Trainer, EarlyStoppingEndsTraining) {
  RunConfig c = tiny_config("DLinear");
  c.train.train_epochs = 30;
  c.train.patience = 1;
  c.train.learning_rate = 0.05;  // large steps: the validation loss soon stops improving
  Context ctx(ContextOptions{1, 0});
  Trainer t(c, tiny_data(c), ctx);
  TrainResult r = t.train();
  ASSERT_TRUE(r.early_stopped);
  EXPECT_LT(r.epochs_run, 30);
  EXPECT_FALSE(r.history.back().improved);
}

TEST(Trainer, Type1ScheduleStepsAfterEachEpoch) {
  RunConfig c = tiny_config("DLinear");
  c.train.patience = 100;
  Context ctx(ContextOptions{1, 0});
  Trainer t(c, tiny_data(c), ctx);
  TrainResult r = t.train();
  ASSERT_EQ(r.history.size(), 3u);
  // adjust_learning_rate(epoch + 1) after each epoch: type1 lr·0.5^(epoch-1)
  EXPECT_DOUBLE_EQ(r.history[0].lr, 1e-3);
  EXPECT_DOUBLE_EQ(r.history[1].lr, 1e-3);
  EXPECT_DOUBLE_EQ(r.history[2].lr, 5e-4);
  EXPECT_DOUBLE_EQ(t.optimizer().lr(), 2.5e-4);
}

TEST(Trainer, TstSchedulePerBatch) {
  RunConfig c = tiny_config("DLinear");
  c.train.lradj = "TST";
  c.train.train_epochs = 2;
  c.train.patience = 100;
  Context ctx(ContextOptions{1, 0});
  Trainer t(c, tiny_data(c), ctx);
  const int64_t nb = t.batches_per_epoch();
  t.train();
  optim::OneCycleOptions o;
  o.max_lr = 1e-3;
  o.total_steps = 2 * nb;
  std::vector<Tensor> dummy = {Tensor::zeros({1})};
  optim::Adam a(dummy, optim::AdamOptions{});
  optim::OneCycleLR ref(a, o);
  EXPECT_DOUBLE_EQ(t.optimizer().lr(), ref.lr_at(2 * nb));
}

TEST(Trainer, DLinearLossFalls) {
  RunConfig c = tiny_config("DLinear");
  Context ctx(ContextOptions{1, 0});
  Trainer t(c, tiny_data(c), ctx);
  TrainResult r = t.train();
  ASSERT_EQ(r.history.size(), 3u);
  EXPECT_LT(r.history[2].train_loss, r.history[0].train_loss);
}

TEST(Trainer, PatchTSTLossFalls) {
  RunConfig c = tiny_config("PatchTST");
  Context ctx(ContextOptions{2, 0});
  Trainer t(c, tiny_data(c), ctx);
  TrainResult r = t.train();
  ASSERT_EQ(r.history.size(), 3u);
  EXPECT_LT(r.history[2].train_loss, r.history[0].train_loss);
  Metrics m = t.test(false);
  EXPECT_TRUE(std::isfinite(m.mse));
}

TEST(Trainer, DeterministicForSeed) {
  RunConfig c = tiny_config("PatchTST");
  c.train.train_epochs = 2;
  auto d = tiny_data(c);
  Metrics m[2];
  for (int i = 0; i < 2; ++i) {
    Context ctx(ContextOptions{2, 0});
    Trainer t(c, d, ctx);
    t.train();
    m[i] = t.test(false);
  }
  EXPECT_EQ(m[0].mse, m[1].mse);
  EXPECT_EQ(m[0].mae, m[1].mae);
}

TEST(Trainer, InverseMetricsMatchInverseArrays) {
  for (std::string features : {"M", "MS"}) {
    RunConfig c = tiny_config("DLinear");
    c.data.features = features;
    c.train.train_epochs = 1;
    Context ctx(ContextOptions{1, 0});
    Trainer t(c, tiny_data(c), ctx);
    t.train();
    Predictions p = t.predict("test", false);
    const auto& sc = t.data().scaler;
    std::vector<float> pi(p.preds.size()), ti(p.trues.size());
    for (size_t i = 0; i < pi.size(); ++i) {
      const int64_t ch = p.first_channel + static_cast<int64_t>(i) % p.channels;
      pi[i] = static_cast<float>(p.preds[i] * sc.scale()[ch] + sc.mean()[ch]);
      ti[i] = static_cast<float>(p.trues[i] * sc.scale()[ch] + sc.mean()[ch]);
    }
    Metrics want = compute_metrics(pi.data(), ti.data(), static_cast<int64_t>(pi.size()));
    Metrics got = t.test(true);
    EXPECT_NEAR(got.mse, want.mse, 1e-6 * want.mse) << features;
    EXPECT_NEAR(got.mae, want.mae, 1e-6 * want.mae) << features;
    EXPECT_NE(got.mse, t.test(false).mse);
  }
}

TEST(Checkpoint, RoundTripSamePredictions) {
  RunConfig c = tiny_config("PatchTST");
  c.train.train_epochs = 1;
  Context ctx(ContextOptions{1, 0});
  Trainer t(c, tiny_data(c), ctx);
  t.train();
  const std::string dir = temp_dir("ckpt") + "/run";
  write_folder_atomic(dir, [&](const std::string& tmp) { t.write_checkpoint(tmp); });
  ASSERT_TRUE(fs::exists(dir + "/weights.safetensors"));
  ASSERT_TRUE(fs::exists(dir + "/config.json"));
  ASSERT_TRUE(fs::exists(dir + "/scaler.json"));
  CheckpointInfo info = read_checkpoint(dir);
  EXPECT_EQ(info.config.model.model, "PatchTST");
  EXPECT_EQ(info.config.model.enc_in, 7);
  EXPECT_EQ(info.scaler.columns(), t.data().columns);
  Context ctx2(ContextOptions{1, 99});
  Trainer t2(info.config, tiny_data(info.config), ctx2);
  t2.load_weights(dir + "/weights.safetensors");
  Predictions a = t.predict("test", false), b = t2.predict("test", false);
  ASSERT_EQ(a.preds.size(), b.preds.size());
  EXPECT_EQ(a.preds, b.preds);
  // the checkpoint model built by load_checkpoint_model matches too
  auto m = load_checkpoint_model(info, "h", ctx2);
  EXPECT_EQ(m->state_dict().size(), t.model().state_dict().size());
  // replacing the folder leaves no temporaries beside it
  write_folder_atomic(dir, [&](const std::string& tmp) { t.write_checkpoint(tmp); });
  int entries = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir).parent_path())) (void)e, ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Checkpoint, FailedWriteLeavesNothing) {
  const std::string root = temp_dir("fail");
  EXPECT_THROW(write_folder_atomic(root + "/run",
                                   [](const std::string& tmp) {
                                     std::ofstream(tmp + "/half.txt") << "x";
                                     fail("simulated failure");
                                   }),
               Error);
  EXPECT_TRUE(fs::is_empty(root));
  std::ofstream(root + "/file") << "x";
  EXPECT_THROW(ensure_writable_folder(root + "/file/sub", "--checkpoints"), Error);
}

// A missing checkpoint folder or file is a NotFoundError (Python's FileNotFoundError), with the
// same message as before; a file where the folder should be is another Error.
TEST(Checkpoint, MissingFolderOrFileIsNotFound) {
  const std::string root = attend::testing::fresh_temp_dir("ckpt_missing");
  const std::string missing = root + "/none";
  try {
    read_checkpoint(missing);
    ADD_FAILURE() << "no folder";
  } catch (const NotFoundError& e) {
    EXPECT_EQ(std::string(e.what()), "--checkpoint '" + missing + "' is not a folder");
  }
  std::ofstream(root + "/file") << "x";
  try {
    read_checkpoint(root + "/file");
    ADD_FAILURE() << "a file";
  } catch (const NotFoundError& e) {
    ADD_FAILURE() << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a folder"), std::string::npos) << e.what();
  }
  try {
    read_checkpoint(root);
    ADD_FAILURE() << "an empty folder";
  } catch (const NotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: missing"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_json_file(missing + "/config.json"), NotFoundError);
}

TEST(Checkpoint, UnknownConfigKeyRefused) {
  nlohmann::json j = run_config_to_json(RunConfig{});
  j["use_gpu"] = true;  // a run.py flag: accepted and ignored
  EXPECT_NO_THROW(run_config_from_json(j, "config.json"));
  j["bogus_key"] = 1;
  try {
    run_config_from_json(j, "config.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bogus_key"), std::string::npos) << e.what();
  }
}

// A checkpoint whose config.json holds a value of the wrong type or range is refused by name
// (a negative seq_len once failed deep inside with "cannot create std::vector larger than
// max_size()").
TEST(Checkpoint, BadConfigValuesNamed) {
  RunConfig c = tiny_config("DLinear");
  c.train.train_epochs = 1;
  Context ctx(ContextOptions{1, 0});
  Trainer t(c, tiny_data(c), ctx);
  const std::string dir = temp_dir("badcfg") + "/run";
  write_folder_atomic(dir, [&](const std::string& tmp) { t.write_checkpoint(tmp); });
  const nlohmann::json good = read_json_file(dir + "/config.json");
  for (const auto& [key, value, words] :
       std::vector<std::tuple<std::string, nlohmann::json, std::string>>{
           {"seq_len", -5, "--seq_len must be >= 1, got -5"},
           {"seq_len", "96", "'seq_len': expected an integer"},
           {"dropout", 1.5, "--dropout must be in [0, 1)"},
           {"features", "X", "--features 'X' must be M, S or MS"},
           {"model", "NoSuchNet", "'NoSuchNet' is not a known model"},
           {"quantiles", nlohmann::json::array({0.9, 0.1}), "--quantiles must be strictly"}}) {
    nlohmann::json j = good;
    j[key] = value;
    std::ofstream(dir + "/config.json") << j.dump(1);
    try {
      read_checkpoint(dir);
      ADD_FAILURE() << key << " = " << value.dump() << " was accepted";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("config.json"), std::string::npos) << m;
      EXPECT_NE(m.find(words), std::string::npos) << m;
    }
  }
}

TEST(RunConfig, SettingNameAsTslib) {
  RunConfig c;
  c.model.model = "DLinear";
  c.run.des = "Exp";
  EXPECT_EQ(setting_name(c),
            "long_term_forecast_test_DLinear_ETTh1_ftM_sl96_ll48_pl96_dm512_nh8_el2_dl1_df2048_"
            "expand2_dc4_fc1_ebtimeF_dtTrue_Exp_0");
  c.train.loss = "foo";
  EXPECT_THROW(validate(c), Error);
}

// Stopping after N batches, saving, and resuming in a fresh trainer ends where an uninterrupted
// run ends (PatchTST with dropout: the generator position matters).
TEST(Trainer, StopAndResumeMatchesUninterrupted) {
  RunConfig c = tiny_config("PatchTST");
  c.train.train_epochs = 3;
  c.train.lradj = "TST";
  auto d = tiny_data(c);
  Metrics want;
  {
    Context ctx(ContextOptions{2, 0});
    Trainer t(c, d, ctx);
    t.train();
    want = t.test(false);
  }
  const std::string dir = temp_dir("resume");
  {
    Context ctx(ContextOptions{2, 0});
    Trainer t(c, d, ctx);
    std::atomic<bool> stop{false};
    int batches = 0;
    const int64_t nb = t.batches_per_epoch();
    TrainCallbacks cb;
    cb.on_batch = [&](int, int64_t, int64_t, double) {
      if (++batches == nb + 3) stop = true;  // mid epoch 2
    };
    t.set_callbacks(cb);
    t.set_stop_flag(&stop);
    TrainResult r = t.train();
    ASSERT_TRUE(r.interrupted);
    EXPECT_EQ(t.epoch(), 1);
    EXPECT_EQ(t.batch(), 3);
    t.write_resume(dir);
  }
  Context ctx(ContextOptions{2, 0});
  Trainer t(c, d, ctx);
  t.load_resume(dir);
  TrainResult r = t.train();
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.history.size(), 3u);
  Metrics got = t.test(false);
  EXPECT_EQ(got.mse, want.mse);
  EXPECT_EQ(got.mae, want.mae);
}

TEST(Forecast, FutureTimestamps) {
  std::vector<int64_t> hourly = {0, 3600, 7200};
  EXPECT_EQ(future_timestamps(hourly, 2, "h"), (std::vector<int64_t>{10800, 14400}));
  int64_t jan31 = 0, feb29 = 0, mar31 = 0, dec31 = 0, nov30 = 0;
  ASSERT_TRUE(data::parse_timestamp("2020-01-31", &jan31));
  ASSERT_TRUE(data::parse_timestamp("2020-02-29", &feb29));
  ASSERT_TRUE(data::parse_timestamp("2020-03-31", &mar31));
  ASSERT_TRUE(data::parse_timestamp("2019-12-31", &dec31));
  ASSERT_TRUE(data::parse_timestamp("2019-11-30", &nov30));
  EXPECT_EQ(future_timestamps({nov30, dec31, jan31}, 2, "m"), (std::vector<int64_t>{feb29, mar31}));
}

namespace attend::train {
namespace {

std::string printed(bool bar, double plain_every, int64_t batches) {
  std::FILE* f = std::tmpfile();
  {
    ProgressPrinter p(f, bar, plain_every);
    TrainCallbacks cb = p.callbacks();
    for (int64_t b = 1; b <= batches; ++b) cb.on_batch(1, b, batches, 0.5);
    EpochReport r;
    r.epoch = 1, r.epochs = 2, r.improved = true;
    cb.on_epoch(r);
  }
  std::string text;
  std::rewind(f);
  for (int c; (c = std::fgetc(f)) != EOF;) text.push_back(static_cast<char>(c));
  std::fclose(f);
  return text;
}

// A log (no terminal) gets plain progress lines in long epochs, never the bar's control codes;
// a terminal gets the redrawn bar.
TEST(Progress, PlainLinesInLogsAndABarOnTerminals) {
  std::string log = printed(false, 0.0, 3);
  EXPECT_NE(log.find("epoch 1 | 1/3 batches |"), std::string::npos) << log;
  EXPECT_NE(log.find("epoch 1 | 2/3 batches |"), std::string::npos) << log;
  EXPECT_EQ(log.find("3/3 batches"), std::string::npos) << log;  // the epoch line follows instead
  EXPECT_NE(log.find("epoch 1/2 | train"), std::string::npos) << log;
  EXPECT_EQ(log.find('\r'), std::string::npos);
  // Short epochs in a log: only the epoch line.
  std::string quiet = printed(false, 30.0, 3);
  EXPECT_EQ(quiet.find("batches"), std::string::npos) << quiet;
  std::string term = printed(true, 30.0, 3);
  EXPECT_NE(term.find("\r\033[K"), std::string::npos);
  EXPECT_NE(term.find("steps/s"), std::string::npos);
}

}  // namespace
}  // namespace attend::train
