// The explain pipeline: capture, statistics, pictures, report — over what the model says about
// itself (models::ModelDescription); nothing here knows a model by name or class.
#include "attend/explain/explain.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "attend/autograd/node.h"
#include "attend/data/csv.h"
#include "attend/data/loader.h"
#include "attend/explain/npy.h"
#include "attend/explain/plot.h"
#include "attend/explain/stats.h"
#include "attend/io/atomic_file.h"
#include "attend/io/state_dict.h"
#include "attend/nn/attention.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"

namespace fs = std::filesystem;

namespace attend::explain {

namespace {

using models::AttentionLayerInfo;
using models::TokenAxis;
using nn::AttentionRole;

// Tokens along one side of an attention map.
struct Axis {
  std::vector<std::string> labels;
  std::vector<double> pos;  // time steps relative to the forecast origin (last input = -1);
                            // empty when tokens are not time (variables)
  std::string title;
};

// How a role is named and drawn.
struct RoleStyle {
  const char* file;    // in file and layer names
  const char* title;   // heat map titles
  const char* phrase;  // "(<phrase>, heads averaged)"
  uint32_t color;      // bars
};

const RoleStyle& role_style(AttentionRole r) {
  static const RoleStyle encoder{"encoder-self", "Encoder self-attention", "encoder self",
                                 0x3b6ea5};
  static const RoleStyle decoder{"decoder-self", "Decoder self-attention", "decoder self",
                                 0x4c9a5b};
  static const RoleStyle cross{"cross", "Cross-attention (decoder queries, encoder keys)", "cross",
                               0xd9822b};
  switch (r) {
    case AttentionRole::EncoderSelf:
      return encoder;
    case AttentionRole::DecoderSelf:
      return decoder;
    default:
      return cross;
  }
}

std::string safe_name(const std::string& s) {
  std::string o;
  for (char c : s) o += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return o;
}

bool daily(const std::string& freq) {
  return freq == "d" || freq == "b" || freq == "w" || freq == "m" || freq == "q" || freq == "a";
}

std::string short_time(int64_t ts, bool day) {
  const std::string s = data::format_timestamp(ts);  // YYYY-MM-DD HH:MM:SS
  return day ? s.substr(0, 10) : s.substr(5, 11);
}

// The rows of one window as a batch of one.
data::Batch window_batch(const data::ForecastSplit& sp, int64_t w, Context& ctx) {
  const int64_t L = sp.seq_len, Ly = sp.y_len(), C = sp.channels, F = sp.mark_dim;
  auto take = [&](const float* p, int64_t rows, int64_t cols) {
    return Tensor::from_vector(std::vector<float>(p, p + rows * cols), {1, rows, cols}, ctx);
  };
  data::Batch b;
  b.x_enc = take(sp.seq_x(w), L, C);
  b.x_mark_enc = take(sp.seq_x_mark(w), L, F);
  b.y = take(sp.seq_y(w), Ly, C);
  b.y_mark = take(sp.seq_y_mark(w), Ly, F);
  b.indices = {w};
  return b;
}

struct Forward {
  Tensor out;        // (B, >= P, c_out)
  Tensor quantiles;  // quantile models: (B, P, c_out, Q)
};

// One forward as the trainer feeds the model (TSLib's exp), under no grad.
Forward run_model(models::ForecastModel& model, const data::Batch& b, const train::RunConfig& cfg) {
  NoGradGuard guard;
  const int64_t Lb = cfg.model.label_len;
  Tensor x_dec, xm, ym;
  if (model.uses_decoder_input()) x_dec = models::decoder_input(b.y, Lb, cfg.model.known_columns);
  if (model.uses_time_marks()) xm = b.x_mark_enc, ym = b.y_mark;
  Forward f;
  if (model.config().quantiles.empty()) {
    f.out = model.forecast(b.x_enc, xm, x_dec, ym);
  } else {
    f.quantiles = models::sorted_quantiles(model.forecast_quantiles(b.x_enc, xm, x_dec, ym));
    f.out = select(f.quantiles, 3, model.median_index());
  }
  return f;
}

Matrix to_matrix(const std::vector<float>& v, int64_t rows, int64_t cols, int64_t offset = 0) {
  Matrix m(rows, cols);
  for (int64_t i = 0; i < rows * cols; ++i) m.v[i] = v[offset + i];
  return m;
}

std::string md_table(const std::vector<std::string>& head,
                     const std::vector<std::vector<std::string>>& rows) {
  std::string s = "|";
  for (const auto& h : head) s += " " + h + " |";
  s += "\n|";
  for (size_t i = 0; i < head.size(); ++i) s += i == 0 ? "---|" : "---:|";
  s += "\n";
  for (const auto& r : rows) {
    s += "|";
    for (const auto& c : r) s += " " + c + " |";
    s += "\n";
  }
  return s;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

std::string fmt_num(double v, int digits = 3) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a";
}

std::vector<double> normalise(std::vector<double> v) {
  double s = 0;
  for (double x : v) s += x;
  if (s > 0)
    for (double& x : v) x /= s;
  return v;
}

// Mean over time of batch row 0 of selection weights (B, T, n) -> (n); empty when undefined.
std::vector<double> first_row_mean(const Tensor& t) {
  std::vector<double> out;
  if (!t.defined()) return out;
  const int64_t T = t.size(1), n = t.size(2);
  const auto v = t.contiguous_data().to_vector<float>();
  out.assign(n, 0.0);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < n; ++j) out[j] += v[i * n + j] / T;
  return out;
}

// One captured attention map with what the model says about it.
struct Layer {
  nn::CapturedAttention map;  // weights (B, H, Lq, Lk)
  AttentionLayerInfo info;
  int index = 0;     // among the layers of its role
  std::string name;  // "<role>_L<index>"
  Axis queries, keys;
};

// A heat map in the report.
struct Shown {
  std::string title, png;
  std::vector<std::string> heads;  // per-head pngs
};

// Averages over the test set.
struct TestSetStats {
  std::vector<HeadStatsAccumulator> heads;     // per layer
  std::vector<std::vector<double>> selection;  // per selection group: mean weight per variable
  int64_t batches = 0;
};

// Per-head statistics as written and drawn.
struct HeadReport {
  std::string unit;                             // of distance
  std::string distance_png, entropy_png;        // distance_png empty when tokens are not time
  std::vector<std::vector<std::string>> table;  // layer, module, head, distance, entropy, ln Lk
};

// What mattered for the forecast.
struct Importance {
  std::string word;  // under the input: "rollout" or "attention"; empty: drawn as variable bars
  std::string note, rollout_png, variables_png;
};

class Explainer {
 public:
  Explainer(models::ForecastModel& model, const data::ForecastData& data,
            const train::RunConfig& cfg, const ExplainOptions& o, Context& ctx, int64_t window)
      : model_(model),
        info_(models::model_info(model.config().model)),
        desc_(model.describe()),
        data_(data),
        test_(data.test),
        cfg_(cfg),
        o_(o),
        ctx_(ctx),
        w_(window),
        L_(cfg.model.seq_len),
        P_(cfg.model.pred_len),
        C_(data.channels()),
        f0_(cfg.data.features == "MS" ? C_ - 1 : 0),
        day_(daily(data.freq)),
        when_(data::format_timestamp(test_.timestamps[w_ + L_ - 1])) {}

