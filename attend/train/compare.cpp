// Side-by-side training, testing and timing of several models on one dataset.
#include "attend/train/compare.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <type_traits>

#include "attend/autograd/node.h"
#include "attend/base/clock.h"
#include "attend/io/atomic_file.h"
#include "attend/kernels/counters.h"
#include "attend/kernels/fma_peak.h"
#include "attend/ops/loss.h"
#include "attend/ops/shape.h"
#include "attend/optim/adam.h"
#include "attend/train/forecast.h"
#include "attend/train/trainer.h"

namespace fs = std::filesystem;

namespace attend::train {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Marks for timing: timeF values in [-0.5, 0.5], integer marks 0 (a valid index everywhere).
Tensor random_marks(const models::ModelConfig& c, int64_t batch, int64_t len, Context& ctx) {
  const Shape s{batch, len, mark_columns(c)};
  if (c.embed == "timeF") return Tensor::uniform(s, -0.5, 0.5, DType::F32, ctx);
  return Tensor::zeros(s, DType::F32, ctx);
}

// A cell of a table: finite numbers with `digits` decimals, others as "nan"/"inf".
std::string num(double v, int digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}f}", v, digits);
}

struct Column {
  const char* name;
  std::function<std::string(const CompareRow&)> cell;
};

const std::vector<Column>& columns() {
  static const std::vector<Column> cols = {
      {"model", [](const CompareRow& r) { return r.model; }},
      {"params", [](const CompareRow& r) { return std::to_string(r.params); }},
      {"epochs", [](const CompareRow& r) { return std::to_string(r.epochs); }},
      {"train_s", [](const CompareRow& r) { return num(r.train_s, 3); }},
      {"epoch_train_s", [](const CompareRow& r) { return num(r.epoch_train_s, 3); }},
      {"mse", [](const CompareRow& r) { return num(r.metrics.mse, 6); }},
      {"mae", [](const CompareRow& r) { return num(r.metrics.mae, 6); }},
      {"latency_b1_ms", [](const CompareRow& r) { return num(r.latency_b1_ms, 3); }},
      {"latency_b32_ms", [](const CompareRow& r) { return num(r.latency_b32_ms, 3); }},
  };
  return cols;
}

// Every field of a row, in one order: the bytes of a row exchanged across ranks.
template <typename F>
void row_fields(CompareRow& r, F&& f) {
  f(r.model);
  f(r.params);
  f(r.epochs);
  f(r.train_s);
  f(r.epoch_train_s);
  auto& m = r.metrics;
  for (auto* v : {&m.mse, &m.mae, &m.rmse, &m.mape, &m.mspe}) f(*v);
  f(m.has_quantiles);
  for (auto* v : {&m.pinball, &m.coverage, &m.crps, &m.interval}) f(*v);
  f(r.latency_b1_ms);
  f(r.latency_b32_ms);
}

// Numbers as their bytes in this machine's order; a string as its length (uint64) and bytes.
struct RowWriter {
  std::string bytes;
  void operator()(const std::string& v) {
    (*this)(static_cast<uint64_t>(v.size()));
    bytes += v;
  }
  template <typename T>
  void operator()(const T& v) {
    static_assert(std::is_arithmetic_v<T>);
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
};

struct RowReader {
  const std::string& bytes;
  size_t at = 0;
  void take(void* out, size_t n) {
    ATTEND_CHECK(at + n <= bytes.size(), "[compare] truncated rows from another rank");
    std::memcpy(out, bytes.data() + at, n);
    at += n;
  }
  void operator()(std::string& v) {
    uint64_t n = 0;
    (*this)(n);
    v.resize(n);
    take(v.data(), n);
  }
  template <typename T>
  void operator()(T& v) {
    static_assert(std::is_arithmetic_v<T>);
    take(&v, sizeof v);
  }
};

// Each rank's finished rows (index in the list, then the row's fields) to every rank: rows[i] set
// for every model finished on any rank.
void exchange_rows(Communicator& comm, std::vector<std::optional<CompareRow>>& rows) {
  RowWriter w;
  for (uint64_t i = 0; i < rows.size(); ++i) {
    if (!rows[i]) continue;
    w(i);
    row_fields(*rows[i], w);
  }
  for (const std::string& bytes : all_gather(comm, w.bytes)) {
    RowReader r{bytes};
    while (r.at < bytes.size()) {
      uint64_t i = 0;
      r(i);
      ATTEND_CHECK(i < rows.size(), "[compare] row {} from another rank of {} models", i,
                   rows.size());
      CompareRow row;
      row_fields(row, r);
      rows[i] = std::move(row);
    }
  }
}

}  // namespace

