// TSLib's long-term-forecast experiment loop.
#include "attend/train/trainer.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "attend/autograd/node.h"
#include "attend/base/clock.h"
#include "attend/io/atomic_file.h"
#include "attend/io/safetensors.h"
#include "attend/io/state_dict.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/loss.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"
#include "attend/train/checkpoint.h"

namespace fs = std::filesystem;

namespace attend::train {

namespace {

std::shared_ptr<const data::ForecastData> load_data(const RunConfig& cfg) {
  return std::make_shared<const data::ForecastData>(data::load_forecast_data(cfg.data, cfg.model));
}

// The name of the first parameter whose gradient holds a NaN or infinity ("" when none does).
std::string first_non_finite_grad(const nn::Module& m) {
  for (const auto& [name, p] : m.named_parameters()) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    const Tensor c = g.contiguous_data();
    if (c.dtype() == DType::F32) {
      const float* x = c.data<float>();
      float acc = 0;  // NaN and inf survive x * 0; finite values give 0
      for (int64_t i = 0; i < c.numel(); ++i) acc += x[i] * 0.0f;
      if (acc != 0) return name;
    }
  }
  return "";
}

std::map<std::string, Tensor> clone_state(const nn::Module& m) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : m.state_dict()) out[k] = v.copy_as(v.dtype());
  return out;
}

}  // namespace

Trainer::Trainer(const ValidConfig& cfg, Context& ctx) : Trainer(cfg, load_data(*cfg), ctx) {}

Trainer::Trainer(const ValidConfig& cfg, std::shared_ptr<const data::ForecastData> data,
                 Context& ctx)
    : cfg_(resolve(*cfg, data->columns, data->freq, data->source)),
      ctx_(ctx),
      data_(std::move(data)),
      train_loader_(data::make_loader(*data_, "train", cfg_.train.batch_size, cfg_.train.seed)),
      val_loader_(data::make_loader(*data_, "val", cfg_.train.batch_size, cfg_.train.seed)),
      test_loader_(data::make_loader(*data_, "test", cfg_.train.batch_size, cfg_.train.seed)),
      early_stopping_(cfg_.train.patience) {
  init();
}

void Trainer::init() {
  ctx_.generator().manual_seed(static_cast<uint64_t>(cfg_.train.seed));
  model_ = models::make_model(cfg_.model, ctx_);
  optim::AdamOptions o;
  o.lr = cfg_.train.learning_rate;
  optimizer_ = std::make_unique<optim::Adam>(model_->parameters(), o);
  make_schedule();
}

void Trainer::make_schedule() {
  schedule_ = optim::make_lr_schedule(cfg_.train.lradj, *optimizer_, cfg_.train.learning_rate,
                                      static_cast<int>(cfg_.train.train_epochs),
                                      train_loader_.num_batches());
  schedule_steps_ = 0;
}

BatchForecast Trainer::forward(const data::Batch& b) {
  const int64_t C = data_->channels();
  const int64_t P = cfg_.model.pred_len, Lb = cfg_.model.label_len;
  Tensor x_dec;
  if (model_->uses_decoder_input()) {
    // TSLib's dec_inp, cat(batch_y[:, :label_len], zeros), with the known-future columns' values
    x_dec = models::decoder_input(b.y, Lb, cfg_.model.known_columns);
  }
  Tensor xm, ym;
  if (model_->uses_time_marks()) {
    xm = b.x_mark_enc;
    ym = b.y_mark;
  }
  Tensor out = model_->forecast_quantiles(b.x_enc, xm, x_dec, ym);  // (B, >= pred_len, c_out, Q)
  ATTEND_CHECK(out.ndim() == 4 && out.size(1) >= P, "[train] model {} returned {} for pred_len {}",
               cfg_.model.model, out.str(0), P);
  const bool ms = cfg_.data.features == "MS";
  const int64_t Co = out.size(2), Ly = b.y.size(1), Q = out.size(3);
  Tensor q = slice(out, 1, out.size(1) - P, out.size(1));
  q = slice(q, 2, ms ? Co - 1 : 0, Co);  // (B, P, K, Q)
  // The point forecast: the one output, or the median level of the sorted quantiles.
  Tensor pred =
      Q == 1 ? select(q, 3, 0) : select(models::sorted_quantiles(q), 3, model_->median_index());
  Tensor target = slice(slice(b.y, 1, Ly - P, Ly), 2, ms ? C - 1 : 0, C);
  ATTEND_CHECK(pred.size(2) == target.size(2),
               "[train] model {} outputs {} channels but the target has {} (check --c_out)",
               cfg_.model.model, pred.size(2), target.size(2));
  Tensor observed;
  if (b.y_observed.defined())
    observed = slice(slice(b.y_observed, 1, Ly - P, Ly), 2, ms ? C - 1 : 0, C);
  return {pred, target, observed, Q == 1 ? Tensor() : q};
}