  ExplainResult run();

 private:
  // Whether options.stop asks to stop; records it in the result.
  bool stopped() {
    if (o_.stop && o_.stop->load()) res_.interrupted = true;
    return res_.interrupted;
  }
  void log(const std::string& s) const {
    if (o_.log) o_.log(s);
  }
  std::string path(const std::string& rel) const { return (fs::path(o_.out) / rel).string(); }
  void wrote(const std::string& rel) { res_.files.push_back(path(rel)); }
  // Writes png and svg; returns the png's path.
  std::string save(const Figure& f, const std::string& rel) {
    auto files = save_figure(f, path(rel));
    res_.files.insert(res_.files.end(), files.begin(), files.end());
    return files[0];
  }
  // Label of row `row` of the window (0 = oldest input, L = first forecast step).
  std::string time_label(int64_t row) const { return short_time(test_.timestamps[w_ + row], day_); }
  // What a key token is: patches, variables, or time steps of some kind.
  TokenAxis tokens() const { return desc_.attention.front().keys; }

  Axis axis(TokenAxis t, int64_t n) const;
  std::vector<Layer> layers(const std::vector<nn::CapturedAttention>& maps) const;
  std::vector<Shown> draw_maps(const std::vector<Layer>& layers);
  TestSetStats test_set_stats(nn::AttentionCapture& capture, const std::vector<Layer>& layers);
  HeadReport head_stats(const std::vector<Layer>& layers, const TestSetStats& stats);
  std::vector<Panel> forecast_panels(const Forward& fw) const;
  std::vector<Matrix> head_averages(const std::vector<Layer>& layers, AttentionRole role,
                                    int64_t row) const;
  Importance attention_importance(std::vector<Panel>& panels, const std::vector<Layer>& layers);
  Importance patch_rollout(std::vector<Panel>& panels, const std::vector<Layer>& layers);
  Importance variable_rollout(const std::vector<Layer>& layers);
  Importance time_rollout(std::vector<Panel>& panels, const std::vector<Layer>& layers);
  Importance what_mattered(std::vector<Panel>& panels, const std::vector<Layer>& layers);
  std::vector<std::pair<std::string, std::string>> selection(
      const std::vector<models::VariableSelection>& window, const TestSetStats& stats);
  void report(const std::string& forecast_png, const Importance& importance,
              const std::vector<std::pair<std::string, std::string>>& selection_pngs,
              const HeadReport& heads, const std::vector<Shown>& shown);

