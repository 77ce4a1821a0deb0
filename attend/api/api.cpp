// The public API (attend/attend.h) over the internals: SeriesInput -> data::make_table ->
// train::Predictor (prepare, run), a pool of predictors for concurrent callers; train_model over
// the option table and train::train_and_test.
#include "attend/attend.h"

#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "attend/base/error.h"
#include "attend/data/csv.h"
#include "attend/models/model.h"
#include "attend/nn/attention.h"
#include "attend/train/checkpoint.h"
#include "attend/train/experiment.h"
#include "attend/train/forecast.h"
#include "attend/train/run_config.h"

namespace attend {

const char* version() {
  return ATTEND_VERSION_STRING;
}

std::vector<std::string> model_names() {
  return models::model_names();
}

// ---- forecasting ----------------------------------------------------------------------------

namespace {

// One model instance with its own context (threads, generator, allocator): a forecast at a time.
struct Slot {
  Slot(const train::CheckpointInfo& info, int threads)
      : ctx(ContextOptions{threads, static_cast<uint64_t>(info.config.train.seed)}),
        predictor(info, ctx) {}
  Context ctx;
  train::Predictor predictor;
};

std::string describe(const SeriesInput& in, size_t i, size_t n) {
  std::string s = n > 1 ? fmt::format("input {}", i) : std::string("input");
  if (!in.id.empty()) s += fmt::format(" (series '{}')", in.id);
  return s;
}

}  // namespace

struct Model::Impl {
  train::CheckpointInfo checkpoint;
  ModelInfo info;
  int threads = 0;
  std::mutex mutex;
  std::vector<std::unique_ptr<Slot>> free;  // idle slots; more are made while all are busy

  // A slot for the caller's exclusive use (an idle one, or a new one while all are busy),
  // returned to the pool when the lease ends.
  class Lease {
   public:
    explicit Lease(Impl& impl) : impl_(impl) {
      {
        const std::lock_guard<std::mutex> lock(impl.mutex);
        if (!impl.free.empty()) {
          slot_ = std::move(impl.free.back());
          impl.free.pop_back();
        }
      }
      if (!slot_) slot_ = std::make_unique<Slot>(impl.checkpoint, impl.threads);
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      const std::lock_guard<std::mutex> lock(impl_.mutex);
      impl_.free.push_back(std::move(slot_));
    }
    Slot& slot() { return *slot_; }

   private:
    Impl& impl_;
    std::unique_ptr<Slot> slot_;
  };

  // The input as a one-series table (long format with its id for long-format checkpoints) and,
  // for known-future columns, the table of their values at the forecast steps.
  std::pair<data::CsvTable, std::optional<data::CsvTable>> tables(const SeriesInput& in,
                                                                  const std::string& what) const {
    const size_t T = in.timestamps.size(), C = info.columns.size();
    ATTEND_CHECK(in.values.size() == T * C,
                 "{}: values holds {} numbers for {} timestamps of {} columns ({})", what,
                 in.values.size(), T, C, fmt::join(info.columns, ", "));
    const bool long_format = !info.series_ids.empty();
    ATTEND_CHECK(long_format || in.id.empty(),
                 "{}: id '{}' given, but the checkpoint's data has no series ids", what, in.id);
    ATTEND_CHECK(!long_format || !in.id.empty(),
                 "{}: id: the checkpoint forecasts series by id (one of its {} series)", what,
                 info.series_ids.size());
    data::TableColumns t;
    t.source = what;
    t.time_column = info.time_column.empty() ? "date" : info.time_column;
    t.id_column = long_format ? info.id_column : "";
    t.columns = info.columns;
    t.timestamps = in.timestamps;
    t.values = in.values;
    if (long_format) t.ids.assign(T, in.id);
    data::CsvOptions options;
    options.allow_missing = true;  // NaN: missing, handled per the checkpoint's --missing
    data::CsvTable table = data::make_table(std::move(t), options);

    std::optional<data::CsvTable> future;
    const size_t Kf = info.known_columns.size(), P = static_cast<size_t>(info.pred_len);
    if (Kf == 0) {
      ATTEND_CHECK(in.future.empty(), "{}: future given, but the model has no known-future columns",
                   what);
    } else if (!in.future.empty()) {
      ATTEND_CHECK(in.future.size() == P * Kf,
                   "{}: future holds {} numbers for pred_len {} steps of {} known columns ({})",
                   what, in.future.size(), P, Kf, fmt::join(info.known_columns, ", "));
      data::TableColumns f;
      f.source = what + " future";
      f.time_column = table.time_column;
      f.id_column = table.id_column;
      f.columns = info.known_columns;
      f.timestamps =
          train::future_timestamps(in.timestamps, info.pred_len, checkpoint.config.model.freq);
      f.values = in.future;
      if (long_format) f.ids.assign(P, in.id);
      future = data::make_table(std::move(f), options);
    }
    return {std::move(table), std::move(future)};
  }

  // The inputs' windows, prepared by `slot` (checked in order; errors name the input).
  std::vector<train::PreparedWindow> prepare(Slot& slot, const std::vector<SeriesInput>& inputs) {
    std::vector<train::PreparedWindow> windows;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto [table, future] = tables(inputs[i], describe(inputs[i], i, inputs.size()));
      std::vector<train::PreparedWindow> w =
          slot.predictor.prepare(table, {}, future ? &*future : nullptr);
      windows.push_back(std::move(w.front()));
    }
    return windows;
  }
};