Tensor Trainer::criterion(const BatchForecast& f) const {
  Tensor pred = f.pred, target = f.target, quantiles = f.quantiles;
  double scale = 1;
  if (f.observed.defined()) {
    // Masked values contribute loss(0, 0) = 0; the mean is then taken over the observed ones:
    // sum_obs l / n_obs = mean_all(l(mask·p, mask·t)) · n_all / n_obs.
    const double n_obs = sum(f.observed).item();
    scale = n_obs > 0 ? static_cast<double>(f.observed.numel()) / n_obs : 0.0;
    pred = mul(pred, f.observed);
    target = mul(target, f.observed);
    if (quantiles.defined()) quantiles = mul(quantiles, unsqueeze(f.observed, 3));
  }
  // Quantile models train every level with the mean pinball loss; point models with --loss.
  Tensor loss = quantiles.defined()          ? pinball_loss(quantiles, target, cfg_.model.quantiles)
                : cfg_.train.loss == "MAE"   ? mae_loss(pred, target)
                : cfg_.train.loss == "Huber" ? huber_loss(pred, target, 1.0)
                                             : mse_loss(pred, target);
  return scale == 1 ? loss : mul(loss, scale);
}

TrainResult Trainer::train() {
  TrainResult result;
  const int epochs = static_cast<int>(cfg_.train.train_epochs);
  const int64_t nb = train_loader_.num_batches();
  while (!finished_ && epoch_ < epochs) {
    model_->train();
    train_loader_.set_epoch(static_cast<uint64_t>(epoch_));
    const double lr_epoch = optimizer_->lr();
    double t0 = now_seconds();
    for (; batch_ < nb; ++batch_) {
      if (stop_requested()) {
        epoch_seconds_ += now_seconds() - t0;
        result.interrupted = true;
        result.epochs_run = static_cast<int>(history_.size());
        result.history = history_;
        return result;
      }
      const double l = distributed() ? step_distributed() : step();
      if (schedule_->per_batch()) {
        schedule_->batch_end(*optimizer_);
        ++schedule_steps_;
      }
      if (callbacks_.on_batch) callbacks_.on_batch(epoch_ + 1, batch_ + 1, nb, l);
    }
    EpochReport r;
    r.epoch = epoch_ + 1;
    r.epochs = epochs;
    r.lr = lr_epoch;
    r.train_loss = epoch_losses_.empty()
                       ? 0.0
                       : std::accumulate(epoch_losses_.begin(), epoch_losses_.end(), 0.0) /
                             static_cast<double>(epoch_losses_.size());
    r.val_loss = evaluate_loss("val");
    r.test_loss = evaluate_loss("test");
    r.improved = early_stopping_.step(r.val_loss);
    if (r.improved) best_ = clone_state(*model_);
    r.seconds = epoch_seconds_ + (now_seconds() - t0);
    history_.push_back(r);
    if (callbacks_.on_epoch) callbacks_.on_epoch(r);
    epoch_losses_.clear();
    epoch_seconds_ = 0;
    batch_ = 0;
    ++epoch_;
    if (early_stopping_.early_stop()) {
      finished_ = true;
      break;
    }
    schedule_->epoch_end(*optimizer_, epoch_);  // TSLib: adjust_learning_rate(epoch + 1)
    if (epoch_ < epochs && callbacks_.on_epoch_boundary) callbacks_.on_epoch_boundary();
  }
  finished_ = true;
  result.early_stopped = early_stopping_.early_stop();
  if (!best_.empty()) io::load_state_dict(*model_, best_);
  result.epochs_run = static_cast<int>(history_.size());
  result.history = history_;
  return result;
}