  models::ForecastModel& model_;
  const models::ModelInfo& info_;
  const models::ModelDescription desc_;
  const data::ForecastData& data_;
  const data::ForecastSplit& test_;
  const train::RunConfig& cfg_;
  const ExplainOptions& o_;
  Context& ctx_;
  const int64_t w_, L_, P_, C_, f0_;  // window, seq_len, pred_len, variables, first shown one
  const bool day_;                    // daily or coarser: dates without times
  const std::string when_;            // forecast origin
  std::vector<std::pair<double, std::string>> ticks_;  // time axis of the forecast panels
  ExplainResult res_;
};

Axis Explainer::axis(TokenAxis t, int64_t n) const {
  Axis a;
  switch (t) {
    case TokenAxis::InputSteps: {  // distilled when n < L
      a.title = n == L_ ? "input time step" : fmt::format("encoder token (≈{} steps each)", L_ / n);
      const double scale = static_cast<double>(L_) / static_cast<double>(n);
      for (int64_t k = 0; k < n; ++k) {
        const double centre = k * scale + (scale - 1) / 2;
        a.pos.push_back(centre - L_);
        const int64_t row = std::min<int64_t>(L_ - 1, static_cast<int64_t>(std::floor(k * scale)));
        a.labels.push_back((n == L_ ? "" : "≈") + time_label(row));
      }
      break;
    }
    case TokenAxis::DecoderSteps:
      a.title = "decoder time step";
      for (int64_t k = 0; k < n; ++k) {
        const int64_t s = L_ - (n - P_) + k;  // decoder rows end at the last forecast step
        a.pos.push_back(static_cast<double>(s - L_));
        a.labels.push_back(time_label(s));
      }
      break;
    case TokenAxis::ForecastSteps:
      a.title = "forecast step";
      for (int64_t i = 0; i < n; ++i)
        a.pos.push_back(static_cast<double>(i)), a.labels.push_back(time_label(L_ + i));
      break;
    case TokenAxis::WindowSteps:
      a.title = "time step (history, then future)";
      for (int64_t j = 0; j < n; ++j)
        a.pos.push_back(static_cast<double>(j - L_)), a.labels.push_back(time_label(j));
      break;
    case TokenAxis::Patches: {
      const int64_t len = desc_.patch_len, stride = desc_.patch_stride;
      a.title = fmt::format("patch (len {}, stride {})", len, stride);
      for (int64_t p = 0; p < n; ++p) {
        a.pos.push_back(static_cast<double>(p * stride - L_));
        const int64_t first = L_ - p * stride, last = std::max<int64_t>(1, first - len + 1);
        a.labels.push_back(fmt::format("t-{}…t-{}", first, last));
      }
      break;
    }
    case TokenAxis::Variables:
      a.title = "variable token";
      for (int64_t k = 0; k < n; ++k)
        a.labels.push_back(k < C_                      ? data_.columns[k]
                           : k - C_ < data_.mark_dim() ? "time:" + data_.mark_names[k - C_]
                                                       : std::to_string(k));
      break;
  }
  return a;
}

std::vector<Layer> Explainer::layers(const std::vector<nn::CapturedAttention>& maps) const {
  std::vector<Layer> out;
  std::map<AttentionRole, int> role_count;
  for (const auto& m : maps) {
    const auto described = std::find_if(
        desc_.attention.begin(), desc_.attention.end(), [&](const AttentionLayerInfo& i) {
          return i.role == m.role && m.layer.rfind(i.prefix, 0) == 0;
        });
    ATTEND_CHECK(described != desc_.attention.end(),
                 "[explain] model {} does not describe its attention layer {} ({})",
                 model_.config().model, m.layer, nn::attention_role_name(m.role));
    Layer l;
    l.map = m;
    l.info = *described;
    l.index = role_count[m.role]++;
    l.name = fmt::format("{}_L{}", role_style(m.role).file, l.index);
    l.queries = axis(l.info.queries, m.weights.size(2));
    l.keys = axis(l.info.keys, m.weights.size(3));
    out.push_back(std::move(l));
  }
  return out;
}

// Raw weights (npy, json) and heat maps (mean of heads, each head) of every layer.
std::vector<Shown> Explainer::draw_maps(const std::vector<Layer>& layers) {
  std::vector<Shown> shown;
  for (const Layer& l : layers) {
    const Tensor& wt = l.map.weights;
    const int64_t R = wt.size(0), H = wt.size(1), Lq = wt.size(2), Lk = wt.size(3);
    const bool per_variable = l.info.per_variable;
    const std::vector<float> v = wt.contiguous_data().to_vector<float>();
    std::vector<int64_t> shape = {H, Lq, Lk};
    if (per_variable) shape.insert(shape.begin(), R);
    write_npy(path("weights/" + l.name + ".npy"), shape, v.data());
    wrote("weights/" + l.name + ".npy");
    nlohmann::json j;
    j["layer"] = l.map.layer;
    j["role"] = nn::attention_role_name(l.map.role);
    j["shape"] = shape;
    j["dims"] = per_variable ? std::vector<std::string>{"variable", "head", "query", "key"}
                             : std::vector<std::string>{"head", "query", "key"};
    if (per_variable) j["variables"] = data_.columns;
    j["query_labels"] = l.queries.labels;
    j["key_labels"] = l.keys.labels;
    j["query_positions"] = l.queries.pos;
    j["key_positions"] = l.keys.pos;
    j["heads_averaged"] = l.info.heads_averaged;
    j["weights"] = v;
    io::write_file_atomic(path("weights/" + l.name + ".json"), j.dump() + "\n");
    wrote("weights/" + l.name + ".json");

    const std::string base =
        l.info.heads_averaged ? fmt::format("{} interpretable attention ({}, heads averaged)",
                                            info_.short_name(), role_style(l.map.role).phrase)
                              : fmt::format("{}, layer {}", role_style(l.map.role).title, l.index);
    for (int64_t b = 0; b < (per_variable ? R : 1); ++b) {
      const std::string var = per_variable ? "_var-" + safe_name(data_.columns[b]) : "";
      Shown s;
      s.title = base + (per_variable ? fmt::format(" — variable {}", data_.columns[b]) : "");
      const Matrix mean = head_average(wt, b);
      s.png = save(heatmap_figure(s.title + (H > 1 ? ", mean of heads" : ""), mean,
                                  l.queries.labels, l.keys.labels, l.keys.title, l.queries.title),
                   "heatmaps/" + l.name + var + "_mean");
      if (H > 1)
        for (int64_t h = 0; h < H; ++h) {
          const Matrix m = to_matrix(v, Lq, Lk, ((b * H) + h) * Lq * Lk);
          s.heads.push_back(
              save(heatmap_figure(fmt::format("{}, head {}", s.title, h), m, l.queries.labels,
                                  l.keys.labels, l.keys.title, l.queries.title),
                   fmt::format("heatmaps/{}{}_h{}", l.name, var, h)));
        }
      // the report shows every variable's mean map, heads for the first predicted variable
      if (per_variable && b != f0_) s.heads.clear();
      shown.push_back(std::move(s));
    }
  }
  return shown;
}

// Head statistics and mean selection weights over the test batches (all, or o.max_batches).
TestSetStats Explainer::test_set_stats(nn::AttentionCapture& capture,
                                       const std::vector<Layer>& layers) {
  TestSetStats st;
  for (const Layer& l : layers)
    st.heads.emplace_back(l.map.weights.size(1), l.queries.pos, l.keys.pos);
  data::BatchLoader loader(test_, data::LoaderOptions{cfg_.train.batch_size, false, 0});
  st.batches =
      o_.max_batches > 0 ? std::min(o_.max_batches, loader.num_batches()) : loader.num_batches();
  int64_t rows = 0;
  for (int64_t bi = 0; bi < st.batches; ++bi) {
    if (stopped()) break;
    capture.clear();
    const data::Batch b = loader.batch(bi, ctx_);
    run_model(model_, b, cfg_);
    const auto maps = model_.attention_maps(capture);
    ATTEND_CHECK(maps.size() == layers.size(), "[explain] batch {} recorded {} layers, expected {}",
                 bi, maps.size(), layers.size());
    for (size_t k = 0; k < maps.size(); ++k) st.heads[k].add(maps[k].weights);
    const auto groups = model_.variable_selection();
    st.selection.resize(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!groups[g].weights.defined()) continue;
      NoGradGuard ng;
      const auto v = mean(groups[g].weights, {0, 1}).contiguous_data().to_vector<float>();
      std::vector<double>& sum = st.selection[g];
      sum.resize(v.size(), 0.0);
      for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i] * static_cast<double>(b.size());
    }
    rows += b.size();
  }
  for (auto& s : st.selection)
    for (double& x : s) x /= static_cast<double>(std::max<int64_t>(1, rows));
  return st;
}