Model::Model(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Model Model::load(const std::string& checkpoint, int threads) {
  ATTEND_CHECK(threads >= 0, "threads must be >= 0 (0: all cores), got {}", threads);
  auto impl = std::make_shared<Impl>();
  impl->checkpoint = train::read_checkpoint(checkpoint);
  impl->threads = threads;
  const train::CheckpointInfo& c = impl->checkpoint;
  const train::RunConfig cfg = train::resolved_config(c);
  ModelInfo& i = impl->info;
  i.model = cfg.model.model;
  i.seq_len = cfg.model.seq_len;
  i.label_len = cfg.model.label_len;
  i.pred_len = cfg.model.pred_len;
  i.freq = cfg.model.freq;
  i.columns = c.columns;
  if (cfg.data.features == "M")
    i.outputs = c.columns;
  else
    i.outputs = {c.columns.back()};
  for (int64_t k : cfg.model.known_columns) i.known_columns.push_back(c.columns[k]);
  i.quantiles = cfg.model.quantiles;
  i.series_ids = c.series_ids;
  i.id_column = c.id_column;
  i.time_column = c.time_column;
  i.has_attention = models::model_info(cfg.model.model).has_attention;
  i.checkpoint = checkpoint;
  // The first slot now: a broken checkpoint fails at load, not at the first forecast.
  auto slot = std::make_unique<Slot>(c, threads);
  impl->free.push_back(std::move(slot));
  return Model(std::move(impl));
}

const ModelInfo& Model::info() const {
  return impl_->info;
}

Forecast Model::forecast(const SeriesInput& input) const {
  return std::move(forecast(std::vector<SeriesInput>{input}).front());
}

std::vector<Forecast> Model::forecast(const std::vector<SeriesInput>& inputs) const {
  if (inputs.empty()) return {};
  Impl::Lease lease(*impl_);
  const std::vector<train::PreparedWindow> windows = impl_->prepare(lease.slot(), inputs);
  std::vector<train::WindowForecast> f = lease.slot().predictor.run(windows);
  std::vector<Forecast> out(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    out[i].id = inputs[i].id;
    out[i].timestamps = windows[i].steps;
    out[i].values = std::move(f[i].values);
    out[i].quantiles = std::move(f[i].quantiles);
  }
  return out;
}

std::vector<AttentionMap> Model::attention(const SeriesInput& input) const {
  Impl::Lease lease(*impl_);
  const std::vector<train::PreparedWindow> windows = impl_->prepare(lease.slot(), {input});
  std::vector<AttentionMap> out;
  for (const nn::CapturedAttention& c : lease.slot().predictor.attention(windows.front())) {
    AttentionMap& m = out.emplace_back();
    m.layer = c.layer;
    m.role = nn::attention_role_name(c.role);
    const Tensor w = c.weights.contiguous_data();
    for (int64_t d = 0; d < w.ndim(); ++d) m.shape.push_back(w.size(d));
    m.weights = w.to_vector<float>();
  }
  return out;
}

// ---- training ---------------------------------------------------------------------------------

namespace {

// A value given as text, as the command line gives it, in the option's JSON kind.
nlohmann::json option_value(const train::Option& o, const std::string& text) {
  const std::string flag = std::string("--") + o.name;
  auto integer = [&](const std::string& s) -> int64_t {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    ATTEND_CHECK(!s.empty() && *end == 0 && errno == 0, "{}: '{}' is not an integer", flag, s);
    return v;
  };
  switch (o.kind) {
    case train::FlagKind::Int:
      return integer(text);
    case train::FlagKind::Float: {
      char* end = nullptr;
      const double d = std::strtod(text.c_str(), &end);
      ATTEND_CHECK(!text.empty() && *end == 0, "{}: '{}' is not a number", flag, text);
      return d;
    }
    case train::FlagKind::StoreTrue:
    case train::FlagKind::StoreFalse:
      ATTEND_CHECK(text == "true" || text == "false" || text == "1" || text == "0",
                   "{}: '{}' is not true or false", flag, text);
      return text == "true" || text == "1";
    case train::FlagKind::IntList: {
      nlohmann::json a = nlohmann::json::array();
      size_t start = 0;
      while (start <= text.size()) {
        const size_t end = std::min(text.find(',', start), text.size());
        a.push_back(integer(text.substr(start, end - start)));
        start = end + 1;
      }
      return a;
    }
    default:  // text and comma-separated lists: set_option parses them
      return text;
  }
}

}  // namespace

TrainReport train_model(const RunOptions& options, const TrainOptions& how) {
  ATTEND_CHECK(how.threads >= 0, "threads must be >= 0 (0: all cores), got {}", how.threads);
  train::RunConfig cfg;
  for (const auto& [name, text] : options) {
    const train::Option* o = train::find_option(name);
    ATTEND_CHECK(o != nullptr, "option '{}': unknown (neither an attend nor a TSLib run.py flag)",
                 name);
    train::set_option(cfg, name, option_value(*o, text), "--" + name);
  }
  const train::ValidConfig valid(cfg);
  Context ctx(ContextOptions{how.threads, static_cast<uint64_t>(valid->train.seed)});
  train::ExperimentOptions o;
  o.resume = how.resume;
  o.stop = how.stop;
  o.log = how.log;
  if (how.epoch)
    o.callbacks.on_epoch = [&how](const train::EpochReport& e) {
      how.epoch(EpochProgress{e.epoch, e.epochs, e.train_loss, e.val_loss, e.test_loss, e.seconds});
    };
  const train::ExperimentResult r = train::train_and_test(valid, ctx, o);
  TrainReport out;
  out.checkpoint = r.dir;
  out.interrupted = r.interrupted;
  if (!r.interrupted) {
    const nlohmann::json metrics = train::metrics_to_json(r.metrics);
    for (const auto& [k, v] : metrics.items())
      out.metrics.emplace_back(k, v.is_number() ? v.get<double>() : std::nan(""));
  }
  return out;
}

}  // namespace attend