std::vector<std::string> parse_model_list(const std::string& list) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  size_t pos = 0;
  while (true) {
    const size_t comma = list.find(',', pos);
    const std::string item =
        trim(list.substr(pos, comma == std::string::npos ? comma : comma - pos));
    ATTEND_CHECK(!item.empty(), "[compare] --models '{}' has an empty entry", list);
    const std::string name = models::canonical_model_name(item, "[compare] --models entry");
    ATTEND_CHECK(seen.insert(name).second, "[compare] --models lists '{}' twice", item);
    out.push_back(name);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::vector<LatencyResult> forecast_latency(models::ForecastModel& model,
                                            const LatencyOptions& options, Context& ctx) {
  ATTEND_CHECK(options.repeats > 0 && options.warmup >= 0,
               "[latency] repeats must be positive and warmup non-negative (got {}, {})",
               options.repeats, options.warmup);
  const models::ModelConfig& c = model.config();
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  // As a loaded checkpoint forecasts (train::Predictor): readied at load (weights packed by one
  // forward at batch 1), then every call under the packed weights' scope.
  PackedWeights packed;
  prepare_for_inference(model, packed, ctx);
  const PackedWeights::Scope scope(packed);
  std::vector<LatencyResult> out;
  for (const int64_t B : options.batches) {
    ATTEND_CHECK(B > 0, "[latency] batch size must be positive, got {}", B);
    const int64_t Ly = c.label_len + c.pred_len;
    // x_enc: (B, seq_len, enc_in); x_dec: (B, label_len + pred_len, dec_in) as the trainer builds
    // it (zeros over the horizon); marks: (B, L, F).
    Tensor x_enc = Tensor::normal({B, c.seq_len, c.enc_in}, 0, 1, DType::F32, ctx);
    Tensor x_dec, xm, ym;
    if (model.uses_decoder_input()) x_dec = Tensor::zeros({B, Ly, c.dec_in}, DType::F32, ctx);
    if (model.uses_time_marks()) {
      xm = random_marks(c, B, c.seq_len, ctx);
      ym = random_marks(c, B, Ly, ctx);
    }
    for (int i = 0; i < options.warmup; ++i) model.forecast(x_enc, xm, x_dec, ym);
    std::vector<double> ms;
    for (int i = 0; i < options.repeats; ++i) {
      const double t0 = now_seconds();
      Tensor y = model.forecast(x_enc, xm, x_dec, ym);
      ms.push_back((now_seconds() - t0) * 1e3);
    }
    std::sort(ms.begin(), ms.end());
    // One more call, counted: the work of a forecast for its achieved GFLOP/s.
    kernels::gemm_counter().reset();
    kernels::attention_counter().reset();
    kernels::set_kernel_counting(true);
    model.forecast(x_enc, xm, x_dec, ym);
    kernels::set_kernel_counting(false);
    const double flops = static_cast<double>(kernels::gemm_counter().flops.load() +
                                             kernels::attention_counter().flops.load());
    out.push_back({B, ms[ms.size() / 2], ms.front(), flops / 1e9});
  }
  model.train(was_training);
  return out;
}

std::vector<CompareRow> compare_models(const RunConfig& cfg, const std::vector<std::string>& names,
                                       Context& ctx, const CompareOptions& options) {
  ATTEND_CHECK(!names.empty(), "[compare] no models given");
  std::vector<ValidConfig> configs;  // every model's configuration checked before any training
  for (const auto& n : names) {
    RunConfig c = cfg;
    c.model.model = models::canonical_model_name(n, "[compare] model");
    configs.emplace_back(c);
  }
  auto log = [&](const std::string& s) {
    if (options.log) options.log(s);
  };
  const size_t rank = options.comm ? static_cast<size_t>(options.comm->rank()) : 0;
  const size_t ranks = options.comm ? static_cast<size_t>(options.comm->size()) : 1;
  std::vector<std::optional<CompareRow>> rows(configs.size());  // rows[i]: model i, once done
  auto stopped = [&] { return options.stop && options.stop->load(); };
  std::shared_ptr<const data::ForecastData> data;  // loaded when this rank's share is not empty
  if (rank < configs.size())
    data =
        std::make_shared<const data::ForecastData>(data::load_forecast_data(cfg.data, cfg.model));
  LatencyOptions lat = options.latency;
  lat.batches = {1, 32};
  for (size_t i = rank; i < configs.size(); i += ranks) {  // this rank's share: i mod N = rank
    if (stopped()) break;
    const ValidConfig& c = configs[i];
    const std::string& m = c->model.model;
    Trainer trainer(c, data, ctx);
    trainer.set_stop_flag(options.stop);
    CompareRow row;
    row.model = m;
    row.params = trainer.model().num_parameters();
    // Optimisation-loop time of each epoch: from the epoch's start to its last batch.
    double epoch_start = 0, loop_total = 0;
    int loops = 0;
    TrainCallbacks cb;
    cb.on_batch = [&](int, int64_t batch, int64_t batches, double) {
      if (batch == batches) {
        loop_total += now_seconds() - epoch_start;
        ++loops;
      }
    };
    cb.on_epoch = [&](const EpochReport& r) {
      log(fmt::format("{}: epoch {}/{} train {:.4f} val {:.4f} ({:.1f} s)", m, r.epoch, r.epochs,
                      r.train_loss, r.val_loss, r.seconds));
      epoch_start = now_seconds();
    };
    trainer.set_callbacks(cb);
    log(fmt::format("{}: training ({} parameters)", m, row.params));
    const double t0 = now_seconds();
    epoch_start = t0;
    TrainResult tr = trainer.train();
    if (tr.interrupted) break;
    row.train_s = now_seconds() - t0;
    row.epochs = tr.epochs_run;
    row.epoch_train_s = loops > 0 ? loop_total / loops : 0.0;
    row.metrics = trainer.test(c->train.inverse);
    auto latency = forecast_latency(trainer.model(), lat, ctx);
    row.latency_b1_ms = latency[0].median_ms;
    row.latency_b32_ms = latency[1].median_ms;
    log(fmt::format("{}: mse {:.6f} mae {:.6f} | latency b1 {:.3f} ms, b32 {:.3f} ms", m,
                    row.metrics.mse, row.metrics.mae, row.latency_b1_ms, row.latency_b32_ms));
    rows[i] = std::move(row);
  }
  if (options.comm) exchange_rows(*options.comm, rows);
  std::vector<CompareRow> out;
  for (auto& r : rows)
    if (r) out.push_back(std::move(*r));
  return out;
}

std::string compare_to_csv(const std::vector<CompareRow>& rows) {
  std::string s;
  for (size_t i = 0; i < columns().size(); ++i) {
    if (i) s += ',';
    s += columns()[i].name;
  }
  s += "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < columns().size(); ++i) {
      if (i) s += ',';
      s += columns()[i].cell(r);
    }
    s += "\n";
  }
  return s;
}