bool Trainer::stop_requested() {
  double stop = stop_ && stop_->load() ? 1.0 : 0.0;
  if (distributed()) comm_->allreduce_sum(&stop, 1);  // every rank stops at the same batch
  return stop > 0;
}

void Trainer::check_loss(double l) const {
  ATTEND_CHECK(std::isfinite(l),
               "[train] epoch {}, batch {}/{}: the loss is {}; training stopped (the run "
               "folder keeps its last checkpoint; try a lower --learning_rate or check the "
               "data)",
               epoch_ + 1, batch_ + 1, train_loader_.num_batches(), l);
}

void Trainer::check_gradients() const {
  if (const std::string bad = first_non_finite_grad(*model_); !bad.empty())
    fail(
        "[train] epoch {}, batch {}/{}: the gradient of {} is not finite; training stopped "
        "(the run folder keeps its last checkpoint)",
        epoch_ + 1, batch_ + 1, train_loader_.num_batches(), bad);
}

double Trainer::step() {
  data::Batch b = train_loader_.batch(batch_, ctx_);
  optimizer_->zero_grad();
  Tensor loss = criterion(forward(b));
  const double l = loss.item();
  check_loss(l);
  epoch_losses_.push_back(l);
  loss.backward();
  check_gradients();
  optimizer_->step();
  return l;
}

namespace {

// The values a batch's loss is the mean of: the observed ones with a mask, else all of them.
double loss_values(const BatchForecast& f) {
  return f.observed.defined() ? sum(f.observed).item() : static_cast<double>(f.target.numel());
}

// While alive, ctx computes rows [share.first, share.first + share.count) of a batch of `global`
// rows split across comm's ranks: dropout masks are those of these rows in the whole batch
// (Generator::set_rows) and batch statistics are the whole batch's (Context::batch_sum).
class SplitBatch {
 public:
  SplitBatch(Context& ctx, Communicator& comm, int64_t global, BatchShare share) : ctx_(ctx) {
    ctx.generator().set_rows(static_cast<uint64_t>(global), static_cast<uint64_t>(share.first),
                             static_cast<uint64_t>(share.count));
    if (share.count < global)
      ctx.set_batch_sum([&comm](double* x, size_t n) { comm.allreduce_sum(x, n); });
  }
  ~SplitBatch() {
    ctx_.generator().set_rows(0, 0, 0);
    ctx_.set_batch_sum(nullptr);
  }
  SplitBatch(const SplitBatch&) = delete;
  SplitBatch& operator=(const SplitBatch&) = delete;

 private:
  Context& ctx_;
};

// Sums the defined gradients of `params` over the ranks (one float and one double buffer).
void sum_gradients(const std::vector<Tensor>& params, Communicator& comm, std::vector<float>& f32,
                   std::vector<double>& f64) {
  f32.clear();
  f64.clear();
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const Tensor c = g.contiguous_data();
    if (c.dtype() == DType::F32)
      f32.insert(f32.end(), c.data<float>(), c.data<float>() + c.numel());
    else
      f64.insert(f64.end(), c.data<double>(), c.data<double>() + c.numel());
  }
  if (!f32.empty()) comm.allreduce_sum(f32.data(), f32.size());
  if (!f64.empty()) comm.allreduce_sum(f64.data(), f64.size());
  size_t a = 0, b = 0;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    Tensor summed = Tensor::empty(g.shape(), g.dtype(), g.context());
    const auto n = static_cast<size_t>(g.numel());
    if (g.dtype() == DType::F32) {
      std::copy_n(f32.data() + a, n, summed.data<float>());
      a += n;
    } else {
      std::copy_n(f64.data() + b, n, summed.data<double>());
      b += n;
    }
    p.set_grad(summed);
  }
}

}  // namespace