// head_stats.{csv,md,json} and the distance and entropy bars.
HeadReport Explainer::head_stats(const std::vector<Layer>& layers, const TestSetStats& st) {
  HeadReport hr;
  hr.unit = tokens() == TokenAxis::Patches
                ? fmt::format("time steps (patch distance × stride {})", desc_.patch_stride)
            : tokens() == TokenAxis::Variables ? "n/a: tokens are variables, not time"
                                               : "time steps";
  std::vector<std::string> bar_labels;
  std::vector<double> dists, ents;
  std::vector<uint32_t> bar_colors;
  std::string csv = "layer,role,name,head,distance_steps,entropy_nats,max_entropy_nats,rows\n";
  nlohmann::json sj = nlohmann::json::array();
  for (size_t k = 0; k < layers.size(); ++k) {
    const Layer& l = layers[k];
    const HeadStatsAccumulator& acc = st.heads[k];
    const double max_entropy = std::log(static_cast<double>(l.map.weights.size(3)));
    const char* role = nn::attention_role_name(l.map.role);
    for (int64_t h = 0; h < acc.heads(); ++h) {
      const std::string head = l.info.heads_averaged ? "mean" : std::to_string(h);
      const double d = acc.distance(h), e = acc.entropy(h);
      bar_labels.push_back(l.name + (l.info.heads_averaged ? "" : " h" + head));
      dists.push_back(d);
      ents.push_back(e);
      bar_colors.push_back(role_style(l.map.role).color);
      csv += fmt::format("{},{},{},{},{},{},{},{}\n", l.map.layer, role, l.name, head,
                         std::isfinite(d) ? fmt::format("{:.6g}", d) : "", fmt::format("{:.6g}", e),
                         fmt::format("{:.6g}", max_entropy), acc.rows());
      hr.table.push_back(
          {l.name, "`" + l.map.layer + "`", head, fmt_num(d, 2), fmt_num(e), fmt_num(max_entropy)});
      sj.push_back({{"layer", l.map.layer},
                    {"role", role},
                    {"name", l.name},
                    {"head", head},
                    {"distance", std::isfinite(d) ? nlohmann::json(d) : nlohmann::json()},
                    {"entropy", e},
                    {"max_entropy", max_entropy}});
    }
  }
  const std::string md =
      fmt::format(
          "Per-head attention statistics over {} test batches. Distance: attention-weighted "
          "mean |i − j| in {}. Entropy: −Σ w ln w per query row, in nats (0 = one key, "
          "ln Lk = uniform).\n\n",
          st.batches, hr.unit) +
      md_table({"layer", "module", "head", "distance", "entropy", "ln Lk"}, hr.table);
  io::write_file_atomic(path("head_stats.csv"), csv);
  io::write_file_atomic(path("head_stats.md"), md);
  io::write_file_atomic(
      path("head_stats.json"),
      nlohmann::json({{"distance_unit", hr.unit}, {"batches", st.batches}, {"heads", sj}}).dump(1) +
          "\n");
  for (const char* f : {"head_stats.csv", "head_stats.md", "head_stats.json"}) wrote(f);
  if (tokens() != TokenAxis::Variables)
    hr.distance_png = save(
        bar_figure("Attention distance per head (mean over the test set): near vs far", bar_labels,
                   {{"distance", dists, 0x3b6ea5}},
                   tokens() == TokenAxis::Patches ? "time steps (patches × stride)" : "time steps",
                   bar_colors),
        "head_distance");
  hr.entropy_png =
      save(bar_figure("Attention entropy per head (mean over the test set)", bar_labels,
                      {{"entropy", ents, 0x3b6ea5}}, "entropy (nats)", bar_colors),
           "head_entropy");
  return hr;
}

