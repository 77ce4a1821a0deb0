// attend compare: every model trained and tested on a few hundred rows of ETTh1, the table and
// its CSV/Markdown files, model-name handling, the latency timer, and the CLI faces.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "attend/models/model.h"
#include "attend/train/compare.h"
#include "support/command.h"
#include "support/paths.h"
#include "support/temp_dir.h"
#include "support/thread_ranks.h"

namespace fs = std::filesystem;
using attend::train::CompareRow;
using attend::train::RunConfig;

namespace {

const std::vector<std::string> kAll = {"PatchTST", "iTransformer", "Transformer", "Informer",
                                       "TFT",      "LSTM",         "TCN",         "DLinear"};

std::string work() {
  static const std::string dir = attend::testing::fresh_temp_dir("compare");
  return dir;
}

std::string etth1() {
  return attend::testing::data_path("ETTh1.csv");
}

// The header and first 500 rows of ETTh1 as a custom dataset (70/20/10 split).
std::string tiny_dir() {
  static std::string dir = [] {
    const std::string d = work() + "/data";
    fs::create_directories(d);
    std::ifstream in(etth1());
    std::ofstream out(d + "/tiny.csv");
    std::string line;
    for (int i = 0; i <= 500 && std::getline(in, line); ++i) out << line << "\n";
    return d;
  }();
  return dir;
}

RunConfig tiny_config() {
  RunConfig c;
  c.data.data = "custom";
  c.data.root_path = tiny_dir();
  c.data.data_path = "tiny.csv";
  c.model.seq_len = 32;
  c.model.label_len = 16;
  c.model.pred_len = 16;
  c.model.d_model = 16;
  c.model.n_heads = 2;
  c.model.e_layers = 1;
  c.model.d_layers = 1;
  c.model.d_ff = 32;
  c.train.train_epochs = 1;
  c.train.batch_size = 32;
  c.train.learning_rate = 1e-3;
  return c;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

using attend::testing::read_text;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// A number cell: the whole text parses and the value is finite.
bool finite_number(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == 0 && std::isfinite(v);
}

const std::vector<std::string> kColumns = {"model",   "params",        "epochs",
                                           "train_s", "epoch_train_s", "mse",
                                           "mae",     "latency_b1_ms", "latency_b32_ms"};

// Parses the CSV text: the header, then one row per model with finite numbers.
void check_csv(const std::string& text, const std::vector<std::string>& models) {
  auto lines = split(text, '\n');
  ASSERT_EQ(lines.size(), models.size() + 1) << text;
  EXPECT_EQ(split(lines[0], ','), kColumns);
  for (size_t i = 0; i < models.size(); ++i) {
    auto cells = split(lines[i + 1], ',');
    ASSERT_EQ(cells.size(), kColumns.size()) << lines[i + 1];
    EXPECT_EQ(cells[0], models[i]);
    for (size_t j = 1; j < cells.size(); ++j)
      EXPECT_TRUE(finite_number(cells[j])) << kColumns[j] << " of " << cells[0] << ": " << cells[j];
  }
}

// Parses the Markdown table: | header |, | --- | rule, one | row | per model, same widths.
void check_markdown(const std::string& text, const std::vector<std::string>& models) {
  auto lines = split(text, '\n');
  ASSERT_EQ(lines.size(), models.size() + 2) << text;
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : lines) {
    ASSERT_GE(l.size(), 2u);
    ASSERT_EQ(l.front(), '|') << l;
    ASSERT_EQ(l.back(), '|') << l;
    std::vector<std::string> cells;
    for (const auto& c : split(l.substr(1, l.size() - 2), '|')) cells.push_back(trim(c));
    ASSERT_EQ(cells.size(), kColumns.size()) << l;
    rows.push_back(cells);
  }
  EXPECT_EQ(rows[0], kColumns);
  for (const auto& c : rows[1]) EXPECT_TRUE(c == "---" || c == "---:") << c;
  for (size_t i = 0; i < models.size(); ++i) {
    EXPECT_EQ(rows[i + 2][0], models[i]);
    for (size_t j = 1; j < kColumns.size(); ++j) EXPECT_TRUE(finite_number(rows[i + 2][j]));
  }
}

std::vector<std::string> canonical_all() {
  return {"PatchTST", "iTransformer", "Transformer", "Informer", "TemporalFusionTransformer",
          "LSTM",     "TCN",          "DLinear"};
}

TEST(Compare, AllModelsOnEtth1RowsGiveFiniteTableAndFiles) {
  attend::Context ctx({.threads = 1, .seed = 2});
  attend::train::CompareOptions opt;
  opt.latency.warmup = 1;
  opt.latency.repeats = 2;
  auto rows = attend::train::compare_models(tiny_config(), kAll, ctx, opt);
  const auto names = canonical_all();
  ASSERT_EQ(rows.size(), names.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const CompareRow& r = rows[i];
    SCOPED_TRACE(r.model);
    EXPECT_EQ(r.model, names[i]);
    EXPECT_GT(r.params, 0);
    EXPECT_EQ(r.epochs, 1);
    EXPECT_TRUE(std::isfinite(r.metrics.mse) && r.metrics.mse > 0);
    EXPECT_TRUE(std::isfinite(r.metrics.mae) && r.metrics.mae > 0);
    EXPECT_GE(r.metrics.mse, r.metrics.mae * r.metrics.mae * 0.999);  // E[e²] >= E[|e|]²
    EXPECT_GT(r.train_s, 0);
    EXPECT_GT(r.epoch_train_s, 0);
    EXPECT_LE(r.epoch_train_s, r.train_s);
    EXPECT_GT(r.latency_b1_ms, 0);
    EXPECT_GT(r.latency_b32_ms, 0);
  }
  // Same seed, data and split: DLinear's row is reproducible on its own.
  auto again = attend::train::compare_models(tiny_config(), {"DLinear"}, ctx, opt);
  EXPECT_DOUBLE_EQ(again[0].metrics.mse, rows.back().metrics.mse);
  EXPECT_EQ(again[0].params, rows.back().params);

  const std::string out = work() + "/out/nested";
  auto paths = attend::train::write_compare(rows, out);
  ASSERT_EQ(paths.size(), 2u);
  check_csv(read_text(out + "/compare.csv"), names);
  check_markdown(read_text(out + "/compare.md"), names);
}

// Doubles equal bit for bit, NaN equal to NaN.
bool same(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

// A model's row trained alone equals its row in a longer list, trained on one rank of several.
void expect_same_result(const CompareRow& a, const CompareRow& b) {
  SCOPED_TRACE(a.model);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.epochs, b.epochs);
  const attend::train::Metrics &x = a.metrics, &y = b.metrics;
  for (const auto& [u, v] : {std::pair{x.mse, y.mse},
                             {x.mae, y.mae},
                             {x.rmse, y.rmse},
                             {x.mape, y.mape},
                             {x.mspe, y.mspe}})
    EXPECT_TRUE(same(u, v)) << u << " vs " << v;
  EXPECT_EQ(x.has_quantiles, y.has_quantiles);
}

// compare_models over N ranks (CompareOptions::comm; threads play the ranks): rank r trains the
// models i with i mod N = r and every rank returns one process's rows, in the list's order, with
// the same metrics bit for bit; with more ranks than models the idle ranks wait for the rows.
TEST(Compare, RanksShareTheModelsAndGetOneProcessRows) {
  const std::vector<std::string> names = {"DLinear", "PatchTST", "Transformer"};
  attend::train::CompareOptions opt;
  opt.latency.warmup = 0;
  opt.latency.repeats = 1;
  attend::Context ctx({.threads = 1, .seed = 2});
  const auto alone = attend::train::compare_models(tiny_config(), names, ctx, opt);
  ASSERT_EQ(alone.size(), names.size());
  for (const int n : {2, 4}) {
    SCOPED_TRACE(n);
    std::vector<std::vector<CompareRow>> got(static_cast<size_t>(n));
    std::vector<std::vector<std::string>> trained(static_cast<size_t>(n));
    attend::testing::ThreadRanks world(n);
    world.run([&](attend::train::Communicator& comm) {
      const auto r = static_cast<size_t>(comm.rank());
      attend::Context c({.threads = 1, .seed = 2});
      attend::train::CompareOptions o = opt;
      o.comm = &comm;
      o.log = [&](const std::string& line) {
        if (line.find(": training") != std::string::npos)
          trained[r].push_back(line.substr(0, line.find(':')));
      };
      got[r] = attend::train::compare_models(tiny_config(), names, c, o);
    });
    for (size_t r = 0; r < got.size(); ++r) {
      std::vector<std::string> share;
      for (size_t i = r; i < names.size(); i += got.size()) share.push_back(names[i]);
      EXPECT_EQ(trained[r], share) << "rank " << r;
      ASSERT_EQ(got[r].size(), names.size());
      for (size_t i = 0; i < names.size(); ++i) {
        expect_same_result(got[r][i], alone[i]);
        // every field came through the exchange: the same bytes on every rank
        EXPECT_EQ(got[r][i].train_s, got[0][i].train_s);
        EXPECT_EQ(got[r][i].epoch_train_s, got[0][i].epoch_train_s);
        EXPECT_EQ(got[r][i].latency_b1_ms, got[0][i].latency_b1_ms);
        EXPECT_EQ(got[r][i].latency_b32_ms, got[0][i].latency_b32_ms);
        EXPECT_GT(got[r][i].train_s, 0);
        EXPECT_GT(got[r][i].latency_b32_ms, 0);
      }
    }
  }
}

// A stop on one rank: that rank's models are missing, the others' rows still reach every rank.
TEST(Compare, StopOnOneRankKeepsTheOtherRanksRows) {
  const std::vector<std::string> names = {"DLinear", "PatchTST", "Transformer"};
  attend::testing::ThreadRanks world(2);
  const std::atomic<bool> stop{true}, go{false};
  std::vector<std::vector<CompareRow>> got(2);
  world.run([&](attend::train::Communicator& comm) {
    attend::Context c({.threads = 1, .seed = 2});
    attend::train::CompareOptions o;
    o.latency.warmup = 0;
    o.latency.repeats = 1;
    o.comm = &comm;
    o.stop = comm.rank() == 1 ? &stop : &go;
    got[static_cast<size_t>(comm.rank())] =
        attend::train::compare_models(tiny_config(), names, c, o);
  });
  for (const auto& rows : got) {
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].model, "DLinear");
    EXPECT_EQ(rows[1].model, "Transformer");
  }
}