// The loss of the global batch is the mean over its D values; rank r's loss_r is the mean over
// its d_r of them, so loss = Σ_r (d_r / D) · loss_r and the global gradient is the sum over the
// ranks of ∇((d_r / D) · loss_r). A batch of fewer windows than ranks (a short last batch) is
// computed whole by every rank (d_r / D = 1 / N): no rank has an empty share.
double Trainer::step_distributed() {
  const int ranks = comm_->size();
  const int64_t G = train_loader_.batch_windows(batch_);
  const bool whole = G < ranks;
  const BatchShare share = whole ? BatchShare{0, G} : batch_share(G, comm_->rank(), ranks);
  Generator& gen = ctx_.generator();
  const uint64_t counter = gen.counter();
  SplitBatch split(ctx_, *comm_, G, share);
  data::Batch b = train_loader_.batch_rows(batch_, share.first, share.count, ctx_);
  optimizer_->zero_grad();
  const BatchForecast f = forward(b);
  const Tensor loss = criterion(f);
  // Σ_r d_r, Σ_r loss_r·d_r, and Σ_r of the counters this rank's forward drew (dropout), which
  // must be the same on every rank
  const double d = loss_values(f), drawn = static_cast<double>(gen.counter() - counter);
  double sums[3] = {d, loss.item() * d, drawn};
  comm_->allreduce_sum(sums, 3);
  const double D = sums[0], l = D > 0 ? sums[1] / D : 0.0;
  check_same_draws(sums[2], drawn);
  check_loss(l);
  epoch_losses_.push_back(l);
  (D > 0 ? mul(loss, d / D) : mul(loss, 0.0)).backward();
  sum_gradients(model_->parameters(), *comm_, grad_f32_, grad_f64_);
  check_gradients();
  optimizer_->step();
  return l;
}

Trainer::EvalShare Trainer::eval_share(int64_t windows) const {
  // Fewer windows than ranks: every rank computes them all (so random draws such as ProbSparse
  // attention's key sample stay the same on every rank) and rank 0 counts them.
  if (windows < comm_->size()) return {{0, windows}, comm_->rank() == 0};
  return {batch_share(windows, comm_->rank(), comm_->size()), true};
}

void Trainer::check_same_draws(double sum_over_ranks, double drawn) const {
  ATTEND_CHECK(sum_over_ranks == drawn * comm_->size(),
               "[train] epoch {}, batch {}: the ranks drew different numbers of random values "
               "(a model's dropout input is not laid out with the batch outermost)",
               epoch_ + 1, batch_ + 1);
}

double Trainer::evaluate_loss(std::string_view split) {
  data::BatchLoader& loader = split == "test" ? test_loader_ : val_loader_;
  ATTEND_CHECK(split == "test" || split == "val" || split == "vali",
               "[train] evaluate_loss: unknown split '{}'", split);
  const bool was_training = model_->is_training();
  model_->eval();
  NoGradGuard guard;
  double total = 0;
  const int64_t nb = loader.num_batches();
  if (!distributed()) {
    for (int64_t i = 0; i < nb; ++i) total += criterion(forward(loader.batch(i, ctx_))).item();
  } else {
    // batch i's loss: Σ_r loss_r·d_r / Σ_r d_r over the ranks' shares (see step_distributed)
    std::vector<double> sums(static_cast<size_t>(2 * nb + 1), 0.0);
    const uint64_t counter = ctx_.generator().counter();
    for (int64_t i = 0; i < nb; ++i) {
      const EvalShare s = eval_share(loader.batch_windows(i));
      const BatchForecast f = forward(loader.batch_rows(i, s.rows.first, s.rows.count, ctx_));
      if (!s.counts) continue;
      const double d = loss_values(f);
      sums[2 * i] = criterion(f).item() * d;
      sums[2 * i + 1] = d;
    }
    const double drawn = static_cast<double>(ctx_.generator().counter() - counter);
    sums[2 * nb] = drawn;
    comm_->allreduce_sum(sums.data(), sums.size());
    check_same_draws(sums[2 * nb], drawn);
    for (int64_t i = 0; i < nb; ++i)
      total += sums[2 * i + 1] > 0 ? sums[2 * i] / sums[2 * i + 1] : 0.0;
  }
  model_->train(was_training);
  return nb > 0 ? total / static_cast<double>(nb) : 0.0;
}