// Input, true future and forecast (with the quantile band) of each shown variable, in the data's
// units.
std::vector<Panel> Explainer::forecast_panels(const Forward& fw) const {
  const int64_t Co = fw.out.size(2), Po = fw.out.size(1), Lb = cfg_.model.label_len;
  const int64_t K = cfg_.data.features == "MS" ? 1 : Co;
  const std::vector<float> pred = fw.out.contiguous_data().to_vector<float>();
  std::vector<float> qv;
  int64_t Q = 0;
  if (fw.quantiles.defined() && fw.quantiles.size(3) > 1) {
    qv = fw.quantiles.contiguous_data().to_vector<float>();
    Q = fw.quantiles.size(3);
  }
  const bool scaled = data_.config.scale && data_.scaler.fitted();
  auto inv = [&](double x, int64_t c) { return scaled ? data_.scaler.inverse_value(x, c) : x; };
  const float* sx = test_.seq_x(w_);
  const float* sy = test_.seq_y(w_);
  const std::vector<double>& levels = model_.config().quantiles;
  std::vector<Panel> panels;
  for (int64_t k = 0; k < K && f0_ + k < C_; ++k) {
    const int64_t c = f0_ + k, oc = cfg_.data.features == "MS" ? Co - 1 : k;
    Panel p;
    p.title = data_.columns[c];
    Line in{"input", {}, {}, 0x555555, false}, truth{"true future", {}, {}, 0x2ca02c, false},
        fc{"forecast", {}, {}, 0xd62728, false};
    for (int64_t s = 0; s < L_; ++s) in.x.push_back(s - L_), in.y.push_back(inv(sx[s * C_ + c], c));
    for (int64_t s = 0; s < P_; ++s) {
      truth.x.push_back(s), truth.y.push_back(inv(sy[(Lb + s) * C_ + c], c));
      fc.x.push_back(s), fc.y.push_back(inv(pred[(Po - P_ + s) * Co + oc], c));
    }
    if (Q > 1) {
      Band band{fmt::format("q{}–q{}", levels.front(), levels.back()), {}, {}, {}, 0xd62728};
      for (int64_t s = 0; s < P_; ++s) {
        const int64_t base = (s * Co + oc) * Q;
        double lo = qv[base], hi = qv[base];
        for (int64_t q = 1; q < Q; ++q)
          lo = std::min<double>(lo, qv[base + q]), hi = std::max<double>(hi, qv[base + q]);
        band.x.push_back(s), band.lo.push_back(inv(lo, c)), band.hi.push_back(inv(hi, c));
      }
      p.bands.push_back(band);
      fc.name = "median forecast";
    }
    p.lines = {in, truth, fc};
    panels.push_back(p);
  }
  return panels;
}

// The head-averaged maps (Lq, Lk) of batch row `row` of the layers of one role.
std::vector<Matrix> Explainer::head_averages(const std::vector<Layer>& layers, AttentionRole role,
                                             int64_t row) const {
  std::vector<Matrix> ms;
  for (const Layer& l : layers)
    if (l.map.role == role) ms.push_back(head_average(l.map.weights, row));
  return ms;
}

// Importance strips under each panel: the first input step is at x = -L.
void add_strip(Panel& p, int64_t first_x, const std::vector<double>& imp, int64_t n) {
  for (int64_t s = 0; s < n; ++s)
    p.importance_x.push_back(first_x + s), p.importance.push_back(imp[s]);
}

// No encoder self-attention: the (one, heads-averaged) attention itself, averaged over the
// forecast steps' queries, over the history and future keys.
Importance Explainer::attention_importance(std::vector<Panel>& panels,
                                           const std::vector<Layer>& layers) {
  const Matrix A = head_average(layers.front().map.weights, 0);  // (P, L + P)
  const std::vector<double> imp = normalise(row_mean(A));
  for (auto& p : panels) add_strip(p, -L_, imp, A.cols);
  Importance im;
  im.word = "attention";
  im.note = fmt::format(
      "{}'s interpretable attention (one layer, heads averaged) averaged over the forecast steps' "
      "queries, over history and future positions.",
      info_.short_name());
  return im;
}

// Patch tokens: each variable's rollout, averaged over output patches, spread over the steps of
// each patch.
Importance Explainer::patch_rollout(std::vector<Panel>& panels, const std::vector<Layer>& layers) {
  const int64_t len = desc_.patch_len, stride = desc_.patch_stride;
  for (size_t k = 0; k < panels.size(); ++k) {
    const int64_t c = f0_ + static_cast<int64_t>(k);
    const Matrix R = attention_rollout(head_averages(layers, AttentionRole::EncoderSelf, c));
    const std::vector<double> score = row_mean(R);
    std::vector<double> imp(L_, 0.0);
    for (int64_t p = 0; p < R.cols; ++p)
      for (int64_t s = p * stride; s < std::min(L_, p * stride + len); ++s)
        imp[s] += score[p] / static_cast<double>(len);
    add_strip(panels[k], -L_, normalise(imp), L_);
  }
  Importance im;
  im.word = "rollout";
  im.note = fmt::format(
      "Rollout over the patch tokens of each variable (channel-independent), averaged over output "
      "patches and spread over the {} steps of each patch (stride {}).",
      len, stride);
  return im;
}