TEST(Compare, ParamsEqualModelParameterCount) {
  attend::Context ctx({.threads = 1, .seed = 2});
  RunConfig c = tiny_config();
  c.model.model = "DLinear";
  // DLinear (individual = False): two Linear(seq_len, pred_len) = 2 * (32 * 16 + 16).
  auto r = attend::train::bench_model(c, {{1}, 0, 1}, ctx);
  EXPECT_EQ(r.params, 2 * (32 * 16 + 16));
  ASSERT_EQ(r.latency.size(), 1u);
  EXPECT_EQ(r.latency[0].batch, 1);
  EXPECT_GT(r.latency[0].median_ms, 0);
}

TEST(Compare, ModelNames) {
  EXPECT_EQ(attend::models::canonical_model_name("TFT"), "TemporalFusionTransformer");
  EXPECT_EQ(attend::models::canonical_model_name("LSTM"), "LSTM");
  EXPECT_EQ(attend::train::parse_model_list("PatchTST, TFT,DLinear"),
            (std::vector<std::string>{"PatchTST", "TemporalFusionTransformer", "DLinear"}));
  EXPECT_EQ(attend::train::parse_model_list(
                "PatchTST,iTransformer,Transformer,Informer,TFT,LSTM,TCN,DLinear"),
            canonical_all());
}