Predictions Trainer::predict(std::string_view split, bool inverse) {
  const data::ForecastSplit& sp = data_->split(split);
  data::BatchLoader loader(sp, data::LoaderOptions{cfg_.train.batch_size, false, 0});
  const bool was_training = model_->is_training();
  model_->eval();
  NoGradGuard guard;
  Predictions p;
  p.pred_len = cfg_.model.pred_len;
  p.first_channel = cfg_.data.features == "MS" ? data_->channels() - 1 : 0;
  if (distributed()) {
    gather_predictions(sp, loader, p);
    model_->train(was_training);
    if (inverse) to_original_units(p, *data_, sp);
    return p;
  }
  for (int64_t i = 0; i < loader.num_batches(); ++i) {
    const BatchForecast f = forward(loader.batch(i, ctx_));
    p.channels = f.pred.size(2);
    auto pv = f.pred.contiguous_data().to_vector<float>();
    auto tv = f.target.contiguous_data().to_vector<float>();
    p.preds.insert(p.preds.end(), pv.begin(), pv.end());
    p.trues.insert(p.trues.end(), tv.begin(), tv.end());
    if (f.observed.defined())
      for (float o : f.observed.contiguous_data().to_vector<float>()) p.observed.push_back(o > 0);
    if (f.quantiles.defined()) {
      auto qv = models::sorted_quantiles(f.quantiles).contiguous_data().to_vector<float>();
      p.quantiles.insert(p.quantiles.end(), qv.begin(), qv.end());
      p.levels = cfg_.model.quantiles;
    }
    p.windows += f.pred.size(0);
  }
  model_->train(was_training);
  if (inverse) to_original_units(p, *data_, sp);
  return p;
}

void Trainer::gather_predictions(const data::ForecastSplit& split, const data::BatchLoader& loader,
                                 Predictions& p) {
  // Every rank writes the windows of its shares into zeroed arrays of all the windows; their sum
  // over the ranks is then every window's values exactly (x + 0 = x).
  const int64_t W = loader.num_windows(), P = p.pred_len;
  const int64_t K = cfg_.data.features == "MS" ? 1 : data_->channels();
  const int64_t Q = model_->n_quantiles();
  const bool masked = !split.observed.empty();
  const auto per_window = static_cast<size_t>(P * K);
  std::vector<float> preds(W * per_window, 0.0f), trues(W * per_window, 0.0f);
  std::vector<float> observed(masked ? W * per_window : 0, 0.0f);
  std::vector<float> quantiles(Q > 1 ? W * per_window * Q : 0, 0.0f);
  for (int64_t i = 0; i < loader.num_batches(); ++i) {
    const EvalShare s = eval_share(loader.batch_windows(i));
    const BatchForecast f = forward(loader.batch_rows(i, s.rows.first, s.rows.count, ctx_));
    if (!s.counts) continue;
    ATTEND_CHECK(f.pred.size(2) == K, "[predict] {} channels predicted, {} expected",
                 f.pred.size(2), K);
    const size_t at =
        static_cast<size_t>(i * loader.options().batch_size + s.rows.first) * per_window;
    auto put = [&](const Tensor& t, std::vector<float>& to, size_t scale) {
      const std::vector<float> v = t.contiguous_data().to_vector<float>();
      std::copy(v.begin(), v.end(), to.begin() + static_cast<std::ptrdiff_t>(at * scale));
    };
    put(f.pred, preds, 1);
    put(f.target, trues, 1);
    if (masked) put(f.observed, observed, 1);
    if (Q > 1) put(models::sorted_quantiles(f.quantiles), quantiles, static_cast<size_t>(Q));
  }
  for (std::vector<float>* v : {&preds, &trues, &observed, &quantiles})
    if (!v->empty()) comm_->allreduce_sum(v->data(), v->size());
  p.channels = K;
  p.windows = W;
  p.preds = std::move(preds);
  p.trues = std::move(trues);
  for (float o : observed) p.observed.push_back(o > 0);
  if (Q > 1) {
    p.quantiles = std::move(quantiles);
    p.levels = cfg_.model.quantiles;
  }
}