// Variable tokens: the rollout's share per variable token, averaged over the variables' output
// rows, as bars (rollout_variables).
Importance Explainer::variable_rollout(const std::vector<Layer>& layers) {
  const Matrix R = attention_rollout(head_averages(layers, AttentionRole::EncoderSelf, 0));
  std::vector<double> imp(R.cols, 0.0);
  const int64_t nv = std::min<int64_t>(C_, R.rows);
  for (int64_t i = 0; i < nv; ++i)
    for (int64_t j = 0; j < R.cols; ++j) imp[j] += R.at(i, j) / nv;
  Importance im;
  im.variables_png = save(bar_figure("What mattered: rollout over variable tokens "
                                     "(mean over the variables' output rows)",
                                     layers.front().keys.labels,
                                     {{"share", normalise(imp), 0x8c564b}}, "share of attention"),
                          "rollout_variables");
  im.note = fmt::format(
      "{}'s tokens are whole variables (then time-feature tokens): rollout shows which "
      "variables the forecast drew on, not which time steps.",
      info_.short_name());
  return im;
}

// Time-step tokens: the encoder rollout, read through the forecast rows of the last
// cross-attention layer when its keys are the encoder's last tokens.
Importance Explainer::time_rollout(std::vector<Panel>& panels, const std::vector<Layer>& layers) {
  const Matrix R = attention_rollout(head_averages(layers, AttentionRole::EncoderSelf, 0));
  const Layer* cross = nullptr;
  for (const Layer& l : layers)
    if (l.map.role == AttentionRole::Cross) cross = &l;
  Importance im;
  im.word = "rollout";
  std::vector<double> imp;
  if (cross && cross->map.weights.size(3) == R.rows) {
    const Matrix A = head_average(cross->map.weights, 0);
    Matrix last(1, A.cols);
    for (int64_t i = A.rows - P_; i < A.rows; ++i)
      for (int64_t j = 0; j < A.cols; ++j) last.at(0, j) += A.at(i, j) / P_;
    imp = matmul(last, R).v;
    im.note =
        "Encoder rollout (heads averaged, identity added, rows renormalised, multiplied through "
        "the encoder layers; distilled layers mapped by equal coverage), read by the forecast "
        "steps' rows of the last cross-attention layer.";
  } else {
    imp = row_mean(R);
    im.note = "Encoder rollout averaged over the output tokens.";
  }
  imp = normalise(imp);
  for (auto& p : panels) add_strip(p, -L_, imp, L_);
  return im;
}

// What mattered, by what the encoder's tokens are (no encoder self-attention: the attention
// itself); strips are drawn under the input series (rollout), variables as bars.
Importance Explainer::what_mattered(std::vector<Panel>& panels, const std::vector<Layer>& layers) {
  const auto encoder = std::find_if(
      desc_.attention.begin(), desc_.attention.end(),
      [](const AttentionLayerInfo& i) { return i.role == AttentionRole::EncoderSelf; });
  if (encoder != desc_.attention.end() && encoder->keys == TokenAxis::Variables)
    return variable_rollout(layers);
  Importance im = encoder == desc_.attention.end()      ? attention_importance(panels, layers)
                  : encoder->keys == TokenAxis::Patches ? patch_rollout(panels, layers)
                                                        : time_rollout(panels, layers);
  for (auto& p : panels) p.importance_title = im.word;
  im.rollout_png = save(
      panels_figure(
          fmt::format("What mattered for the forecast from {}: {} under the input", when_, im.word),
          panels, "time (dashed line: forecast origin)", ticks_),
      "rollout");
  return im;
}

// Selection weights per group: bars of the test average and this forecast, and
// selection_weights.json. Returns (group, png) of the groups drawn.
std::vector<std::pair<std::string, std::string>> Explainer::selection(
    const std::vector<models::VariableSelection>& window, const TestSetStats& st) {
  std::vector<std::pair<std::string, std::string>> pngs;
  if (window.empty()) return pngs;
  // "x<i>" -> the data's column i, "time<j>" -> "time:<mark name j>"
  auto names = [&](std::vector<std::string> v) {
    for (auto& l : v) {
      char* end = nullptr;
      if (l.rfind("x", 0) == 0 && l.size() > 1) {
        const long i = std::strtol(l.c_str() + 1, &end, 10);
        if (*end == 0 && i >= 0 && i < C_) l = data_.columns[i];
      } else if (l.rfind("time", 0) == 0 && l.size() > 4) {
        const long j = std::strtol(l.c_str() + 4, &end, 10);
        if (*end == 0 && j >= 0 && j < data_.mark_dim()) l = "time:" + data_.mark_names[j];
      }
    }
    return v;
  };
  nlohmann::json sel;
  for (size_t g = 0; g < window.size(); ++g) {
    const std::string& name = window[g].group;
    const std::vector<std::string> labels = names(window[g].variables);
    const std::vector<double> avg =
        g < st.selection.size() ? st.selection[g] : std::vector<double>{};
    const std::vector<double> this_one = first_row_mean(window[g].weights);
    if (labels.empty() || avg.size() != labels.size()) continue;
    pngs.push_back(
        {name,
         save(bar_figure(fmt::format("{} {} variable selection weights", info_.short_name(), name),
                         labels,
                         {{"test average", avg, 0x3b6ea5}, {"this forecast", this_one, 0xd9822b}},
                         "weight (sums to 1)"),
              "selection_" + name)});
    sel[name] = {{"variables", labels}, {"test_average", avg}, {"this_forecast", this_one}};
  }
  io::write_file_atomic(path("selection_weights.json"), sel.dump(1) + "\n");
  wrote("selection_weights.json");
  return pngs;
}

