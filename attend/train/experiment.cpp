// run.py's train-then-test and test-only flows.
#include "attend/train/experiment.h"

#include <filesystem>

#include "attend/io/atomic_file.h"

namespace fs = std::filesystem;

namespace attend::train {

namespace {

// TSLib's default --freq h on data whose spacing is not hourly: one line that says so.
std::string freq_notice(const data::ForecastData& d) {
  if (data::format_freq(d.sample.freq, d.long_format()) != "h" || !d.spacing ||
      d.spacing->kind == data::FreqKind::Hour)
    return "";
  return fmt::format(
      "note: --freq h (TSLib's default) is used for time features; the data's spacing is {}; "
      "pass --freq auto or --freq {}",
      data::freq_description(*d.spacing), data::freq_alias(*d.spacing));
}

}  // namespace

std::string run_folder(const RunConfig& cfg) {
  return (fs::path(cfg.run.checkpoints) / setting_name(cfg)).string();
}

ExperimentResult train_and_test(const ValidConfig& valid, Context& ctx,
                                const ExperimentOptions& options) {
  const RunConfig& cfg = *valid;
  ExperimentResult out;
  out.dir = run_folder(cfg);
  auto log = [&](const std::string& s) {
    if (options.log) options.log(s);
  };
  // The data and the model first (bad data or column flags leave nothing written), then the
  // --checkpoints root (one that cannot be written fails here, not after hours of training).
  auto data = std::make_shared<const data::ForecastData>(
      data::load_forecast_data(cfg.data, cfg.model, options.log, options.table));
  Trainer trainer(valid, data, ctx);
  trainer.set_communicator(options.comm);
  const bool writer = !options.comm || options.comm->rank() == 0;  // writes the run folder
  if (const std::string note = freq_notice(*data); !note.empty()) log(note);
  if (writer) {
    ensure_writable_folder(cfg.run.checkpoints, "--checkpoints");
    recover_folder(out.dir);  // a run killed while replacing its folder
  }
  if (options.comm) {  // the others read resume/ once rank 0 has recovered it
    double barrier = 0;
    options.comm->allreduce_sum(&barrier, 1);
  }
  const std::string resume_dir = (fs::path(out.dir) / "resume").string();
  if (options.resume) {
    ATTEND_CHECK(fs::exists(fs::path(resume_dir) / "state.json"),
                 "--resume: no interrupted run in '{}'", out.dir);
    trainer.load_resume(resume_dir);
    log(fmt::format("resuming {} at epoch {}, batch {}", out.dir, trainer.epoch() + 1,
                    trainer.batch()));
  }
  // The run folder after every epoch and when stopped: the checkpoint of the current weights and
  // resume/ with the position, so a run killed outright loses at most the epoch it was in.
  auto write_resumable = [&] {
    if (!writer) return;
    write_folder_atomic(out.dir, [&](const std::string& tmp) {
      trainer.write_checkpoint(tmp);
      fs::create_directory(fs::path(tmp) / "resume");
      trainer.write_resume((fs::path(tmp) / "resume").string());
    });
  };
  TrainCallbacks callbacks = options.callbacks;
  callbacks.on_epoch_boundary = [&, also = options.callbacks.on_epoch_boundary] {
    write_resumable();
    if (also) also();
  };
  trainer.set_stop_flag(options.stop);
  trainer.set_callbacks(callbacks);
  log(fmt::format(">>>>>>>start training : {}>>>>>>>>>>>>>>>>>>>>>>>>>>", setting_name(cfg)));
  out.train = trainer.train();
  if (out.train.interrupted) {
    out.interrupted = true;
    write_resumable();
    return out;
  }
  log(fmt::format(">>>>>>>testing : {}<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", setting_name(cfg)));
  nlohmann::json m;
  try {
    out.metrics = trainer.test(cfg.train.inverse);
    m = metrics_to_json(out.metrics);
    m["setting"] = setting_name(cfg);
    m["inverse"] = cfg.train.inverse;
    m["epochs_run"] = out.train.epochs_run;
    m["early_stopped"] = out.train.early_stopped;
    if (trainer.data().long_format()) {
      // Per series, in the data's order (the pooled metrics above are over every window).
      const std::vector<Metrics> per = trainer.test_per_series(cfg.train.inverse);
      m["series"] = nlohmann::json::object();
      for (size_t i = 0; i < per.size(); ++i)
        m["series"][trainer.data().series_ids[i]] = metrics_to_json(per[i]);
    }
  } catch (const Error&) {
    // the trained weights are kept, without metrics
    if (writer)
      write_folder_atomic(out.dir, [&](const std::string& tmp) { trainer.write_checkpoint(tmp); });
    throw;
  }
  if (!writer) return out;
  // The final folder (without resume/) in one step: checkpoint and metrics.json together.
  write_folder_atomic(out.dir, [&](const std::string& tmp) {
    trainer.write_checkpoint(tmp);
    io::write_file_atomic((fs::path(tmp) / "metrics.json").string(), m.dump(1) + "\n");
  });
  return out;
}

Metrics test_weights(const ValidConfig& cfg, const std::string& dir, Context& ctx,
                     const data::CsvTable* table) {
  const std::string weights = (fs::path(dir) / "weights.safetensors").string();
  if (!fs::exists(weights))
    fail_not_found("{}: missing (no trained checkpoint in '{}')", weights, dir);
  Trainer trainer(cfg,
                  std::make_shared<const data::ForecastData>(
                      data::load_forecast_data(cfg->data, cfg->model, {}, table)),
                  ctx);
  trainer.load_weights(weights);
  return trainer.test(cfg->train.inverse);
}

}  // namespace attend::train