void to_original_units(Predictions& p, const data::ForecastData& data,
                       const data::ForecastSplit& split) {
  if (!data.scaler_of(0).fitted()) return;
  // x * scale[c] + mean[c] with c = f_dim + k and the window's series' scaler (TSLib tiles an
  // MS output across the columns and keeps the last, i.e. the target's statistics).
  const int64_t K = p.channels, per_window = p.pred_len * K;
  for (size_t i = 0; i < p.preds.size(); ++i) {
    const int64_t c = p.first_channel + static_cast<int64_t>(i % K);
    const data::StandardScaler& sc =
        data.scaler_of(split.series_of(static_cast<int64_t>(i) / per_window));
    p.preds[i] = static_cast<float>(sc.inverse_value(p.preds[i], c));
    p.trues[i] = static_cast<float>(sc.inverse_value(p.trues[i], c));
  }
  // Quantiles (n, Q) of value i: the same affine map, which keeps them sorted (scale > 0).
  const size_t Q = p.levels.size();
  for (size_t j = 0; j < p.quantiles.size(); ++j) {
    const size_t i = j / Q;
    const int64_t c = p.first_channel + static_cast<int64_t>(i % K);
    const data::StandardScaler& sc =
        data.scaler_of(split.series_of(static_cast<int64_t>(i) / per_window));
    p.quantiles[j] = static_cast<float>(sc.inverse_value(p.quantiles[j], c));
  }
}

namespace {

// Metrics of windows [w0, w1) of p over their observed values.
Metrics metrics_of(const Predictions& p, int64_t w0, int64_t w1) {
  const int64_t per_window = p.pred_len * p.channels;
  const size_t a = static_cast<size_t>(w0 * per_window), b = static_cast<size_t>(w1 * per_window);
  const size_t Q = p.levels.size();
  std::vector<float> pred, truth, quantiles;
  for (size_t i = a; i < b; ++i)
    if (p.observed.empty() || p.observed[i]) {
      pred.push_back(p.preds[i]);
      truth.push_back(p.trues[i]);
      if (Q > 0) quantiles.insert(quantiles.end(), &p.quantiles[i * Q], &p.quantiles[i * Q] + Q);
    }
  const auto n = static_cast<int64_t>(pred.size());
  Metrics m = compute_metrics(pred.data(), truth.data(), n);
  if (Q > 0) add_quantile_metrics(m, quantiles.data(), truth.data(), n, p.levels);
  return m;
}

}  // namespace

Metrics Trainer::test(bool inverse) {
  const Predictions p = predict("test", inverse);
  const Metrics m = metrics_of(p, 0, p.windows);
  ATTEND_CHECK(std::isfinite(m.mse) && std::isfinite(m.mae),
               "[test] the metrics are not finite (mse {}, mae {}): the model's forecasts "
               "overflow",
               m.mse, m.mae);
  return m;
}

std::vector<Metrics> Trainer::test_per_series(bool inverse) {
  const Predictions p = predict("test", inverse);
  const data::ForecastSplit& sp = data_->test;
  std::vector<Metrics> out;
  int64_t w0 = 0;
  for (int64_t w = 1; w <= p.windows; ++w)
    if (w == p.windows || sp.series_of(w) != sp.series_of(w0)) {
      out.push_back(metrics_of(p, w0, w));
      w0 = w;
    }
  return out;
}

void Trainer::load_weights(const std::string& path) {
  io::load_state_dict(*model_, path);
}

void Trainer::write_checkpoint(const std::string& dir) const {
  write_checkpoint_files(dir, *model_, cfg_, scalers_to_json(*data_));
}

