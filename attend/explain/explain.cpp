// The explain pipeline: capture, statistics, pictures, report.
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
#include "attend/models/tft.h"
#include "attend/models/transformer_models.h"
#include "attend/nn/attention.h"
#include "attend/ops/shape.h"

namespace fs = std::filesystem;

namespace attend::explain {

namespace {

using nn::AttentionRole;

// Tokens along one side of an attention map.
struct Axis {
  std::vector<std::string> labels;
  std::vector<double> pos;  // time steps relative to the forecast origin (last input = -1);
                            // empty when tokens are not time (iTransformer's variables)
  std::string title;
};

enum class Kind { TimeSteps, Patches, Variables, TFT };

const char* role_file(AttentionRole r) {
  switch (r) {
    case AttentionRole::EncoderSelf:
      return "encoder-self";
    case AttentionRole::DecoderSelf:
      return "decoder-self";
    default:
      return "cross";
  }
}

const char* role_title(AttentionRole r) {
  switch (r) {
    case AttentionRole::EncoderSelf:
      return "Encoder self-attention";
    case AttentionRole::DecoderSelf:
      return "Decoder self-attention";
    default:
      return "Cross-attention (decoder queries, encoder keys)";
  }
}

uint32_t role_color(AttentionRole r) {
  switch (r) {
    case AttentionRole::EncoderSelf:
      return 0x3b6ea5;
    case AttentionRole::DecoderSelf:
      return 0x4c9a5b;
    default:
      return 0xd9822b;
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
  Tensor quantiles;  // TFT: (B, P, c_out, Q)
};

// One forward as the trainer feeds the model (TSLib's exp), under no grad.
Forward run_model(models::ForecastModel& model, const data::Batch& b, const train::RunConfig& cfg,
                  Context& ctx) {
  NoGradGuard guard;
  const int64_t B = b.size(), C = b.x_enc.size(2), P = cfg.model.pred_len, Lb = cfg.model.label_len;
  Tensor x_dec, xm, ym;
  if (model.uses_decoder_input())
    x_dec = concat({slice(b.y, 1, 0, Lb), Tensor::zeros({B, P, C}, DType::F32, ctx)}, 1);
  if (model.uses_time_marks()) xm = b.x_mark_enc, ym = b.y_mark;
  Forward f;
  if (auto* tft = dynamic_cast<models::TemporalFusionTransformer*>(&model)) {
    f.quantiles = tft->forecast_quantiles(b.x_enc, xm, x_dec, ym);
    f.out = select(f.quantiles, 3, tft->median_index());
  } else {
    f.out = model.forecast(b.x_enc, xm, x_dec, ym);
  }
  return f;
}

// Records of one forward: the captured layers, or TFT's interpretable attention (B, 1, P, L+P).
std::vector<nn::CapturedAttention> records_of(models::ForecastModel& model,
                                              const nn::AttentionCapture& cap) {
  if (auto* tft = dynamic_cast<models::TemporalFusionTransformer*>(&model)) {
    const Tensor& a = tft->attention_weights();
    return {{"temporal_fusion_decoder.attention", AttentionRole::DecoderSelf,
             reshape(a, {a.size(0), 1, a.size(1), a.size(2)})}};
  }
  return cap.records();
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

}  // namespace

std::string no_attention_message(const std::string& model) {
  return fmt::format(
      "[explain] model {} has no attention: there are no attention maps, head statistics or "
      "rollout to show (attention models: Transformer, Informer, PatchTST, iTransformer, "
      "TemporalFusionTransformer; use `attend forecast` or `attend test` for {})",
      model, model);
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
  const std::string model_name = model.config().model;
  ATTEND_CHECK(model.has_attention(), "{}", no_attention_message(model_name));
  ATTEND_CHECK(!o.out.empty(), "[explain] --out is required");
  const data::ForecastSplit& test = data.test;
  const int64_t w = select_window(test, o);
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  std::error_code ec;
  for (const char* sub : {"", "heatmaps", "weights"}) {
    fs::create_directories(fs::path(o.out) / sub, ec);
    ATTEND_CHECK(!ec, "--out '{}': cannot create the folder: {}", o.out, ec.message());
  }
  ExplainResult res;
  res.window = w;
  const int64_t L = cfg.model.seq_len, P = cfg.model.pred_len, Lb = cfg.model.label_len,
                C = data.channels();
  res.origin = test.timestamps[w + L - 1];
  const bool day = daily(data.freq);
  auto path = [&](const std::string& rel) { return (fs::path(o.out) / rel).string(); };
  auto save = [&](const Figure& f, const std::string& rel) {
    auto files = save_figure(f, path(rel));
    res.files.insert(res.files.end(), files.begin(), files.end());
    return files[0];
  };

  auto* patch = dynamic_cast<models::PatchTST*>(&model);
  auto* tft = dynamic_cast<models::TemporalFusionTransformer*>(&model);
  const Kind kind = tft                                           ? Kind::TFT
                    : patch                                       ? Kind::Patches
                    : dynamic_cast<models::ITransformer*>(&model) ? Kind::Variables
                                                                  : Kind::TimeSteps;
  const int64_t stride = model.config().stride, patch_len = model.config().patch_len;
  auto row_time = [&](int64_t s) { return test.timestamps[w + s]; };  // s: row in the window

  // Axis of `n` tokens over the input timeline (encoder tokens; distilled when n < L).
  auto input_axis = [&](int64_t n) {
    Axis a;
    a.title = n == L ? "input time step" : fmt::format("encoder token (≈{} steps each)", L / n);
    const double scale = static_cast<double>(L) / static_cast<double>(n);
    for (int64_t k = 0; k < n; ++k) {
      const double centre = k * scale + (scale - 1) / 2;
      a.pos.push_back(centre - L);
      const int64_t row = std::min<int64_t>(L - 1, static_cast<int64_t>(std::floor(k * scale)));
      a.labels.push_back((n == L ? "" : "≈") + short_time(row_time(row), day));
    }
    return a;
  };
  auto decoder_axis = [&](int64_t n) {
    Axis a;
    a.title = "decoder time step";
    for (int64_t k = 0; k < n; ++k) {
      const int64_t s = L - (n - P) + k;  // decoder rows end at the last forecast step
      a.pos.push_back(static_cast<double>(s - L));
      a.labels.push_back(short_time(row_time(s), day));
    }
    return a;
  };
  auto axes_for = [&](const nn::CapturedAttention& r) -> std::pair<Axis, Axis> {
    const int64_t Lq = r.weights.size(2), Lk = r.weights.size(3);
    switch (kind) {
      case Kind::Patches: {
        Axis a;
        a.title = fmt::format("patch (len {}, stride {})", patch_len, stride);
        for (int64_t p = 0; p < Lk; ++p) {
          a.pos.push_back(static_cast<double>(p * stride - L));
          const int64_t first = L - p * stride, last = std::max<int64_t>(1, first - patch_len + 1);
          a.labels.push_back(fmt::format("t-{}…t-{}", first, last));
        }
        return {a, a};
      }
      case Kind::Variables: {
        Axis a;
        a.title = "variable token";
        for (int64_t k = 0; k < Lk; ++k)
          a.labels.push_back(k < C                     ? data.columns[k]
                             : k - C < data.mark_dim() ? "time:" + data.mark_names[k - C]
                                                       : std::to_string(k));
        return {a, a};
      }
      case Kind::TFT: {
        Axis q, k;
        q.title = "forecast step";
        k.title = "time step (history, then future)";
        for (int64_t i = 0; i < Lq; ++i)
          q.pos.push_back(static_cast<double>(i)),
              q.labels.push_back(short_time(row_time(L + i), day));
        for (int64_t j = 0; j < Lk; ++j)
          k.pos.push_back(static_cast<double>(j - L)),
              k.labels.push_back(short_time(row_time(j), day));
        return {q, k};
      }
      default:
        if (r.role == AttentionRole::EncoderSelf) return {input_axis(Lq), input_axis(Lk)};
        if (r.role == AttentionRole::DecoderSelf) return {decoder_axis(Lq), decoder_axis(Lk)};
        return {decoder_axis(Lq), input_axis(Lk)};
    }
  };

  // ---- the one forecast, with capture
  model.eval();
  nn::AttentionCapture capture;
  nn::set_attention_capture(model, &capture);
  struct Detach {
    models::ForecastModel& m;
    ~Detach() { nn::set_attention_capture(m, nullptr); }
  } detach{model};
  const data::Batch one = window_batch(test, w, ctx);
  log(fmt::format("explain: window {} (origin {})", w, data::format_timestamp(res.origin)));
  Forward fw = run_model(model, one, cfg, ctx);
  const std::vector<nn::CapturedAttention> recs = records_of(model, capture);
  ATTEND_CHECK(!recs.empty(), "[explain] model {} recorded no attention", model_name);
  Tensor tft_static, tft_hist, tft_fut;
  if (tft) {
    tft_static = tft->static_selection_weights();
    tft_hist = tft->history_selection_weights();
    tft_fut = tft->future_selection_weights();
  }

  // layer names: role + index within the role
  std::vector<std::string> rec_name(recs.size());
  std::map<AttentionRole, int> role_count;
  for (size_t k = 0; k < recs.size(); ++k)
    rec_name[k] = fmt::format("{}_L{}", role_file(recs[k].role), role_count[recs[k].role]++);

  // ---- heat maps and raw weights
  struct Shown {
    std::string title, png;
    std::vector<std::string> heads;  // per-head pngs
  };
  std::vector<Shown> shown;
  const int64_t f0 = cfg.data.features == "MS" ? C - 1 : 0;
  for (size_t k = 0; k < recs.size(); ++k) {
    const auto& r = recs[k];
    const auto [qa, ka] = axes_for(r);
    const int64_t R = r.weights.size(0), H = r.weights.size(1), Lq = r.weights.size(2),
                  Lk = r.weights.size(3);
    const std::vector<float> v = r.weights.contiguous_data().to_vector<float>();
    std::vector<int64_t> shape = {H, Lq, Lk};
    if (kind == Kind::Patches) shape.insert(shape.begin(), R);
    write_npy(path("weights/" + rec_name[k] + ".npy"), shape, v.data());
    res.files.push_back(path("weights/" + rec_name[k] + ".npy"));
    nlohmann::json j;
    j["layer"] = r.layer;
    j["role"] = nn::attention_role_name(r.role);
    j["shape"] = shape;
    j["dims"] = kind == Kind::Patches ? std::vector<std::string>{"variable", "head", "query", "key"}
                                      : std::vector<std::string>{"head", "query", "key"};
    if (kind == Kind::Patches) j["variables"] = data.columns;
    j["query_labels"] = qa.labels;
    j["key_labels"] = ka.labels;
    j["query_positions"] = qa.pos;
    j["key_positions"] = ka.pos;
    j["heads_averaged"] = static_cast<bool>(tft);
    j["weights"] = v;
    io::write_file_atomic(path("weights/" + rec_name[k] + ".json"), j.dump() + "\n");
    res.files.push_back(path("weights/" + rec_name[k] + ".json"));

    const int64_t rows = kind == Kind::Patches ? R : 1;
    for (int64_t b = 0; b < rows; ++b) {
      const std::string var = kind == Kind::Patches ? "_var-" + safe_name(data.columns[b]) : "";
      const std::string var_title =
          kind == Kind::Patches ? fmt::format(" — variable {}", data.columns[b]) : "";
      const std::string base = tft ? "TFT interpretable attention (decoder self, heads averaged)"
                                   : fmt::format("{}, layer {}", role_title(r.role),
                                                 rec_name[k].substr(rec_name[k].rfind('L') + 1));
      Shown s;
      s.title = base + var_title;
      const Matrix mean = head_average(r.weights, b);
      s.png = save(heatmap_figure(s.title + (H > 1 ? ", mean of heads" : ""), mean, qa.labels,
                                  ka.labels, ka.title, qa.title),
                   "heatmaps/" + rec_name[k] + var + "_mean");
      if (H > 1)
        for (int64_t h = 0; h < H; ++h) {
          const Matrix m = to_matrix(v, Lq, Lk, ((b * H) + h) * Lq * Lk);
          s.heads.push_back(save(heatmap_figure(fmt::format("{}, head {}", s.title, h), m,
                                                qa.labels, ka.labels, ka.title, qa.title),
                                 fmt::format("heatmaps/{}{}_h{}", rec_name[k], var, h)));
        }
      // the report shows every variable's mean map, heads for the first predicted variable
      if (kind == Kind::Patches && b != f0) s.heads.clear();
      shown.push_back(std::move(s));
    }
  }
  log(fmt::format("explain: {} attention layers drawn", recs.size()));

  // ---- head statistics over the test set
  std::vector<HeadStatsAccumulator> acc;
  for (const auto& r : recs) {
    const auto [qa, ka] = axes_for(r);
    acc.emplace_back(r.weights.size(1), qa.pos, ka.pos);
  }
  std::vector<double> avg_static, avg_hist, avg_fut;
  int64_t tft_rows = 0;
  {
    data::BatchLoader loader(test, data::LoaderOptions{cfg.train.batch_size, false, 0});
    const int64_t nb =
        o.max_batches > 0 ? std::min(o.max_batches, loader.num_batches()) : loader.num_batches();
    auto add_avg = [](std::vector<double>& sum, const Tensor& t, int64_t B) {
      if (!t.defined()) return;
      const auto v = models::TemporalFusionTransformer::average_selection_weights(t)
                         .contiguous_data()
                         .to_vector<float>();
      sum.resize(v.size(), 0.0);
      for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i] * static_cast<double>(B);
    };
    for (int64_t bi = 0; bi < nb; ++bi) {
      capture.clear();
      const data::Batch b = loader.batch(bi, ctx);
      run_model(model, b, cfg, ctx);
      const auto rs = records_of(model, capture);
      ATTEND_CHECK(rs.size() == recs.size(), "[explain] batch {} recorded {} layers, expected {}",
                   bi, rs.size(), recs.size());
      for (size_t k = 0; k < rs.size(); ++k) acc[k].add(rs[k].weights);
      if (tft) {
        add_avg(avg_static, tft->static_selection_weights(), b.size());
        add_avg(avg_hist, tft->history_selection_weights(), b.size());
        add_avg(avg_fut, tft->future_selection_weights(), b.size());
        tft_rows += b.size();
      }
    }
    res.batches = nb;
    for (auto* s : {&avg_static, &avg_hist, &avg_fut})
      for (double& x : *s) x /= static_cast<double>(std::max<int64_t>(1, tft_rows));
  }
  const std::string dist_unit = kind == Kind::Patches
                                    ? fmt::format("time steps (patch distance × stride {})", stride)
                                : kind == Kind::Variables ? "n/a: tokens are variables, not time"
                                                          : "time steps";
  std::vector<std::string> bar_labels;
  std::vector<double> dists, ents;
  std::vector<uint32_t> bar_colors;
  std::vector<std::vector<std::string>> table;
  std::string csv = "layer,role,name,head,distance_steps,entropy_nats,max_entropy_nats,rows\n";
  nlohmann::json sj = nlohmann::json::array();
  for (size_t k = 0; k < recs.size(); ++k) {
    const int64_t H = acc[k].heads(), Lk = recs[k].weights.size(3);
    for (int64_t h = 0; h < H; ++h) {
      const std::string head = tft ? "mean" : std::to_string(h);
      const double d = acc[k].distance(h), e = acc[k].entropy(h);
      bar_labels.push_back(rec_name[k] + (tft ? "" : " h" + head));
      dists.push_back(d);
      ents.push_back(e);
      bar_colors.push_back(role_color(recs[k].role));
      csv += fmt::format("{},{},{},{},{},{},{},{}\n", recs[k].layer,
                         nn::attention_role_name(recs[k].role), rec_name[k], head,
                         std::isfinite(d) ? fmt::format("{:.6g}", d) : "", fmt::format("{:.6g}", e),
                         fmt::format("{:.6g}", std::log(static_cast<double>(Lk))), acc[k].rows());
      table.push_back({rec_name[k], "`" + recs[k].layer + "`", head, fmt_num(d, 2), fmt_num(e),
                       fmt_num(std::log(static_cast<double>(Lk)))});
      sj.push_back({{"layer", recs[k].layer},
                    {"role", nn::attention_role_name(recs[k].role)},
                    {"name", rec_name[k]},
                    {"head", head},
                    {"distance", std::isfinite(d) ? nlohmann::json(d) : nlohmann::json()},
                    {"entropy", e},
                    {"max_entropy", std::log(static_cast<double>(Lk))}});
    }
  }
  const std::string md =
      fmt::format(
          "Per-head attention statistics over {} test batches. Distance: attention-weighted "
          "mean |i − j| in {}. Entropy: −Σ w ln w per query row, in nats (0 = one key, "
          "ln Lk = uniform).\n\n",
          res.batches, dist_unit) +
      md_table({"layer", "module", "head", "distance", "entropy", "ln Lk"}, table);
  io::write_file_atomic(path("head_stats.csv"), csv);
  io::write_file_atomic(path("head_stats.md"), md);
  io::write_file_atomic(
      path("head_stats.json"),
      nlohmann::json({{"distance_unit", dist_unit}, {"batches", res.batches}, {"heads", sj}})
              .dump(1) +
          "\n");
  for (const char* f : {"head_stats.csv", "head_stats.md", "head_stats.json"})
    res.files.push_back(path(f));
  std::string dist_png;
  if (kind != Kind::Variables)
    dist_png =
        save(bar_figure("Attention distance per head (mean over the test set): near vs far",
                        bar_labels, {{"distance", dists, 0x3b6ea5}},
                        kind == Kind::Patches ? "time steps (patches × stride)" : "time steps",
                        bar_colors),
             "head_distance");
  const std::string ent_png =
      save(bar_figure("Attention entropy per head (mean over the test set)", bar_labels,
                      {{"entropy", ents, 0x3b6ea5}}, "entropy (nats)", bar_colors),
           "head_entropy");

  // ---- forecast panels (original units), with and without the rollout strip
  const int64_t Co = fw.out.size(2), Po = fw.out.size(1);
  const int64_t K = cfg.data.features == "MS" ? 1 : Co;
  const std::vector<float> pred = fw.out.contiguous_data().to_vector<float>();
  std::vector<float> qv;
  int64_t Q = 0;
  if (fw.quantiles.defined() && fw.quantiles.size(3) > 1) {
    qv = fw.quantiles.contiguous_data().to_vector<float>();
    Q = fw.quantiles.size(3);
  }
  const bool scaled = data.config.scale && data.scaler.fitted();
  auto inv = [&](double x, int64_t c) { return scaled ? data.scaler.inverse_value(x, c) : x; };
  const float* sx = test.seq_x(w);
  const float* sy = test.seq_y(w);
  std::vector<Panel> panels;
  for (int64_t k = 0; k < K && f0 + k < C; ++k) {
    const int64_t c = f0 + k, oc = cfg.data.features == "MS" ? Co - 1 : k;
    Panel p;
    p.title = data.columns[c];
    Line in{"input", {}, {}, 0x555555, false}, truth{"true future", {}, {}, 0x2ca02c, false},
        fc{"forecast", {}, {}, 0xd62728, false};
    for (int64_t s = 0; s < L; ++s) in.x.push_back(s - L), in.y.push_back(inv(sx[s * C + c], c));
    for (int64_t s = 0; s < P; ++s) {
      truth.x.push_back(s), truth.y.push_back(inv(sy[(Lb + s) * C + c], c));
      fc.x.push_back(s), fc.y.push_back(inv(pred[(Po - P + s) * Co + oc], c));
    }
    if (Q > 1) {
      Band band{fmt::format("q{}–q{}", tft->quantiles().front(), tft->quantiles().back()),
                {},
                {},
                {},
                0xd62728};
      for (int64_t s = 0; s < P; ++s) {
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
  std::vector<std::pair<double, std::string>> ticks;
  const int64_t tick_step = std::max<int64_t>(1, (L + P) / 8);
  for (int64_t s = 0; s < L + P; s += tick_step)
    ticks.push_back({static_cast<double>(s - L), short_time(row_time(s), day)});
  const std::string when = data::format_timestamp(res.origin);
  const std::string fc_png =
      save(panels_figure(fmt::format("{} forecast from {} (test window {})", model_name, when, w),
                         panels, "time (dashed line: forecast origin)", ticks),
           "forecast");

  // rollout onto the input timeline
  std::string rollout_note, rollout_png, rollout_vars_png;
  auto head_avg_layers = [&](AttentionRole role, int64_t b) {
    std::vector<Matrix> ls;
    for (const auto& r : recs)
      if (r.role == role) ls.push_back(head_average(r.weights, b));
    return ls;
  };
  auto normalise = [](std::vector<double> v) {
    double s = 0;
    for (double x : v) s += x;
    if (s > 0)
      for (double& x : v) x /= s;
    return v;
  };
  if (kind == Kind::TimeSteps) {
    const Matrix R = attention_rollout(head_avg_layers(AttentionRole::EncoderSelf, 0));
    std::vector<double> imp;
    const nn::CapturedAttention* cross = nullptr;
    for (const auto& r : recs)
      if (r.role == AttentionRole::Cross) cross = &r;
    if (cross && cross->weights.size(3) == R.rows) {
      const Matrix A = head_average(cross->weights, 0);
      Matrix last(1, A.cols);
      for (int64_t i = A.rows - P; i < A.rows; ++i)
        for (int64_t j = 0; j < A.cols; ++j) last.at(0, j) += A.at(i, j) / P;
      imp = matmul(last, R).v;
      rollout_note =
          "Encoder rollout (heads averaged, identity added, rows renormalised, multiplied through "
          "the encoder layers; distilled layers mapped by equal coverage), read by the forecast "
          "steps' rows of the last cross-attention layer.";
    } else {
      imp = row_mean(R);
      rollout_note = "Encoder rollout averaged over the output tokens.";
    }
    imp = normalise(imp);
    for (auto& p : panels)
      for (int64_t s = 0; s < L; ++s)
        p.importance_x.push_back(s - L), p.importance.push_back(imp[s]);
  } else if (kind == Kind::Patches) {
    for (size_t k = 0; k < panels.size(); ++k) {
      const int64_t c = f0 + static_cast<int64_t>(k);
      const Matrix R = attention_rollout(head_avg_layers(AttentionRole::EncoderSelf, c));
      const std::vector<double> score = row_mean(R);
      std::vector<double> imp(L, 0.0);
      for (int64_t p = 0; p < R.cols; ++p)
        for (int64_t s = p * stride; s < std::min(L, p * stride + patch_len); ++s)
          imp[s] += score[p] / static_cast<double>(patch_len);
      imp = normalise(imp);
      for (int64_t s = 0; s < L; ++s)
        panels[k].importance_x.push_back(s - L), panels[k].importance.push_back(imp[s]);
    }
    rollout_note = fmt::format(
        "Rollout over the patch tokens of each variable (channel-independent), averaged over "
        "output patches and spread over the {} steps of each patch (stride {}).",
        patch_len, stride);
  } else if (kind == Kind::TFT) {
    const Matrix A = head_average(recs[0].weights, 0);  // (P, L + P)
    const std::vector<double> imp = normalise(row_mean(A));
    for (auto& p : panels)
      for (int64_t s = 0; s < A.cols; ++s)
        p.importance_x.push_back(s - L), p.importance.push_back(imp[s]);
    rollout_note =
        "TFT's interpretable attention (one layer, heads averaged) averaged over the forecast "
        "steps' queries, over history and future positions.";
  } else {
    const Matrix R = attention_rollout(head_avg_layers(AttentionRole::EncoderSelf, 0));
    std::vector<double> imp(R.cols, 0.0);
    const int64_t nv = std::min<int64_t>(C, R.rows);
    for (int64_t i = 0; i < nv; ++i)
      for (int64_t j = 0; j < R.cols; ++j) imp[j] += R.at(i, j) / nv;
    imp = normalise(imp);
    const auto [qa, ka] = axes_for(recs[0]);
    rollout_vars_png = save(bar_figure("What mattered: rollout over variable tokens "
                                       "(mean over the variables' output rows)",
                                       ka.labels, {{"share", imp, 0x8c564b}}, "share of attention"),
                            "rollout_variables");
    rollout_note =
        "iTransformer's tokens are whole variables (then time-feature tokens): rollout shows "
        "which variables the forecast drew on, not which time steps.";
  }
  if (kind != Kind::Variables) {
    for (auto& p : panels) p.importance_title = kind == Kind::TFT ? "attention" : "rollout";
    rollout_png = save(panels_figure(fmt::format("What mattered for the forecast from {}: {} under "
                                                 "the input",
                                                 when, kind == Kind::TFT ? "attention" : "rollout"),
                                     panels, "time (dashed line: forecast origin)", ticks),
                       "rollout");
  }

  // ---- TFT variable selection
  std::vector<std::pair<std::string, std::string>> selection_pngs;
  if (tft) {
    auto one = [](const Tensor& t) {  // mean over time of batch row 0: (n)
      std::vector<double> out;
      if (!t.defined()) return out;
      const int64_t T = t.size(1), n = t.size(2);
      const auto v = t.contiguous_data().to_vector<float>();
      out.assign(n, 0.0);
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < n; ++j) out[j] += v[i * n + j] / T;
      return out;
    };
    // "x<i>" -> the data's column i, "time<j>" -> "time:<mark name j>"
    auto names = [&](std::vector<std::string> v) {
      for (auto& l : v) {
        char* end = nullptr;
        if (l.rfind("x", 0) == 0 && l.size() > 1) {
          const long i = std::strtol(l.c_str() + 1, &end, 10);
          if (*end == 0 && i >= 0 && i < C) l = data.columns[i];
        } else if (l.rfind("time", 0) == 0 && l.size() > 4) {
          const long j = std::strtol(l.c_str() + 4, &end, 10);
          if (*end == 0 && j >= 0 && j < data.mark_dim()) l = "time:" + data.mark_names[j];
        }
      }
      return v;
    };
    const std::vector<
        std::tuple<std::string, std::vector<std::string>, std::vector<double>, std::vector<double>>>
        groups = {{"static", names(tft->static_variables()), avg_static, one(tft_static)},
                  {"history", names(tft->history_variables()), avg_hist, one(tft_hist)},
                  {"future", names(tft->future_variables()), avg_fut, one(tft_fut)}};
    nlohmann::json sel;
    for (const auto& [name, labels, avg, this_one] : groups) {
      if (labels.empty() || avg.size() != labels.size()) continue;
      selection_pngs.push_back(
          {name,
           save(bar_figure(fmt::format("TFT {} variable selection weights", name), labels,
                           {{"test average", avg, 0x3b6ea5}, {"this forecast", this_one, 0xd9822b}},
                           "weight (sums to 1)"),
                "selection_" + name)});
      sel[name] = {{"variables", labels}, {"test_average", avg}, {"this_forecast", this_one}};
    }
    io::write_file_atomic(path("selection_weights.json"), sel.dump(1) + "\n");
    res.files.push_back(path("selection_weights.json"));
  }

  // ---- report.html
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
  if (!o.source.empty()) item("checkpoint", o.source);
  item("data", data.source + fmt::format(" (features {}, {} variables, freq {})", cfg.data.features,
                                         C, data.freq));
  item("window", fmt::format("test window {} of {} — forecast origin {} (last input row), "
                             "seq_len {}, pred_len {}",
                             w, test.size(), when, L, P));
  item("head statistics",
       fmt::format("averaged over {} test batches of {}", res.batches, cfg.train.batch_size));
  h += "</dl>\n<h2>Forecast</h2>\n" + img(fc_png) + "\n";
  h += "<h2>What mattered for this forecast</h2>\n<p class=\"note\">" + html_escape(rollout_note) +
       "</p>\n";
  if (!rollout_png.empty()) h += img(rollout_png) + "\n";
  if (!rollout_vars_png.empty()) h += img(rollout_vars_png) + "\n";
  if (!selection_pngs.empty()) {
    h += "<h2>TFT variable selection</h2>\n<p class=\"note\">Softmax weights over the variables of "
         "each selection network (each sums to one), averaged over the test batches and for this "
         "forecast (mean over its time steps).</p>\n<div class=\"grid\">";
    for (const auto& [name, png] : selection_pngs) h += img(png);
    h += "</div>\n";
  }
  h += "<h2>Heads: near or far</h2>\n<p class=\"note\">Distance unit: " + html_escape(dist_unit) +
       ". Colours: blue encoder self-attention, green decoder self-attention, orange "
       "cross-attention.</p>\n<div class=\"grid\">";
  if (!dist_png.empty()) h += img(dist_png);
  h += img(ent_png) +
       "</div>\n<table><tr><th>layer</th><th>module</th><th>head</th>"
       "<th>distance</th><th>entropy (nats)</th><th>ln Lk</th></tr>\n";
  for (const auto& r : table) {
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
  res.report = path("report.html");
  io::write_file_atomic(res.report, h);
  res.files.push_back(res.report);
  log(fmt::format("explain: {} files written to {}", res.files.size(), o.out));
  return res;
}

ExplainResult explain_checkpoint(const std::string& dir, const train::ValidConfig& valid,
                                 const ExplainOptions& options, Context& ctx) {
  const std::string weights = (fs::path(dir) / "weights.safetensors").string();
  ATTEND_CHECK(fs::exists(weights), "{}: missing (no trained checkpoint in '{}')", weights, dir);
  const std::vector<std::string> free = {"DLinear", "LSTM", "TCN"};
  ATTEND_CHECK(std::find(free.begin(), free.end(), valid->model.model) == free.end(), "{}",
               no_attention_message(valid->model.model));
  const data::ForecastData data = data::load_forecast_data(valid->data, valid->model);
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