TEST(Compare, UnknownModelIsRefusedByName) {
  try {
    attend::train::parse_model_list("PatchTST,NoSuchNet");
    FAIL() << "no error";
  } catch (const attend::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'NoSuchNet'"), std::string::npos) << e.what();
  }
  attend::Context ctx({.threads = 1});
  try {
    attend::train::compare_models(tiny_config(), {"DLinear", "Autoformer"}, ctx);
    FAIL() << "no error";
  } catch (const attend::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'Autoformer'"), std::string::npos) << e.what();
  }
}

TEST(Compare, BadModelListsAreErrors) {
  EXPECT_THROW(attend::train::parse_model_list("PatchTST,,DLinear"), attend::Error);
  EXPECT_THROW(attend::train::parse_model_list(""), attend::Error);
  EXPECT_THROW(attend::train::parse_model_list("TFT,TemporalFusionTransformer"), attend::Error);
  attend::Context ctx({.threads = 1});
  EXPECT_THROW(attend::train::compare_models(tiny_config(), {}, ctx), attend::Error);
}

TEST(Compare, LatencyRejectsBadOptions) {
  attend::Context ctx({.threads = 1});
  RunConfig c = tiny_config();
  c.model.model = "DLinear";
  EXPECT_THROW(attend::train::bench_model(c, {{1}, 0, 0}, ctx), attend::Error);
  EXPECT_THROW(attend::train::bench_model(c, {{0}, 0, 1}, ctx), attend::Error);
}