void Trainer::write_resume(const std::string& dir) const {
  const fs::path d(dir);
  io::save_state_dict(*model_, (d / "weights.safetensors").string());
  if (!best_.empty()) io::write_safetensors((d / "best.safetensors").string(), best_);
  io::write_safetensors((d / "optimizer.safetensors").string(), optimizer_->state_dict());
  nlohmann::json s;
  s["attend_format"] = kFormatVersion;
  s["config"] = run_config_to_json(cfg_);
  s["epoch"] = epoch_;
  s["batch"] = batch_;
  s["epoch_losses"] = epoch_losses_;
  s["epoch_seconds"] = epoch_seconds_;
  s["schedule_steps"] = schedule_steps_;
  s["beta1"] = optimizer_->momentum();
  s["early_stopping"] = early_stopping_.to_json();
  s["generator"] = {{"seed", ctx_.generator().seed()}, {"counter", ctx_.generator().counter()}};
  s["finished"] = finished_;
  nlohmann::json h = nlohmann::json::array();
  for (const auto& r : history_)
    h.push_back({{"epoch", r.epoch},
                 {"train_loss", r.train_loss},
                 {"val_loss", r.val_loss},
                 {"test_loss", r.test_loss},
                 {"lr", r.lr},
                 {"seconds", r.seconds},
                 {"improved", r.improved}});
  s["history"] = h;
  io::write_file_atomic((d / "state.json").string(), s.dump(1) + "\n");
}

void Trainer::load_resume(const std::string& dir) {
  const fs::path d(dir);
  const std::string state_path = (d / "state.json").string();
  ATTEND_CHECK(fs::exists(state_path), "--resume: no saved training state in '{}'", dir);
  nlohmann::json s = read_json_file(state_path);
  try {
    const nlohmann::json mine = run_config_to_json(cfg_);
    const nlohmann::json& saved = s.at("config");
    std::string diff;
    for (const auto& [k, v] : mine.items()) {
      if (k == "checkpoints" || k == "root_path" || k == "is_training") continue;
      if (!saved.contains(k) || saved.at(k) != v)
        diff += fmt::format("{}--{} {} (saved: {})", diff.empty() ? "" : ", ", k, v.dump(),
                            saved.contains(k) ? saved.at(k).dump() : "none");
    }
    ATTEND_CHECK(diff.empty(), "--resume: the saved run used other flags: {}", diff);
    io::load_state_dict(*model_, (d / "weights.safetensors").string());
    best_.clear();
    if (fs::exists(d / "best.safetensors"))
      best_ = io::load_tensors((d / "best.safetensors").string(), ctx_);
    make_schedule();
    const int64_t steps = s.at("schedule_steps").get<int64_t>();
    for (int64_t i = 0; i < steps; ++i) schedule_->batch_end(*optimizer_);
    schedule_steps_ = steps;
    optimizer_->load_state_dict(io::load_tensors((d / "optimizer.safetensors").string(), ctx_));
    optimizer_->set_momentum(s.at("beta1").get<double>());
    epoch_ = s.at("epoch").get<int>();
    batch_ = s.at("batch").get<int64_t>();
    epoch_losses_ = s.at("epoch_losses").get<std::vector<double>>();
    epoch_seconds_ = s.at("epoch_seconds").get<double>();
    early_stopping_.load_json(s.at("early_stopping"));
    ctx_.generator().manual_seed(s.at("generator").at("seed").get<uint64_t>());
    ctx_.generator().set_counter(s.at("generator").at("counter").get<uint64_t>());
    finished_ = s.at("finished").get<bool>();
    history_.clear();
    for (const auto& h : s.at("history")) {
      EpochReport r;
      r.epoch = h.at("epoch").get<int>();
      r.epochs = static_cast<int>(cfg_.train.train_epochs);
      r.train_loss = h.at("train_loss").get<double>();
      r.val_loss = h.at("val_loss").get<double>();
      r.test_loss = h.at("test_loss").get<double>();
      r.lr = h.at("lr").get<double>();
      r.seconds = h.at("seconds").get<double>();
      r.improved = h.at("improved").get<bool>();
      history_.push_back(r);
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: bad training state ({})", state_path, e.what());
  }
}

}  // namespace attend::train