std::string compare_to_markdown(const std::vector<CompareRow>& rows) {
  std::string head = "|", rule = "|";
  for (size_t i = 0; i < columns().size(); ++i) {
    head += fmt::format(" {} |", columns()[i].name);
    rule += i == 0 ? " --- |" : " ---: |";
  }
  std::string s = head + "\n" + rule + "\n";
  for (const auto& r : rows) {
    s += "|";
    for (const auto& col : columns()) s += fmt::format(" {} |", col.cell(r));
    s += "\n";
  }
  return s;
}

std::vector<std::string> write_compare(const std::vector<CompareRow>& rows,
                                       const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  ATTEND_CHECK(fs::is_directory(dir), "[compare] --out '{}': cannot create the folder ({})", dir,
               ec ? ec.message() : "not a folder");
  const std::string csv = (fs::path(dir) / "compare.csv").string();
  const std::string md = (fs::path(dir) / "compare.md").string();
  io::write_file_atomic(csv, compare_to_csv(rows));
  io::write_file_atomic(md, compare_to_markdown(rows));
  return {csv, md};
}

namespace {

// A model of `cfg` with no data (enc_in, dec_in and c_out 0 are run.py's 7; freq "h").
std::shared_ptr<models::ForecastModel> bench_model_of(const RunConfig& cfg, Context& ctx) {
  RunConfig sized = cfg;
  for (int64_t* n : {&sized.model.enc_in, &sized.model.dec_in, &sized.model.c_out})
    if (*n == 0) *n = 7;
  std::vector<std::string> columns;
  for (int64_t i = 0; i < sized.model.enc_in; ++i) columns.push_back(fmt::format("c{}", i));
  const RunConfig resolved = resolve(sized, columns, "h", "bench model");
  ctx.generator().manual_seed(static_cast<uint64_t>(cfg.train.seed));
  return models::make_model(resolved.model, ctx);
}

}  // namespace

