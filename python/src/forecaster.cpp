// The forecasting half of the Python module: tables from numpy arrays, a run configuration from
// keyword arguments, and train / test / forecast / backtest / explain over attend::train. The
// Python class attend.Forecaster (python/attend/forecaster.py) is written on top of these; this
// file only converts types, releases the GIL and turns Ctrl-C into the library's stop flag.
#include <fmt/ranges.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attend/data/csv.h"
#include "attend/explain/explain.h"
#include "attend/train/backtest.h"
#include "attend/train/checkpoint.h"
#include "attend/train/experiment.h"
#include "attend/train/forecast.h"
#include "attend/train/progress.h"
#include "bindings.h"

namespace py = pybind11;
namespace fs = std::filesystem;

namespace attend::python {
namespace {

// ---- conversions ------------------------------------------------------------------------------

py::object to_python(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case nlohmann::json::value_t::number_float:
      return py::float_(j.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      py::list l;
      for (const auto& e : j) l.append(to_python(e));
      return l;
    }
    case nlohmann::json::value_t::object: {
      py::dict d;
      for (const auto& [k, v] : j.items()) d[py::str(k)] = to_python(v);
      return d;
    }
    default:
      return py::none();
  }
}

// A keyword argument's value as the option table takes it (bool before int: bool is an int).
nlohmann::json to_json(const py::handle& o, const std::string& name) {
  if (o.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(o)) return o.cast<bool>();
  if (py::isinstance<py::int_>(o)) return o.cast<int64_t>();
  if (py::isinstance<py::float_>(o)) return o.cast<double>();
  if (py::isinstance<py::str>(o)) return o.cast<std::string>();
  if (py::isinstance<py::list>(o) || py::isinstance<py::tuple>(o)) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : o) a.push_back(to_json(e, name));
    return a;
  }
  // numpy scalars and the like: through their Python value
  if (py::hasattr(o, "item")) return to_json(o.attr("item")(), name);
  fail("keyword '{}': a {} is not an option value (str, int, float, bool or a list)", name,
       py::str(o.get_type().attr("__name__")).cast<std::string>());
}

// A RunConfig from keyword arguments named as run.py's flags (set_option's checks; errors name
// "keyword 'seq_len'"), starting from `base`.
train::RunConfig config_of(const py::dict& options, train::RunConfig base = {}) {
  for (const auto& [k, v] : options) {
    const std::string name = py::str(k);
    train::set_option(base, name, to_json(v, name), "keyword '" + name + "'");
  }
  return base;
}

// A vector's storage handed to numpy without a copy: the array owns the moved vector.
template <typename T>
py::array_t<T> to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto* owner = new std::vector<T>(std::move(v));
  py::capsule free(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owner->data(), free);
}