// report.html: everything, images embedded.
void Explainer::report(const std::string& forecast_png, const Importance& importance,
                       const std::vector<std::pair<std::string, std::string>>& selection_pngs,
                       const HeadReport& heads, const std::vector<Shown>& shown) {
  const std::string& model_name = model_.config().model;
  auto img = [&](const std::string& png, const char* cls = "") {
    return fmt::format("<img class=\"{}\" src=\"data:image/png;base64,{}\" alt=\"{}\">", cls,
                       file_base64(png), html_escape(fs::path(png).filename().string()));
  };
  std::string h;
  h += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attend explain: " +
       html_escape(model_name) +
       "</title>\n<style>\n"
       "body{font-family:sans-serif;margin:24px;color:#222;max-width:1360px}"
       "h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ccc;padding-bottom:4px;"
       "margin-top:32px}h3{font-size:15px}img{max-width:100%;border:1px solid #eee}"
       "img.thumb{width:300px}table{border-collapse:collapse;font-size:13px}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
       "td:first-child,td:nth-child(2){text-align:left}.note{color:#555;font-size:13px}"
       ".grid{display:flex;flex-wrap:wrap;gap:6px}dl{display:grid;grid-template-columns:max-content"
       " auto;gap:2px 14px}dt{font-weight:bold}\n</style></head><body>\n";
  h += "<h1>attend explain — " + html_escape(model_name) + "</h1>\n<dl>";
  auto item = [&](const std::string& k, const std::string& v) {
    h += "<dt>" + html_escape(k) + "</dt><dd>" + html_escape(v) + "</dd>";
  };
  if (!o_.source.empty()) item("checkpoint", o_.source);
  item("data", data_.source + fmt::format(" (features {}, {} variables, freq {})",
                                          cfg_.data.features, C_, data_.freq));
  item("window", fmt::format("test window {} of {} — forecast origin {} (last input row), "
                             "seq_len {}, pred_len {}",
                             w_, test_.size(), when_, L_, P_));
  item("head statistics",
       fmt::format("averaged over {} test batches of {}", res_.batches, cfg_.train.batch_size));
  h += "</dl>\n<h2>Forecast</h2>\n" + img(forecast_png) + "\n";
  h += "<h2>What mattered for this forecast</h2>\n<p class=\"note\">" +
       html_escape(importance.note) + "</p>\n";
  if (!importance.rollout_png.empty()) h += img(importance.rollout_png) + "\n";
  if (!importance.variables_png.empty()) h += img(importance.variables_png) + "\n";
  if (!selection_pngs.empty()) {
    h += "<h2>" + html_escape(info_.short_name()) +
         " variable selection</h2>\n<p class=\"note\">Softmax weights over the variables of "
         "each selection network (each sums to one), averaged over the test batches and for this "
         "forecast (mean over its time steps).</p>\n<div class=\"grid\">";
    for (const auto& [name, png] : selection_pngs) h += img(png);
    h += "</div>\n";
  }
  h += "<h2>Heads: near or far</h2>\n<p class=\"note\">Distance unit: " + html_escape(heads.unit) +
       ". Colours: blue encoder self-attention, green decoder self-attention, orange "
       "cross-attention.</p>\n<div class=\"grid\">";
  if (!heads.distance_png.empty()) h += img(heads.distance_png);
  h += img(heads.entropy_png) +
       "</div>\n<table><tr><th>layer</th><th>module</th><th>head</th>"
       "<th>distance</th><th>entropy (nats)</th><th>ln Lk</th></tr>\n";
  for (const auto& r : heads.table) {
    h += "<tr>";
    for (size_t i = 0; i < r.size(); ++i) {
      std::string cell = r[i];
      cell.erase(std::remove(cell.begin(), cell.end(), '`'), cell.end());
      h += "<td>" + html_escape(cell) + "</td>";
    }
    h += "</tr>\n";
  }
  h += "</table>\n<h2>Attention maps</h2>\n<p class=\"note\">Rows are queries, columns keys; each "
       "row sums to one. Raw weights: weights/*.npy and *.json.</p>\n";
  for (const auto& s : shown) {
    h += "<h3>" + html_escape(s.title) + "</h3>\n" + img(s.png) + "\n";
    if (!s.heads.empty()) {
      h += "<div class=\"grid\">";
      for (const auto& p : s.heads) h += img(p, "thumb");
      h += "</div>\n";
    }
  }
  h += "</body></html>\n";
  res_.report = path("report.html");
  io::write_file_atomic(res_.report, h);
  res_.files.push_back(res_.report);
}