ModelBenchResult bench_model(const RunConfig& cfg_in, const LatencyOptions& options, Context& ctx) {
  const ValidConfig valid(cfg_in);
  const RunConfig& cfg = *valid;
  auto model = bench_model_of(cfg, ctx);
  ModelBenchResult r;
  r.model = cfg.model.model;
  r.params = model->num_parameters();
  r.latency = forecast_latency(*model, options, ctx);
  return r;
}

TrainStepResult bench_train_step(const RunConfig& cfg_in, const TrainStepOptions& options,
                                 Context& ctx) {
  ATTEND_CHECK(options.repeats > 0 && options.warmup >= 0,
               "[bench] repeats must be positive and warmup non-negative (got {}, {})",
               options.repeats, options.warmup);
  const ValidConfig valid(cfg_in);
  const RunConfig& cfg = *valid;
  auto model = bench_model_of(cfg, ctx);
  const models::ModelConfig& c = model->config();
  const int64_t B = cfg.train.batch_size, P = c.pred_len, Ly = c.label_len + c.pred_len;
  optim::AdamOptions ao;
  ao.lr = cfg.train.learning_rate;
  optim::Adam adam(model->parameters(), ao);
  model->train();
  // x_enc (B, L, enc_in), x_dec (B, Lb + P, dec_in), marks (B, L, F); the target (B, P, c_out)
  const Tensor x_enc = Tensor::normal({B, c.seq_len, c.enc_in}, 0, 1, DType::F32, ctx);
  Tensor x_dec, xm, ym;
  if (model->uses_decoder_input()) x_dec = Tensor::normal({B, Ly, c.dec_in}, 0, 1, DType::F32, ctx);
  if (model->uses_time_marks()) {
    xm = random_marks(c, B, c.seq_len, ctx);
    ym = random_marks(c, B, Ly, ctx);
  }
  const Tensor target = Tensor::normal({B, P, c.c_out}, 0, 1, DType::F32, ctx);
  auto step = [&] {
    adam.zero_grad();
    Tensor q = model->forecast_quantiles(x_enc, xm, x_dec, ym);  // (B, >= P, c_out, Q)
    q = slice(q, 1, q.size(1) - P, q.size(1));
    const Tensor pred = q.size(3) == 1
                            ? select(q, 3, 0)
                            : select(models::sorted_quantiles(q), 3, model->median_index());
    Tensor loss = mse_loss(pred, target);
    loss.backward();
    adam.step();
  };
  for (int i = 0; i < options.warmup; ++i) step();
  kernels::gemm_counter().reset();
  kernels::attention_counter().reset();
  kernels::set_kernel_counting(true);
  std::vector<double> ms;
  for (int i = 0; i < options.repeats; ++i) {
    const double t0 = now_seconds();
    step();
    ms.push_back((now_seconds() - t0) * 1e3);
  }
  kernels::set_kernel_counting(false);
  std::sort(ms.begin(), ms.end());
  TrainStepResult r;
  r.model = cfg.model.model;
  r.params = model->num_parameters();
  r.batch = B;
  r.threads = ctx.threads();
  r.median_ms = ms[ms.size() / 2];
  r.min_ms = ms.front();
  const double n = options.repeats;
  const kernels::KernelCounter& g = kernels::gemm_counter();
  const kernels::KernelCounter& a = kernels::attention_counter();
  r.gemm_calls = static_cast<double>(g.calls.load()) / n;
  r.gemm_gflop = static_cast<double>(g.flops.load()) / n / 1e9;
  r.gemm_core_ms = static_cast<double>(g.core_nanoseconds.load()) / n / 1e6;
  r.attention_gflop = static_cast<double>(a.flops.load()) / n / 1e9;
  r.attention_core_ms = static_cast<double>(a.core_nanoseconds.load()) / n / 1e6;
  const kernels::FmaPeak peak = kernels::measure_fma_peak(r.threads);
  r.peak_gflops_per_core = peak.gflops_per_core;
  r.isa = peak.target;
  return r;
}

