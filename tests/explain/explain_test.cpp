// explain: head statistics, rollout, NPY, Cairo outputs, the pipeline on tiny models, CLI errors.
#include <gtest/gtest.h>

#include <cairo.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "attend/autograd/node.h"
#include "attend/data/csv.h"
#include "attend/explain/explain.h"
#include "attend/explain/npy.h"
#include "attend/explain/plot.h"
#include "attend/explain/stats.h"
#include "attend/models/tft.h"
#include "attend/nn/attention.h"
#include "attend/ops/shape.h"
#include "attend/train/checkpoint.h"
#include "attend/train/trainer.h"
#include "support/command.h"
#include "support/paths.h"
#include "support/temp_dir.h"
#include "support/tiny_data.h"

namespace fs = std::filesystem;
using namespace attend;
using namespace attend::explain;
using attend::train::RunConfig;

namespace {

std::string temp_dir(const std::string& name) {
  return attend::testing::fresh_temp_dir("explain_" + name);
}

std::shared_ptr<const data::ForecastData> tiny_data(const RunConfig& cfg) {
  return attend::testing::tiny_data(cfg, 500);
}

RunConfig tiny_config(const std::string& model) {
  RunConfig c;
  c.model.model = model;
  c.data.data = "custom";
  c.model.seq_len = 48;
  c.model.label_len = 24;
  c.model.pred_len = 16;
  c.model.d_model = 16;
  c.model.n_heads = 2;
  c.model.e_layers = 2;
  c.model.d_ff = 32;
  c.train.batch_size = 16;
  c.train.seed = 3;
  c.model.enc_in = c.model.dec_in = c.model.c_out = 7;
  return c;
}

std::shared_ptr<models::ForecastModel> build(const RunConfig& c, const data::ForecastData& d,
                                             Context& ctx) {
  return models::make_model(train::resolve(c, d.columns, d.freq, d.source).model, ctx);
}

int sh(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool have_numpy() {
  return sh("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

using attend::testing::read_text;

// Every PNG decodes and every SVG parses as XML.
void check_images(const std::vector<std::string>& files) {
  std::string svgs;
  int n_png = 0, n_svg = 0;
  for (const auto& f : files) {
    if (f.ends_with(".png")) {
      cairo_surface_t* s = cairo_image_surface_create_from_png(f.c_str());
      EXPECT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS) << f;
      EXPECT_GT(cairo_image_surface_get_width(s), 100) << f;
      EXPECT_GT(cairo_image_surface_get_height(s), 100) << f;
      cairo_surface_destroy(s);
      ++n_png;
    } else if (f.ends_with(".svg")) {
      svgs += " '" + f + "'";
      ++n_svg;
    }
  }
  EXPECT_EQ(n_png, n_svg);
  ASSERT_GT(n_svg, 0);
  EXPECT_EQ(sh("/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; "
               "[E.parse(f) for f in sys.argv[1:]]'" +
               svgs),
            0);
}

}  // namespace

// ---- numbers --------------------------------------------------------------------------------

TEST(HeadStats, IdentityAndUniform) {
  // head 0: identity (each query sees only itself); head 1: uniform over 4 keys
  std::vector<float> w(2 * 4 * 4, 0.0f);
  for (int i = 0; i < 4; ++i) w[i * 4 + i] = 1.0f;
  for (int i = 0; i < 16; ++i) w[16 + i] = 0.25f;
  Tensor t = Tensor::from_vector(w, {1, 2, 4, 4});
  HeadStatsAccumulator acc(2, {0, 1, 2, 3}, {0, 1, 2, 3});
  acc.add(t);
  acc.add(t);  // averaging over batches keeps the values
  EXPECT_DOUBLE_EQ(acc.distance(0), 0.0);
  EXPECT_DOUBLE_EQ(acc.entropy(0), 0.0);
  // mean_i mean_j |i − j| for n = 4: rows 1.5, 1, 1, 1.5 -> 1.25
  EXPECT_NEAR(acc.distance(1), 1.25, 1e-12);
  EXPECT_NEAR(acc.entropy(1), std::log(4.0), 1e-6);
  EXPECT_EQ(acc.rows(), 8);
  // patches: positions p · stride -> distance in steps = patch distance × stride
  HeadStatsAccumulator patches(2, {0, 8, 16, 24}, {0, 8, 16, 24});
  patches.add(t);
  EXPECT_NEAR(patches.distance(1), 1.25 * 8, 1e-12);
  // no positions: entropy only
  HeadStatsAccumulator vars(2, {}, {});
  vars.add(t);
  EXPECT_TRUE(std::isnan(vars.distance(1)));
  EXPECT_NEAR(vars.entropy(1), std::log(4.0), 1e-6);
  EXPECT_THROW(acc.add(Tensor::zeros({1, 3, 4, 4})), Error);
  EXPECT_THROW(acc.add(Tensor::zeros({1, 2, 4, 5})), Error);
}

TEST(HeadStats, RowSumsAndHeadAverage) {
  Tensor t = Tensor::from_vector(std::vector<float>{0.5f, 0.5f, 1.0f, 0.0f, 0.0f, 1.0f, 0.2f, 0.8f},
                                 {1, 2, 2, 2});
  EXPECT_LT(max_row_sum_error(t), 1e-7);
  Matrix m = head_average(t, 0);
  EXPECT_DOUBLE_EQ(m.at(0, 0), 0.25);
  EXPECT_NEAR(m.at(1, 1), 0.4, 1e-7);
  Tensor bad = Tensor::from_vector(std::vector<float>{0.5f, 0.6f}, {1, 1, 1, 2});
  EXPECT_NEAR(max_row_sum_error(bad), 0.1, 1e-6);
}

TEST(Rollout, TwoLayersByHand) {
  // A1 = [[.5, .5], [0, 1]] -> rownorm(A1 + I) = [[.75, .25], [0, 1]]
  // A2 = [[0, 1], [1, 0]]   -> rownorm(A2 + I) = [[.5, .5], [.5, .5]]
  // R = Â2 · Â1 = [[.375, .625], [.375, .625]]
  Matrix a1(2, 2), a2(2, 2);
  a1.v = {0.5, 0.5, 0.0, 1.0};
  a2.v = {0.0, 1.0, 1.0, 0.0};
  Matrix r = attention_rollout({a1, a2});
  ASSERT_EQ(r.rows, 2);
  ASSERT_EQ(r.cols, 2);
  EXPECT_NEAR(r.at(0, 0), 0.375, 1e-12);
  EXPECT_NEAR(r.at(0, 1), 0.625, 1e-12);
  EXPECT_NEAR(r.at(1, 0), 0.375, 1e-12);
  EXPECT_NEAR(r.at(1, 1), 0.625, 1e-12);
  // one layer: just Â1
  Matrix r1 = attention_rollout({a1});
  EXPECT_NEAR(r1.at(0, 0), 0.75, 1e-12);
  // different sizes (distilling) go through the coverage map
  Matrix c = coverage_map(2, 4);
  EXPECT_EQ(c.v, (std::vector<double>{0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5}));
  Matrix big(4, 4, 0.25), small(2, 2, 0.5);
  Matrix rr = attention_rollout({big, small});
  EXPECT_EQ(rr.rows, 2);
  EXPECT_EQ(rr.cols, 4);
  for (int64_t i = 0; i < 2; ++i) {
    double s = 0;
    for (int64_t j = 0; j < 4; ++j) s += rr.at(i, j);
    EXPECT_NEAR(s, 1.0, 1e-12);
  }
  EXPECT_THROW(attention_rollout({Matrix(2, 3)}), Error);
  EXPECT_THROW(attention_rollout({}), Error);
}

TEST(Npy, HeaderAndNumpyLoad) {
  const std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 1e-3f};
  const std::string b = npy_bytes({2, 3}, v.data());
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t hlen = static_cast<uint8_t>(b[8]) | (static_cast<uint8_t>(b[9]) << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  EXPECT_EQ(b.size(), 10 + hlen + v.size() * 4);
  EXPECT_NE(b.find("'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
            std::string::npos);
  EXPECT_EQ(b[10 + hlen - 1], '\n');
  EXPECT_NE(npy_bytes({5}, v.data()).find("'shape': (5,)"), std::string::npos);
  if (!have_numpy()) GTEST_SKIP() << "numpy is not installed";
  const std::string dir = temp_dir("npy");
  write_npy(dir + "/a.npy", {2, 3}, v.data());
  EXPECT_EQ(sh("/usr/bin/python3 -c \"import numpy as n; a = n.load('" + dir +
               "/a.npy'); assert a.shape == (2, 3) and a.dtype == n.float32, a.shape; "
               "assert (a == n.array([[1.5, -2, 3.25], [0, 7, 1e-3]], n.float32)).all()\""),
            0);
}

TEST(Plot, PngDecodesWithSizeAndSvgParses) {
  const std::string dir = temp_dir("plot");
  Matrix m(3, 5);
  for (int64_t i = 0; i < 15; ++i) m.v[i] = i / 15.0;
  Figure f = heatmap_figure("test map", m, {"a", "b", "c"}, {}, "keys", "queries");
  auto files = save_figure(f, dir + "/map");
  ASSERT_EQ(files.size(), 2u);
  cairo_surface_t* s = cairo_image_surface_create_from_png(files[0].c_str());
  ASSERT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
  EXPECT_EQ(cairo_image_surface_get_width(s), static_cast<int>(std::ceil(f.width)));
  EXPECT_EQ(cairo_image_surface_get_height(s), static_cast<int>(std::ceil(f.height)));
  cairo_surface_destroy(s);
  Matrix big(60, 70, 0.5);  // drawn as one image
  auto more = save_figure(heatmap_figure("big", big, {}, {}, "k", "q"), dir + "/big");
  auto bars = save_figure(bar_figure("bars", {"x", "y"}, {{"s", {1.0, NAN}, 0x123456}}, "v"),
                          dir + "/bars");
  files.insert(files.end(), more.begin(), more.end());
  files.insert(files.end(), bars.begin(), bars.end());
  check_images(files);
  EXPECT_THROW(bar_figure("bad", {"x"}, {{"s", {1.0, 2.0}, 0}}, "v"), Error);
  EXPECT_EQ(file_base64(dir + "/map.png").substr(0, 8), "iVBORw0K");  // PNG magic
}

// ---- models ---------------------------------------------------------------------------------

TEST(Capture, WeightsSumToOnePerQuery) {
  Context ctx(ContextOptions{1, 0});
  for (const std::string name : {"Transformer", "Informer", "PatchTST", "iTransformer"}) {
    RunConfig c = tiny_config(name);
    auto d = tiny_data(c);
    auto m = build(c, *d, ctx);
    m->eval();
    nn::AttentionCapture cap;
    nn::set_attention_capture(*m, &cap);
    data::BatchLoader loader(d->test, data::LoaderOptions{4, false, 0});
    data::Batch b = loader.batch(0, ctx);
    NoGradGuard g;
    Tensor x_dec =
        concat({slice(b.y, 1, 0, c.model.label_len), Tensor::zeros({4, c.model.pred_len, 7})}, 1);
    m->forecast(b.x_enc, b.x_mark_enc, x_dec, b.y_mark);
    ASSERT_FALSE(cap.records().empty()) << name;
    for (const auto& r : cap.records()) {
      EXPECT_EQ(r.weights.ndim(), 4) << name << " " << r.layer;
      EXPECT_LT(max_row_sum_error(r.weights), 1e-5) << name << " " << r.layer;
    }
  }
}

TEST(Tft, SelectionWeightsSumToOne) {
  Context ctx(ContextOptions{1, 0});
  RunConfig c = tiny_config("TemporalFusionTransformer");
  c.data.static_columns = {"HUFL"};
  auto d = tiny_data(c);
  auto m = build(c, *d, ctx);
  auto* tft = dynamic_cast<models::TemporalFusionTransformer*>(m.get());
  ASSERT_NE(tft, nullptr);
  m->eval();
  data::BatchLoader loader(d->test, data::LoaderOptions{3, false, 0});
  data::Batch b = loader.batch(0, ctx);
  NoGradGuard g;
  m->forecast(b.x_enc, b.x_mark_enc, Tensor(), b.y_mark);
  for (const Tensor* t : {&tft->static_selection_weights(), &tft->history_selection_weights(),
                          &tft->future_selection_weights(), &tft->attention_weights()}) {
    ASSERT_TRUE(t->defined());
    EXPECT_LT(max_row_sum_error(*t), 1e-5) << t->shape().str();
  }
  Tensor avg = models::TemporalFusionTransformer::average_selection_weights(
      tft->history_selection_weights());
  double s = 0;
  for (float x : avg.contiguous_data().to_vector<float>()) s += x;
  EXPECT_NEAR(s, 1.0, 1e-5);
}

// ---- the pipeline ---------------------------------------------------------------------------

TEST(Explain, PatchTSTOutputsAreValid) {
  Context ctx(ContextOptions{1, 0});
  RunConfig c = tiny_config("PatchTST");
  c.model.e_layers = 1;
  auto d = tiny_data(c);
  auto m = build(c, *d, ctx);
  ExplainOptions o;
  o.out = temp_dir("patchtst");
  o.index = 3;
  o.max_batches = 2;
  ExplainResult r = explain_model(*m, *d, c, o, ctx);
  EXPECT_EQ(r.window, 3);
  EXPECT_EQ(r.batches, 2);
  EXPECT_EQ(r.origin, d->test.timestamps[3 + c.model.seq_len - 1]);
  for (const char* f :
       {"report.html", "forecast.png", "rollout.svg", "head_distance.png", "head_entropy.svg",
        "head_stats.csv", "head_stats.md", "weights/encoder-self_L0.npy",
        "weights/encoder-self_L0.json", "heatmaps/encoder-self_L0_var-OT_h1.png",
        "heatmaps/encoder-self_L0_var-HUFL_mean.svg"})
    EXPECT_TRUE(fs::exists(o.out + "/" + f)) << f;
  check_images(r.files);
  // patches: (C, H, n, n) with n = (48 − 16) / 8 + 2 = 6; labels are step ranges
  const std::string md = read_text(o.out + "/head_stats.md");
  EXPECT_NE(md.find("patch distance × stride 8"), std::string::npos);
  const std::string js = read_text(o.out + "/weights/encoder-self_L0.json");
  EXPECT_NE(js.find("t-48…t-33"), std::string::npos);
  const std::string html = read_text(r.report);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_EQ(html.find("src=\"heatmaps/"), std::string::npos);  // self-contained
  if (!have_numpy()) GTEST_SKIP() << "numpy is not installed";
  EXPECT_EQ(sh("/usr/bin/python3 -c \"import numpy as n, json; d = '" + o.out +
               "/weights/'; a = n.load(d + 'encoder-self_L0.npy'); "
               "j = json.load(open(d + 'encoder-self_L0.json')); "
               "assert a.shape == (7, 2, 6, 6), a.shape; assert list(a.shape) == j['shape']; "
               "assert n.allclose(a.ravel(), n.array(j['weights'], n.float32)); "
               "assert n.allclose(a.sum(-1), 1, atol=1e-5)\""),
            0);
}

TEST(Explain, TimeStepAndVariableModels) {
  Context ctx(ContextOptions{1, 0});
  for (const std::string name : {"Transformer", "Informer", "iTransformer"}) {
    RunConfig c = tiny_config(name);
    c.model.e_layers = name == "Informer" ? 2 : 1;
    auto d = tiny_data(c);
    auto m = build(c, *d, ctx);
    ExplainOptions o;
    o.out = temp_dir(name);
    o.max_batches = 1;
    ExplainResult r = explain_model(*m, *d, c, o, ctx);
    EXPECT_EQ(r.window, 0);
    check_images(r.files);
    if (name == "iTransformer") {
      EXPECT_TRUE(fs::exists(o.out + "/rollout_variables.png"));
      EXPECT_FALSE(fs::exists(o.out + "/head_distance.png"));  // variables: no time distance
      EXPECT_NE(read_text(o.out + "/weights/encoder-self_L0.json").find("\"OT\""),
                std::string::npos);
    } else {
      EXPECT_TRUE(fs::exists(o.out + "/heatmaps/cross_L0_h1.png")) << name;
      EXPECT_TRUE(fs::exists(o.out + "/heatmaps/decoder-self_L0_mean.svg")) << name;
      EXPECT_TRUE(fs::exists(o.out + "/rollout.png")) << name;
      const std::string csv = read_text(o.out + "/head_stats.csv");
      EXPECT_NE(csv.find(",encoder-self_L0,"), std::string::npos) << csv;
      EXPECT_NE(csv.find(",cross_L0,"), std::string::npos);
    }
  }
}

TEST(Explain, TftSelectionAndQuantileBands) {
  Context ctx(ContextOptions{1, 0});
  RunConfig c = tiny_config("TemporalFusionTransformer");
  c.data.static_columns = {"HUFL"};
  c.model.quantiles = {0.1, 0.5, 0.9};
  auto d = tiny_data(c);
  auto m = build(c, *d, ctx);
  ExplainOptions o;
  o.out = temp_dir("tft");
  o.max_batches = 1;
  ExplainResult r = explain_model(*m, *d, c, o, ctx);
  check_images(r.files);
  for (const char* f : {"selection_static.png", "selection_history.svg", "selection_future.png",
                        "selection_weights.json", "heatmaps/decoder-self_L0_mean.png"})
    EXPECT_TRUE(fs::exists(o.out + "/" + f)) << f;
  auto sel = nlohmann::json::parse(read_text(o.out + "/selection_weights.json"));
  for (const char* g : {"static", "history", "future"}) {
    double a = 0, b = 0;
    for (double x : sel[g]["test_average"].get<std::vector<double>>()) a += x;
    for (double x : sel[g]["this_forecast"].get<std::vector<double>>()) b += x;
    EXPECT_NEAR(a, 1.0, 1e-5) << g;
    EXPECT_NEAR(b, 1.0, 1e-5) << g;
  }
  EXPECT_NE(read_text(r.report).find("TFT variable selection"), std::string::npos);
}

TEST(Explain, NoAttentionModelSaysSo) {
  Context ctx(ContextOptions{1, 0});
  for (const std::string name : {"DLinear", "LSTM", "TCN"}) {
    RunConfig c = tiny_config(name);
    auto d = tiny_data(c);
    auto m = build(c, *d, ctx);
    ExplainOptions o;
    o.out = temp_dir("none") + "/out";
    try {
      explain_model(*m, *d, c, o, ctx);
      ADD_FAILURE() << name << " did not throw";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name + " has no attention"), std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(fs::exists(o.out)) << "nothing is written";
  }
}

TEST(Explain, BadIndexAndDate) {
  RunConfig c = tiny_config("PatchTST");
  auto d = tiny_data(c);
  const int64_t n = d->test.size();
  ExplainOptions o;
  EXPECT_EQ(select_window(d->test, o), 0);
  o.index = n - 1;
  EXPECT_EQ(select_window(d->test, o), n - 1);
  auto message = [&](const ExplainOptions& opt) {
    try {
      select_window(d->test, opt);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  o.index = n;
  EXPECT_NE(message(o).find(fmt::format("--index {} is out of range", n)), std::string::npos)
      << message(o);
  o.index = -2;
  EXPECT_NE(message(o).find("--index -2"), std::string::npos);
  o.index.reset();
  const int64_t origin = d->test.timestamps[5 + c.model.seq_len - 1];
  o.date = data::format_timestamp(origin);
  EXPECT_EQ(select_window(d->test, o), 5);
  o.date = "1999-01-01 00:00:00";
  EXPECT_NE(message(o).find("--date '1999-01-01 00:00:00' is not a forecast origin"),
            std::string::npos)
      << message(o);
  o.date = "yesterday";
  EXPECT_NE(message(o).find("--date 'yesterday' is not a timestamp"), std::string::npos);
  o.date = data::format_timestamp(origin);
  o.index = 1;
  EXPECT_NE(message(o).find("not both"), std::string::npos);
}

// ---- the CLI --------------------------------------------------------------------------------

TEST(ExplainCli, ErrorsAndReport) {
  const char* bin = std::getenv("ATTEND_BIN");
  if (!bin) GTEST_SKIP() << "ATTEND_BIN is not set (run through ctest)";
  const std::string root = temp_dir("cli");
  // a small CSV and two 1-epoch checkpoints
  {
    std::ifstream in(attend::testing::data_path("ETTh1.csv"));
    std::ofstream out(root + "/small.csv");
    std::string line;
    for (int i = 0; i <= 400 && std::getline(in, line); ++i) out << line << "\n";
  }
  auto checkpoint = [&](const std::string& model) {
    RunConfig c = tiny_config(model);
    c.data.root_path = root;
    c.data.data_path = "small.csv";
    c.train.train_epochs = 1;
    c.model.enc_in = c.model.dec_in = c.model.c_out = 0;
    Context ctx(ContextOptions{1, 0});
    train::Trainer t(c, ctx);
    t.train();
    const std::string dir = root + "/ck_" + model;
    train::write_folder_atomic(dir, [&](const std::string& tmp) { t.write_checkpoint(tmp); });
    return dir;
  };
  const std::string dl = checkpoint("DLinear"), pt = checkpoint("PatchTST");
  const std::string err = root + "/err.txt";
  auto run = [&](const std::string& args) {
    return sh(std::string(bin) + " explain " + args + " --threads 1 >" + root + "/out.txt 2>" +
              err);
  };
  EXPECT_EQ(run("--checkpoint " + dl + " --out " + root + "/x"), 1);
  EXPECT_NE(read_text(err).find("DLinear has no attention"), std::string::npos) << read_text(err);
  EXPECT_EQ(run("--checkpoint " + pt + " --out " + root + "/y --index 100000"), 1);
  EXPECT_NE(read_text(err).find("--index 100000 is out of range"), std::string::npos)
      << read_text(err);
  EXPECT_EQ(run("--checkpoint " + pt + " --out " + root + "/y --date '2001-01-01 00:00'"), 1);
  EXPECT_NE(read_text(err).find("is not a forecast origin"), std::string::npos) << read_text(err);
  ASSERT_EQ(run("--checkpoint " + pt + " --out " + root + "/y --index 2 --max_batches 1"), 0)
      << read_text(err);
  EXPECT_NE(read_text(root + "/out.txt").find("report: " + root + "/y/report.html"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(root + "/y/report.html"));
}