// ---- the CLI (binary in $ATTEND_BIN)

struct Result {
  int rc = -1;
  std::string out, err;
};

Result run_cli(const std::string& args) {
  const char* b = std::getenv("ATTEND_BIN");
  const std::string bin = b ? b : std::string(ATTEND_SOURCE_DIR) + "/build/attend";
  const std::string o = work() + "/cli_out.txt", e = work() + "/cli_err.txt";
  const std::string cmd = "OMP_WAIT_POLICY=passive " + bin + " " + args + " >" + o + " 2>" + e;
  const int status = std::system(cmd.c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(o);
  r.err = read_text(e);
  return r;
}

const std::string kTinyFlags =
    " --data custom --data_path tiny.csv --seq_len 32 --label_len 16 --pred_len 16 --d_model 16"
    " --n_heads 2 --e_layers 1 --d_ff 32 --train_epochs 1 --threads 1 --repeats 2 --warmup 0";

TEST(CompareCli, WritesTableAndFiles) {
  const std::string out = work() + "/cli_runs";
  auto r = run_cli("compare --models DLinear,TFT --root_path " + tiny_dir() + kTinyFlags +
                   " --out " + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::vector<std::string> names = {"DLinear", "TemporalFusionTransformer"};
  check_markdown(r.out, names);
  check_csv(read_text(out + "/compare.csv"), names);
  check_markdown(read_text(out + "/compare.md"), names);
}

TEST(CompareCli, UnknownModelIsUsageError) {
  auto r = run_cli("compare --models PatchTST,Foonet --root_path " + tiny_dir() + kTinyFlags +
                   " --out " + work() + "/never");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("'Foonet'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(work() + "/never"));
}

TEST(CompareCli, BenchModelPrintsJsonPerBatch) {
  auto r = run_cli(
      "bench model --model DLinear --seq_len 32 --label_len 16 --pred_len 16 --batch 1,4 --repeats "
      "2 --warmup 0 "
      "--threads 1 --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto lines = split(r.out, '\n');
  ASSERT_EQ(lines.size(), 2u) << r.out;
  for (size_t i = 0; i < 2; ++i) {
    auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j.at("model"), "DLinear");
    EXPECT_EQ(j.at("batch"), i == 0 ? 1 : 4);
    EXPECT_EQ(j.at("params"), 2 * (32 * 16 + 16));
    EXPECT_GT(j.at("median_ms").get<double>(), 0);
    // one forecast's work: two Linear(32 -> 16) over B·7 rows, 2·rows·32·16 FLOPs each
    const double rows = (i == 0 ? 1 : 4) * 7;
    EXPECT_NEAR(j.at("gflop").get<double>(), 2 * 2 * rows * 32 * 16 / 1e9, 1e-12);
  }
  auto bad = run_cli("bench model --model Nonesuch --batch 1");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("'Nonesuch'"), std::string::npos) << bad.err;
  auto invalid = run_cli("bench model --model DLinear --seq_len 32 --batch 1");
  EXPECT_EQ(invalid.rc, 2);
  EXPECT_NE(invalid.err.find("--label_len"), std::string::npos) << invalid.err;
}

}  // namespace