using Int64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Times as seconds since 1970 UTC: `t` holds seconds, or nanoseconds when `nanoseconds` (numpy's
// datetime64[ns] viewed as int64: NaT is INT64_MIN, and a time must be a whole second).
std::vector<int64_t> to_seconds(const Int64Array& t, bool nanoseconds, const std::string& source,
                                const std::string& column) {
  ATTEND_CHECK(t.ndim() == 1, "{}: the times must be one-dimensional, got {} dims", source,
               t.ndim());
  const int64_t* p = t.data();
  std::vector<int64_t> out(p, p + t.shape(0));
  if (!nanoseconds) return out;
  constexpr int64_t kNs = 1'000'000'000;
  for (size_t r = 0; r < out.size(); ++r) {
    ATTEND_CHECK(out[r] != std::numeric_limits<int64_t>::min(),
                 "{}:{}: column '{}': missing time (NaT)", source, r, column);
    ATTEND_CHECK(out[r] % kNs == 0,
                 "{}:{}: column '{}': {} ns after 1970 has a fraction of a second (attend's "
                 "times are whole seconds)",
                 source, r, column, out[r]);
    out[r] /= kNs;
  }
  return out;
}

// A table from a DataFrame's (or numpy arrays') columns: times int64 (rows) in seconds, or
// nanoseconds when `nanoseconds`; values float64 (rows, columns); ids (rows) or None for wide
// data. NaN is a missing value.
data::CsvTable make_table(const std::string& source, const std::string& time_column,
                          const std::string& id_column, const std::vector<std::string>& columns,
                          const Int64Array& times, const DoubleArray& values,
                          const std::optional<std::vector<std::string>>& ids, bool nanoseconds) {
  data::TableColumns in;
  in.timestamps = to_seconds(times, nanoseconds, source, time_column);
  const auto rows = static_cast<py::ssize_t>(in.timestamps.size());
  const auto cols = static_cast<py::ssize_t>(columns.size());
  ATTEND_CHECK(
      values.ndim() == 2 && values.shape(0) == rows && values.shape(1) == cols,
      "{}: values of shape ({}) for {} rows of {} columns", source,
      fmt::join(std::vector<py::ssize_t>(values.shape(), values.shape() + values.ndim()), ", "),
      rows, cols);
  in.source = source;
  in.time_column = time_column;
  in.id_column = ids ? id_column : "";
  in.columns = columns;
  in.values.assign(values.data(), values.data() + rows * cols);
  if (ids) in.ids = *ids;
  data::CsvOptions options;
  options.allow_missing = true;  // missing values follow the run's --missing, as the CSV reader
  return data::make_table(std::move(in), options);
}

// ---- running work the user may interrupt --------------------------------------------------------

// Runs `work` on a worker thread with the GIL released while the calling thread checks Python's
// signal handlers every 50 ms (they only run on the main thread). When one raises (Ctrl-C:
// KeyboardInterrupt), `stop` is set, the work is awaited (the library stops at its next batch or
// cut-off boundary, its state saved) and the exception is raised again, with `interrupted(result)`
// as its message when that gives one.
template <typename Work, typename Message>
auto run_stoppable(std::atomic<bool>& stop, Work work, Message interrupted) {
  // The worker, and the OpenMP threads it starts, never take Ctrl-C (only Python's main thread)
  auto future = std::async(std::launch::async, [work = std::move(work)]() mutable {
    block_stop_signals();
    return work();
  });
  for (;;) {
    {
      py::gil_scoped_release nogil;
      if (future.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready) break;
    }
    if (PyErr_CheckSignals() != 0) {
      py::error_already_set raised;  // takes the pending exception
      stop = true;
      {
        py::gil_scoped_release nogil;
        future.wait();
      }
      std::string message;
      try {
        message = interrupted(future.get());
      } catch (...) {
        // the work failed while stopping: the interruption is what the user asked for
      }
      if (raised.matches(PyExc_KeyboardInterrupt) && !message.empty()) {
        PyErr_SetString(PyExc_KeyboardInterrupt, message.c_str());
        throw py::error_already_set();
      }
      throw raised;
    }
  }
  return future.get();
}

ContextOptions context_options(int threads, int64_t seed) {
  ATTEND_CHECK(threads >= 0, "threads must be >= 0 (0: all cores), got {}", threads);
  ContextOptions o;
  o.threads = threads;
  o.seed = static_cast<uint64_t>(seed);
  return o;
}

std::function<void(const std::string&)> logger(bool verbose) {
  if (!verbose) return {};
  return [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
}

// ---- the entry points ---------------------------------------------------------------------------

// The options after the checks, as config.json writes them.
py::object check_options(const py::dict& options) {
  const train::ValidConfig valid(config_of(options));
  return to_python(train::run_config_to_json(*valid));
}

py::object metrics_dict(const train::Metrics& m) {
  return to_python(train::metrics_to_json(m));
}

// Trains and tests into the run folder (checkpoints/<setting>); returns the folder and metrics.
py::dict fit(const py::dict& options, const data::CsvTable& table, int threads, bool verbose,
             bool resume) {
  const train::ValidConfig cfg(config_of(options));
  std::atomic<bool> stop{false};
  auto work = [&cfg, &table, &stop, threads, verbose, resume] {
    Context ctx(context_options(threads, cfg->train.seed));
    train::ProgressPrinter progress(stderr, false);
    train::ExperimentOptions o;
    o.resume = resume;
    o.stop = &stop;
    o.table = &table;
    o.log = logger(verbose);
    if (verbose) o.callbacks = progress.callbacks();
    return train::train_and_test(cfg, ctx, o);
  };
  const train::ExperimentResult r = run_stoppable(stop, work, [](const train::ExperimentResult& r) {
    return r.interrupted ? "fit interrupted: the state is saved in " + r.dir +
                               "/resume; fit(..., resume=True) continues"
                         : std::string();
  });
  py::dict out;
  out["dir"] = r.dir;
  out["metrics"] = metrics_dict(r.metrics);
  out["epochs_run"] = r.train.epochs_run;
  out["early_stopped"] = r.train.early_stopped;
  return out;
}

// Test metrics of a checkpoint folder on `table`'s test split (the checkpoint's configuration,
// `options` over it: data flags such as inverse).
py::object test(const std::string& dir, const data::CsvTable& table, const py::dict& options,
                int threads) {
  const train::CheckpointInfo info = train::read_checkpoint(dir);
  const train::ValidConfig cfg(config_of(options, train::resolved_config(info)));
  std::atomic<bool> stop{false};
  const train::Metrics m = run_stoppable(
      stop,
      [&] {
        Context ctx(context_options(threads, cfg->train.seed));
        return train::test_weights(cfg, dir, ctx, &table);
      },
      [](const train::Metrics&) { return std::string(); });
  return metrics_dict(m);
}

// A checkpoint loaded once, with its own context, for repeated forecasts.
class PyPredictor {
 public:
  PyPredictor(const std::string& dir, int threads)
      : info_(train::read_checkpoint(dir)),
        ctx_(context_options(threads, info_.config.train.seed)),
        predictor_(info_, ctx_) {}

  // Forecast arrays: ids (rows) or None, timestamps int64 (rows), columns, values float32
  // (rows, K), levels, quantiles float32 (rows, K, Q) or None.
  py::dict forecast(const data::CsvTable& input, const std::vector<std::string>& ids,
                    const data::CsvTable* future) {
    train::ForecastTable t;
    {
      py::gil_scoped_release nogil;
      const std::lock_guard<std::mutex> one_at_a_time(mutex_);
      t = predictor_.forecast(input, ids, future);
    }
    const auto rows = static_cast<py::ssize_t>(t.timestamps.size());
    const auto K = static_cast<py::ssize_t>(t.columns.size());
    const auto Q = static_cast<py::ssize_t>(t.levels.size());
    py::dict out;
    out["id_column"] = t.id_column;
    out["time_column"] = t.time_column;
    out["ids"] = t.ids.empty() ? py::object(py::none()) : py::cast(t.ids);
    out["timestamps"] = to_numpy(std::move(t.timestamps), {rows});
    out["columns"] = t.columns;
    out["values"] = to_numpy(std::move(t.values), {rows, K});
    out["levels"] = t.levels;
    out["quantiles"] = Q == 0 ? py::object(py::none())
                              : py::object(to_numpy(std::move(t.quantiles), {rows, K, Q}));
    return out;
  }

  // The numpy fast path: one wide series, `values` (T, K) of the model's columns in order at
  // `times` (as make_table), to (forecast columns, timestamps (h,), values (h, K), quantiles
  // (h, K, Q) or None).
  py::tuple forecast_wide(const DoubleArray& values, const Int64Array& times, bool nanoseconds) {
    const data::CsvTable input =
        make_table("array", "ds", "", info_.columns, times, values, std::nullopt, nanoseconds);
    train::ForecastTable t;
    {
      py::gil_scoped_release nogil;
      const std::lock_guard<std::mutex> one_at_a_time(mutex_);
      t = predictor_.forecast(input);
    }
    const auto rows = static_cast<py::ssize_t>(t.timestamps.size());
    const auto K = static_cast<py::ssize_t>(t.columns.size());
    const auto Q = static_cast<py::ssize_t>(t.levels.size());
    return py::make_tuple(t.columns, to_numpy(std::move(t.timestamps), {rows}),
                          to_numpy(std::move(t.values), {rows, K}),
                          Q == 0 ? py::object(py::none())
                                 : py::object(to_numpy(std::move(t.quantiles), {rows, K, Q})));
  }

  // Seconds of each of `repeats` forecasts of `input` timed in C++ (no Python between them): the
  // library's own cost, against which bench/python_overhead.py measures the Python layer's.
  std::vector<double> time_forecast(const data::CsvTable& input, int64_t repeats) {
    py::gil_scoped_release nogil;
    const std::lock_guard<std::mutex> one_at_a_time(mutex_);
    std::vector<double> seconds;
    for (int64_t i = 0; i < repeats; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const train::ForecastTable t = predictor_.forecast(input);
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return seconds;
  }

  const train::CheckpointInfo& info() const { return info_; }

 private:
  std::mutex mutex_;  // the model and context serve one forecast at a time
  train::CheckpointInfo info_;
  Context ctx_;
  train::Predictor predictor_;
};

// Rolling-origin evaluation (attend backtest) as arrays for a DataFrame: one row per forecast
// step of every window; `options` are run flags (refit N) or data flags (refit 0).
py::dict backtest(const std::string& checkpoint, const py::dict& options,
                  const data::CsvTable& table, int64_t n_windows, int64_t step, int64_t refit,
                  int threads, bool verbose) {
  train::RunConfig base;
  if (!checkpoint.empty()) base = train::resolved_config(train::read_checkpoint(checkpoint));
  const train::ValidConfig cfg(config_of(options, base));
  std::atomic<bool> stop{false};
  auto work = [&] {
    Context ctx(context_options(threads, cfg->train.seed));
    train::ProgressPrinter progress(stderr, false);
    train::BacktestOptions o;
    o.n_windows = n_windows;
    o.step = step;
    o.refit = refit;
    o.checkpoint = checkpoint;
    o.stop = &stop;
    o.table = &table;
    o.log = logger(verbose);
    if (verbose) o.callbacks = progress.callbacks();
    return train::backtest(cfg, o, ctx);
  };
  train::BacktestResult r = run_stoppable(stop, work, [](const train::BacktestResult& r) {
    return fmt::format("cross_validation interrupted after {} windows", r.windows.size());
  });
  const size_t K = r.columns.size();
  std::vector<std::string> ids;
  std::vector<int64_t> cutoff, times;
  std::vector<float> forecast, actual;
  for (const train::BacktestWindow& w : r.windows) {
    for (size_t t = 0; t < w.times.size(); ++t) {
      if (r.long_format()) ids.push_back(r.series_ids[w.series]);
      cutoff.push_back(w.origin);
      times.push_back(w.times[t]);
      for (size_t k = 0; k < K; ++k) {
        const size_t i = t * K + k;
        forecast.push_back(w.forecast[i]);
        const bool seen = w.observed.empty() || w.observed[i];
        actual.push_back(seen ? w.actual[i] : std::numeric_limits<float>::quiet_NaN());
      }
    }
  }
  const auto rows = static_cast<py::ssize_t>(times.size());
  py::dict out;
  out["id_column"] = r.id_column;
  out["time_column"] = r.time_column;
  out["ids"] = r.long_format() ? py::cast(ids) : py::object(py::none());
  out["cutoff"] = to_numpy(std::move(cutoff), {rows});
  out["timestamps"] = to_numpy(std::move(times), {rows});
  out["columns"] = r.columns;
  out["forecast"] = to_numpy(std::move(forecast), {rows, static_cast<py::ssize_t>(K)});
  out["actual"] = to_numpy(std::move(actual), {rows, static_cast<py::ssize_t>(K)});
  out["metrics"] = to_python(train::backtest_metrics_json(r));
  return out;
}

// attend explain into `out`: returns the report path, the files, the window and its origin.
py::dict explain(const std::string& dir, const data::CsvTable& table, const std::string& out,
                 std::optional<int64_t> index, const std::string& date, int threads) {
  const train::CheckpointInfo info = train::read_checkpoint(dir);
  const train::ValidConfig cfg(train::resolved_config(info));
  std::atomic<bool> stop{false};
  auto work = [&] {
    Context ctx(context_options(threads, cfg->train.seed));
    explain::ExplainOptions o;
    o.out = out;
    o.index = index;
    o.date = date;
    o.table = &table;
    o.stop = &stop;
    return explain::explain_checkpoint(dir, cfg, o, ctx);
  };
  const explain::ExplainResult r =
      run_stoppable(stop, work, [](const explain::ExplainResult&) { return std::string(); });
  py::dict d;
  d["report"] = r.report;
  d["files"] = r.files;
  d["window"] = r.window;
  d["origin"] = r.origin;
  return d;
}

// Copies a run folder's checkpoint files (not resume/) to `dst`, replacing it in one step.
void save_checkpoint(const std::string& src, const std::string& dst) {
  (void)train::read_checkpoint(src);  // a complete checkpoint, or an error naming what is missing
  const fs::path parent = fs::absolute(dst).parent_path();
  if (!fs::exists(parent)) fs::create_directories(parent);
  train::write_folder_atomic(dst, [&](const std::string& tmp) {
    for (const auto& e : fs::directory_iterator(src))
      if (e.is_regular_file()) fs::copy_file(e.path(), fs::path(tmp) / e.path().filename());
  });
}

}  // namespace
}  // namespace attend::python

void bind_forecaster(py::module_& m) {
  namespace data = attend::data;
  namespace train = attend::train;
  using namespace attend::python;  // NOLINT
  py::class_<data::CsvTable>(m, "Table", "A time-series table held by the library")
      .def_property_readonly("rows", &data::CsvTable::rows)
      .def_readonly("columns", &data::CsvTable::columns)
      .def_readonly("source", &data::CsvTable::source)
      .def_readonly("time_column", &data::CsvTable::time_column)
      .def_readonly("id_column", &data::CsvTable::id_column)
      .def_readonly("missing", &data::CsvTable::missing);
  m.def("make_table", &make_table, py::arg("source"), py::arg("time_column"), py::arg("id_column"),
        py::arg("columns"), py::arg("times"), py::arg("values"), py::arg("ids") = py::none(),
        py::arg("nanoseconds") = false);
  m.def("read_table",
        [](const std::string& path, const std::string& time_col, const std::string& id_col) {
          data::CsvOptions o;
          o.time_col = time_col;
          o.id_col = id_col;
          o.allow_missing = true;
          return data::read_csv(path, o);
        });
  m.def("quantile_column", &train::quantile_column, py::arg("column"), py::arg("level"));
  m.def("check_options", &check_options, py::arg("options"));
  m.def("fit", &fit, py::arg("options"), py::arg("table"), py::arg("threads") = 0,
        py::arg("verbose") = true, py::arg("resume") = false);
  m.def("test", &test, py::arg("checkpoint"), py::arg("table"), py::arg("options") = py::dict(),
        py::arg("threads") = 0);
  m.def("backtest", &backtest, py::arg("checkpoint"), py::arg("options"), py::arg("table"),
        py::arg("n_windows"), py::arg("step"), py::arg("refit"), py::arg("threads") = 0,
        py::arg("verbose") = true);
  m.def("explain", &explain, py::arg("checkpoint"), py::arg("table"), py::arg("out"),
        py::arg("index") = py::none(), py::arg("date") = "", py::arg("threads") = 0);
  m.def("save_checkpoint", &save_checkpoint, py::arg("src"), py::arg("dst"));
  py::class_<PyPredictor>(m, "Predictor", "A checkpoint loaded for repeated forecasts")
      .def(py::init<const std::string&, int>(), py::arg("checkpoint"), py::arg("threads") = 0)
      .def("forecast", &PyPredictor::forecast, py::arg("input"),
           py::arg("ids") = std::vector<std::string>{}, py::arg("future") = nullptr)
      .def("forecast_wide", &PyPredictor::forecast_wide, py::arg("values"), py::arg("times"),
           py::arg("nanoseconds"))
      .def("time_forecast", &PyPredictor::time_forecast, py::arg("input"), py::arg("repeats"))
      .def_property_readonly("config",
                             [](const PyPredictor& p) {
                               return to_python(train::run_config_to_json(p.info().config));
                             })
      .def_property_readonly("columns", [](const PyPredictor& p) { return p.info().columns; })
      .def_property_readonly("series_ids", [](const PyPredictor& p) { return p.info().series_ids; })
      .def_property_readonly("id_column", [](const PyPredictor& p) { return p.info().id_column; })
      .def_property_readonly("time_column",
                             [](const PyPredictor& p) { return p.info().time_column; })
      .def_property_readonly("dir", [](const PyPredictor& p) { return p.info().dir; });
}