ExplainResult Explainer::run() {
  std::error_code ec;
  for (const char* sub : {"", "heatmaps", "weights"}) {
    fs::create_directories(fs::path(o_.out) / sub, ec);
    ATTEND_CHECK(!ec, "--out '{}': cannot create the folder: {}", o_.out, ec.message());
  }
  res_.window = w_;
  res_.origin = test_.timestamps[w_ + L_ - 1];

  // ---- the one forecast, with capture
  model_.eval();
  nn::AttentionCapture capture;
  nn::set_attention_capture(model_, &capture);
  struct Detach {
    models::ForecastModel& m;
    ~Detach() { nn::set_attention_capture(m, nullptr); }
  } detach{model_};
  log(fmt::format("explain: window {} (origin {})", w_, when_));
  const Forward fw = run_model(model_, window_batch(test_, w_, ctx_), cfg_);
  const std::vector<nn::CapturedAttention> maps = model_.attention_maps(capture);
  ATTEND_CHECK(!maps.empty(), "[explain] model {} recorded no attention", model_.config().model);
  const std::vector<models::VariableSelection> window_selection = model_.variable_selection();
  const std::vector<Layer> layers = this->layers(maps);

  const std::vector<Shown> shown = draw_maps(layers);
  log(fmt::format("explain: {} attention layers drawn", layers.size()));
  if (stopped()) return res_;
  const TestSetStats st = test_set_stats(capture, layers);
  if (stopped()) return res_;  // statistics over part of the test set are not written
  res_.batches = st.batches;
  const HeadReport heads = head_stats(layers, st);

  std::vector<Panel> panels = forecast_panels(fw);
  const int64_t tick_step = std::max<int64_t>(1, (L_ + P_) / 8);
  for (int64_t s = 0; s < L_ + P_; s += tick_step)
    ticks_.push_back({static_cast<double>(s - L_), time_label(s)});
  const std::string forecast_png = save(
      panels_figure(
          fmt::format("{} forecast from {} (test window {})", model_.config().model, when_, w_),
          panels, "time (dashed line: forecast origin)", ticks_),
      "forecast");
  if (stopped()) return res_;
  const Importance importance = what_mattered(panels, layers);
  const auto selection_pngs = selection(window_selection, st);
  if (stopped()) return res_;
  report(forecast_png, importance, selection_pngs, heads, shown);
  log(fmt::format("explain: {} files written to {}", res_.files.size(), o_.out));
  return res_;
}

}  // namespace

std::string no_attention_message(const std::string& model) {
  return fmt::format(
      "[explain] model {} has no attention: there are no attention maps, head statistics or "
      "rollout to show (attention models: {}; use `attend forecast` or `attend test` for {})",
      model, fmt::join(models::models_with_attention(), ", "), model);
}

int64_t select_window(const data::ForecastSplit& test, const ExplainOptions& o) {
  const int64_t n = test.size();
  ATTEND_CHECK(n > 0, "[explain] the test split has no windows (rows {}, seq_len {}, pred_len {})",
               test.rows, test.seq_len, test.pred_len);
  ATTEND_CHECK(!(o.index && !o.date.empty()), "give --index or --date, not both");
  if (o.index) {
    ATTEND_CHECK(*o.index >= 0 && *o.index < n,
                 "--index {} is out of range: the test split has {} windows (0 to {})", *o.index, n,
                 n - 1);
    return *o.index;
  }
  if (o.date.empty()) return 0;
  int64_t ts = 0;
  ATTEND_CHECK(data::parse_timestamp(o.date, &ts), "--date '{}' is not a timestamp", o.date);
  const int64_t L = test.seq_len;
  for (int64_t w = 0; w < n; ++w)
    if (test.timestamps[w + L - 1] == ts) return w;
  fail(
      "--date '{}' is not a forecast origin of the test windows (the last input row of a window: "
      "{} to {}, {} windows)",
      o.date, data::format_timestamp(test.timestamps[L - 1]),
      data::format_timestamp(test.timestamps[n - 1 + L - 1]), n);
}

ExplainResult explain_model(models::ForecastModel& model, const data::ForecastData& data,
                            const train::RunConfig& cfg, const ExplainOptions& o, Context& ctx) {
  ATTEND_CHECK(model.has_attention(), "{}", no_attention_message(model.config().model));
  ATTEND_CHECK(!o.out.empty(), "[explain] --out is required");
  const int64_t w = select_window(data.test, o);
  return Explainer(model, data, cfg, o, ctx, w).run();
}

ExplainResult explain_checkpoint(const std::string& dir, const train::ValidConfig& valid,
                                 const ExplainOptions& options, Context& ctx) {
  const std::string weights = (fs::path(dir) / "weights.safetensors").string();
  if (!fs::exists(weights))
    fail_not_found("{}: missing (no trained checkpoint in '{}')", weights, dir);
  ATTEND_CHECK(models::model_info(valid->model.model).has_attention, "{}",
               no_attention_message(valid->model.model));
  const data::ForecastData data =
      data::load_forecast_data(valid->data, valid->model, {}, options.table);
  ATTEND_CHECK(valid->model.enc_in == data.channels(),
               "[explain] the checkpoint reads {} variables but {} selects {} ({})",
               valid->model.enc_in, data.source, data.channels(),
               fmt::format("{}", fmt::join(data.columns, ", ")));
  const train::RunConfig cfg = train::resolve(*valid, data.columns, data.freq, data.source);
  auto model = models::make_model(cfg.model, ctx);
  io::load_state_dict(*model, weights);
  ExplainOptions o = options;
  if (o.source.empty()) o.source = dir;
  return explain_model(*model, data, cfg, o, ctx);
}

}  // namespace attend::explain