std::string format_train_step(const RunConfig& cfg, const TrainStepResult& r, bool json) {
  const double step_core_ms = r.median_ms * r.threads;
  const double flop = r.gemm_gflop + r.attention_gflop;
  // achieved GFLOP/s per core = GFLOP / core-seconds
  auto per_core = [](double gflop, double core_ms) {
    return core_ms > 0 ? gflop / core_ms * 1e3 : 0;
  };
  const double step_rate = per_core(flop, step_core_ms),
               gemm_rate = per_core(r.gemm_gflop, r.gemm_core_ms),
               attn_rate = per_core(r.attention_gflop, r.attention_core_ms);
  const double peak = r.peak_gflops_per_core;
  if (json) {
    nlohmann::json j = {{"side", "attend"},
                        {"mode", "train_step"},
                        {"model", r.model},
                        {"threads", r.threads},
                        {"batch", r.batch},
                        {"params", r.params},
                        {"median_ms", r.median_ms},
                        {"min_ms", r.min_ms},
                        {"gemm_gflop", r.gemm_gflop},
                        {"gemm_core_ms", r.gemm_core_ms},
                        {"gemm_calls", r.gemm_calls},
                        {"attention_gflop", r.attention_gflop},
                        {"attention_core_ms", r.attention_core_ms},
                        {"step_gflops_per_core", step_rate},
                        {"gemm_gflops_per_core", gemm_rate},
                        {"attention_gflops_per_core", attn_rate},
                        {"peak_gflops_per_core", peak},
                        {"isa", r.isa},
                        {"d_model", cfg.model.d_model},
                        {"seq_len", cfg.model.seq_len},
                        {"pred_len", cfg.model.pred_len}};
    return j.dump() + "\n";
  }
  auto pct = [peak](double rate) { return peak > 0 ? 100 * rate / peak : 0.0; };
  std::string s = fmt::format(
      "{}: training step, batch {}, {} parameters | seq_len {} pred_len {} d_model {} | {} "
      "threads | FMA peak {:.1f} GFLOP/s per core ({})\n",
      r.model, r.batch, r.params, cfg.model.seq_len, cfg.model.pred_len, cfg.model.d_model,
      r.threads, peak, r.isa);
  s += fmt::format(
      "step: median {:.2f} ms (min {:.2f}), {:.3f} GFLOP counted: {:.1f} GFLOP/s per core "
      "= {:.0f} % of peak\n",
      r.median_ms, r.min_ms, flop, step_rate, pct(step_rate));
  s += fmt::format("{:<22}{:>10}{:>14}{:>12}{:>16}{:>10}\n", "part", "GFLOP", "core ms",
                   "% of step", "GFLOP/s/core", "% peak");
  auto row = [&](const char* name, double gflop, double core_ms) {
    s += fmt::format("{:<22}{:>10.3f}{:>14.2f}{:>12.1f}{:>16.1f}{:>10.0f}\n", name, gflop, core_ms,
                     step_core_ms > 0 ? 100 * core_ms / step_core_ms : 0.0,
                     per_core(gflop, core_ms), pct(per_core(gflop, core_ms)));
  };
  row(fmt::format("GEMM ({:.0f} calls)", r.gemm_calls).c_str(), r.gemm_gflop, r.gemm_core_ms);
  row("fused attention", r.attention_gflop, r.attention_core_ms);
  const double other = std::max(0.0, step_core_ms - r.gemm_core_ms - r.attention_core_ms);
  s += fmt::format("{:<22}{:>10}{:>14.2f}{:>12.1f}{:>16}{:>10}\n", "everything else", "-", other,
                   step_core_ms > 0 ? 100 * other / step_core_ms : 0.0, "-", "-");
  return s;
}

std::string format_model_bench(const RunConfig& cfg, const ModelBenchResult& r, int threads,
                               bool json) {
  if (json) {
    std::string s;
    for (const auto& l : r.latency) {
      nlohmann::json j = {{"side", "attend"},
                          {"model", r.model},
                          {"threads", threads},
                          {"batch", l.batch},
                          {"params", r.params},
                          {"median_ms", l.median_ms},
                          {"min_ms", l.min_ms},
                          {"gflop", l.gflop},
                          {"gflops_per_s", l.gflop / (l.median_ms / 1e3)},
                          {"d_model", cfg.model.d_model},
                          {"seq_len", cfg.model.seq_len},
                          {"pred_len", cfg.model.pred_len}};
      s += j.dump() + "\n";
    }
    return s;
  }
  std::string s = fmt::format(
      "{}: {} parameters | seq_len {} pred_len {} d_model {} | threads {} (0 = all)\n", r.model,
      r.params, cfg.model.seq_len, cfg.model.pred_len, cfg.model.d_model, threads);
  s += fmt::format("{:>8}{:>14}{:>12}{:>10}{:>10}\n", "batch", "median ms", "min ms", "GFLOP",
                   "GFLOP/s");
  for (const auto& l : r.latency)
    s += fmt::format("{:>8}{:>14.3f}{:>12.3f}{:>10.3f}{:>10.1f}\n", l.batch, l.median_ms, l.min_ms,
                     l.gflop, l.gflop / (l.median_ms / 1e3));
  return s;
}

}  // namespace attend::train
