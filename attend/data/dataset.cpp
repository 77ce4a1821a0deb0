#include "attend/data/dataset.h"

#include <array>
#include <filesystem>

#include "attend/tensor/error.h"

namespace attend::data {
namespace {

enum class Protocol { EttHour, EttMinute, Custom };

Protocol protocol_of(const std::string& data) {
  if (data == "ETTh1" || data == "ETTh2") return Protocol::EttHour;
  if (data == "ETTm1" || data == "ETTm2") return Protocol::EttMinute;
  if (data == "custom") return Protocol::Custom;
  fail("[data] unknown --data '{}' (forecasting supports ETTh1, ETTh2, ETTm1, ETTm2, custom)",
       data);
}

// Preconditions for callers of the data layer itself (the run options are checked before).
void validate(const DataConfig& d, const SampleConfig& c) {
  ATTEND_CHECK(d.features == "M" || d.features == "S" || d.features == "MS",
               "[data] --features must be M, S or MS, got '{}'", d.features);
  ATTEND_CHECK(c.seq_len >= 1, "[data] --seq_len must be >= 1, got {}", c.seq_len);
  ATTEND_CHECK(c.pred_len >= 1, "[data] --pred_len must be >= 1, got {}", c.pred_len);
  ATTEND_CHECK(c.label_len >= 0 && c.label_len <= c.seq_len,
               "[data] --label_len must be in [0, seq_len = {}], got {}", c.seq_len, c.label_len);
  ATTEND_CHECK(c.embed == "timeF" || c.embed == "fixed" || c.embed == "learned",
               "[data] --embed must be timeF, fixed or learned, got '{}'", c.embed);
  parse_date_order(d.date_format);
}

}  // namespace

const ForecastSplit& ForecastData::split(std::string_view name) const {
  if (name == "train") return train;
  if (name == "val" || name == "vali") return val;
  if (name == "test") return test;
  fail("[data] unknown split '{}' (train, val, test)", name);
}

ForecastData load_forecast_data(const DataConfig& config, const SampleConfig& sample) {
  validate(config, sample);
  protocol_of(config.data);
  const std::string path = (std::filesystem::path(config.root_path) / config.data_path).string();
  return make_forecast_data(read_csv(path, parse_date_order(config.date_format)), config, sample);
}

ForecastData make_forecast_data(const CsvTable& table, const DataConfig& config,
                                const SampleConfig& sample) {
  validate(config, sample);
  const Protocol protocol = protocol_of(config.data);
  const std::string& src = table.source;
  ForecastData out;
  out.config = config;
  out.sample = sample;
  out.source = src;

  // ---- columns: ETT keeps file order; custom moves the target last (Dataset_Custom) ----------
  const int64_t target_col = table.column_index(config.target);
  const bool need_target = protocol == Protocol::Custom || config.features != "M";
  if (need_target && target_col < 0)
    fail("{}:1: column '{}': target column not found (columns: {})", src, config.target,
         fmt::join(table.columns, ", "));
  std::vector<int64_t> pick;
  if (config.features == "S") {
    pick.push_back(target_col);
  } else if (protocol == Protocol::Custom) {
    for (int64_t c = 0; c < table.cols(); ++c)
      if (c != target_col) pick.push_back(c);
    pick.push_back(target_col);
  } else {
    for (int64_t c = 0; c < table.cols(); ++c) pick.push_back(c);
  }
  const int64_t C = static_cast<int64_t>(pick.size());
  ATTEND_CHECK(C > 0, "{}: no numeric columns besides 'date'", src);
  for (int64_t k = 0; k < C; ++k) {
    out.columns.push_back(table.columns[pick[k]]);
    if (pick[k] == target_col) out.target_index = k;
  }

  // ---- frequency and marks --------------------------------------------------------------------
  const bool infer = sample.freq.empty() || sample.freq == "auto";
  out.spacing = spacing_of(table.timestamps);
  const Frequency freq = !infer        ? parse_freq(sample.freq)
                         : out.spacing ? *out.spacing
                                       : infer_freq(table.timestamps, src, table.lines);
  out.freq_kind = time_feature_kind(freq.kind);
  out.freq = std::string(1, freq_letter(freq.kind));
  out.timeenc = sample.embed == "timeF" ? 1 : 0;
  // TSLib adds minute // 15 for Dataset_ETT_minute; we also add it for freq 't' (TSLib's
  // TemporalEmbedding reads a fifth column then, which Dataset_Custom would not provide).
  const bool with_minute = protocol == Protocol::EttMinute || freq.kind == FreqKind::Minute;
  if (out.timeenc == 1)
    out.mark_names = time_feature_names(out.freq_kind);
  else {
    out.mark_names = {"month", "day", "weekday", "hour"};
    if (with_minute) out.mark_names.push_back("minute");
  }
  const int64_t F = out.mark_dim();

  // ---- borders ---------------------------------------------------------------------------------
  const int64_t n = table.rows();
  const int64_t seq = sample.seq_len;
  std::array<int64_t, 3> b1{}, b2{};
  if (protocol == Protocol::Custom) {
    const int64_t num_train = static_cast<int64_t>(static_cast<double>(n) * 0.7);
    const int64_t num_test = static_cast<int64_t>(static_cast<double>(n) * 0.2);
    const int64_t num_vali = n - num_train - num_test;
    b1 = {0, num_train - seq, n - num_test - seq};
    b2 = {num_train, num_train + num_vali, n};
  } else {
    const int64_t m = protocol == Protocol::EttMinute ? 4 : 1;
    const int64_t month = 30 * 24 * m;
    b1 = {0, 12 * month - seq, 12 * month + 4 * month - seq};
    b2 = {12 * month, 12 * month + 4 * month, 12 * month + 8 * month};
  }
  static const char* names[3] = {"train", "val", "test"};
  for (int s = 0; s < 3; ++s) {
    b2[s] = std::min(b2[s], n);  // pandas slicing stops at the end of the table
    const int64_t rows = std::max<int64_t>(0, b2[s] - std::max<int64_t>(b1[s], 0));
    if (b1[s] < 0 || rows - seq - sample.pred_len + 1 < 1)
      fail(
          "{}: too few rows for the {} split: rows [{}, {}) of {} give {} rows, but seq_len {} + "
          "pred_len {} need at least {}",
          src, names[s], b1[s], b2[s], n, rows, seq, sample.pred_len, seq + sample.pred_len);
  }

  // ---- scaler on the train rows of the selected columns
  // ------------------------------------------
  std::vector<double> selected(static_cast<size_t>(n * C));
  for (int64_t r = 0; r < n; ++r) {
    const double* row = table.values.data() + r * table.cols();
    for (int64_t k = 0; k < C; ++k) selected[r * C + k] = row[pick[k]];
  }
  if (config.scale) out.scaler.fit(selected.data() + b1[0] * C, b2[0] - b1[0], C, out.columns);

  ForecastSplit* splits[3] = {&out.train, &out.val, &out.test};
  for (int s = 0; s < 3; ++s) {
    ForecastSplit& sp = *splits[s];
    sp.name = names[s];
    sp.begin = b1[s];
    sp.end = b2[s];
    sp.rows = b2[s] - b1[s];
    sp.channels = C;
    sp.mark_dim = F;
    sp.seq_len = seq;
    sp.label_len = sample.label_len;
    sp.pred_len = sample.pred_len;
    sp.data.resize(static_cast<size_t>(sp.rows * C));
    const double* from = selected.data() + sp.begin * C;
    if (config.scale)
      out.scaler.transform(from, sp.rows, C, sp.data.data());
    else
      for (int64_t i = 0; i < sp.rows * C; ++i) sp.data[i] = static_cast<float>(from[i]);
    sp.timestamps.assign(table.timestamps.begin() + sp.begin, table.timestamps.begin() + sp.end);
    sp.marks = out.timeenc == 1 ? time_features(sp.timestamps.data(), sp.rows, out.freq_kind)
                                : time_marks_fixed(sp.timestamps.data(), sp.rows, with_minute);
  }
  return out;
}

}  // namespace attend::data
