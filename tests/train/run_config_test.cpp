// The option table and what comes from it: kinds, defaults, config.json round trips, the one
// validation and the resolution against the data.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "attend/base/error.h"
#include "attend/train/run_config.h"
#include "support/error_of.h"

namespace attend::train {
namespace {

using attend::testing::error_of;

TEST(OptionTable, RowsAreConsistent) {
  std::set<std::string> names;
  int runpy = 0;
  RunConfig c;
  for (const Option& o : run_options()) {
    EXPECT_TRUE(names.insert(o.name).second) << "duplicate " << o.name;
    runpy += o.runpy;
    const bool ignored = o.group == OptionGroup::Ignored;
    EXPECT_EQ(ignored, o.member == nullptr) << o.name;
    EXPECT_EQ(ignored, std::string(o.help).empty()) << o.name;
    if (ignored) {
      EXPECT_FALSE(o.check) << o.name;
      continue;
    }
    // The member's type is the one the kind parses to.
    const OptionRef ref = o.member(c);
    switch (o.kind) {
      case FlagKind::Str:
        EXPECT_TRUE(std::holds_alternative<std::string*>(ref)) << o.name;
        break;
      case FlagKind::Int:
        EXPECT_TRUE(std::holds_alternative<int64_t*>(ref)) << o.name;
        break;
      case FlagKind::Float:
        EXPECT_TRUE(std::holds_alternative<double*>(ref)) << o.name;
        break;
      case FlagKind::StoreTrue:
      case FlagKind::StoreFalse:
        EXPECT_TRUE(std::holds_alternative<bool*>(ref)) << o.name;
        break;
      case FlagKind::StrList:
        EXPECT_TRUE(std::holds_alternative<std::vector<std::string>*>(ref)) << o.name;
        break;
      case FlagKind::FloatList:
        EXPECT_TRUE(std::holds_alternative<std::vector<double>*>(ref)) << o.name;
        break;
      case FlagKind::IntList:
        ADD_FAILURE() << o.name << ": no member holds an int list";
    }
    // The group is the part of RunConfig the member lies in.
    const auto* at = std::visit([](auto* p) { return reinterpret_cast<const char*>(p); }, ref);
    auto inside = [&](const auto& part) {
      const auto* b = reinterpret_cast<const char*>(&part);
      return at >= b && at < b + sizeof(part);
    };
    const bool in_group = (o.group == OptionGroup::Run && inside(c.run)) ||
                          (o.group == OptionGroup::Data && inside(c.data)) ||
                          (o.group == OptionGroup::Model && inside(c.model)) ||
                          (o.group == OptionGroup::Training && inside(c.train));
    EXPECT_TRUE(in_group) << o.name;
  }
  EXPECT_EQ(runpy, 95);
  EXPECT_EQ(find_option("seq_len")->name, std::string("seq_len"));
  EXPECT_EQ(find_option("no_such"), nullptr);
}

TEST(OptionTable, DefaultsAreTheMembers) {
  EXPECT_EQ(option_default_text(*find_option("seq_len")), "96");
  EXPECT_EQ(option_default_text(*find_option("root_path")), "./data/");  // attend's, not run.py's
  EXPECT_EQ(option_default_text(*find_option("model")), "PatchTST");
  EXPECT_EQ(option_default_text(*find_option("enc_in")), "columns of the data");
  EXPECT_EQ(option_default_text(*find_option("use_gpu")), "true");  // ignored: run.py's
  EXPECT_EQ(option_help(*find_option("use_gpu")), "run.py flag, accepted and ignored by attend");
  RunConfig c;
  EXPECT_EQ(option_value(*find_option("learning_rate"), c), 1e-4);
  EXPECT_TRUE(option_value(*find_option("use_gpu"), c).is_null());
}

TEST(OptionTable, ConfigJsonRoundTrip) {
  RunConfig c;
  set_option(c, "model", "TFT", "--model");  // canonical spelling on set
  EXPECT_EQ(c.model.model, "TemporalFusionTransformer");
  set_option(c, "seq_len", 48, "--seq_len");
  set_option(c, "learning_rate", 0.003, "--learning_rate");
  set_option(c, "distil", false, "--distil");
  set_option(c, "loss", "mae", "--loss");
  set_option(c, "static_columns", "HUFL, MULL", "--static_columns");
  set_option(c, "quantiles", nlohmann::json::array({0.1, 0.9}), "--quantiles");
  set_option(c, "root_path", "/tmp/x/", "--root_path");
  set_option(c, "patience", 7, "--patience");
  set_option(c, "des", "Exp", "--des");
  set_option(c, "use_amp", true, "--use_amp");  // ignored: type-checked, dropped
  EXPECT_EQ(c.train.loss, "MAE");
  EXPECT_EQ(c.data.static_columns, (std::vector<std::string>{"HUFL", "MULL"}));
  const nlohmann::json j = run_config_to_json(c);
  EXPECT_EQ(j.at("attend_format"), kFormatVersion);
  EXPECT_FALSE(j.contains("use_amp"));
  const RunConfig back = run_config_from_json(j, "config.json");
  EXPECT_EQ(run_config_to_json(back), j);
  EXPECT_EQ(back.model.seq_len, 48);
  EXPECT_EQ(back.train.patience, 7);
  EXPECT_EQ(back.run.des, "Exp");
}

TEST(OptionTable, WrongTypesNameTheKey) {
  RunConfig c;
  EXPECT_NE(error_of([&] {
              set_option(c, "seq_len", "96", "config.json: 'seq_len'");
            }).find("config.json: 'seq_len': expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] { set_option(c, "use_gpu", "yes", "--use_gpu"); }).find("--use_gpu"),
            std::string::npos);
  EXPECT_NE(error_of([&] { set_option(c, "bogus", 1, "config.json"); }).find("'bogus'"),
            std::string::npos);
}

// A command-line value that is not UTF-8 (`--model_id $'\xff'`) was taken, and writing
// config.json then failed with nlohmann's type_error 316 after training; under a kind that
// rejects it, the message's dump threw the same (fuzz/flags_fuzz.cpp).
TEST(OptionTable, TextValuesMustBeUtf8) {
  RunConfig c;
  for (const char* name : {"model_id", "seq_len", "static_columns", "quantiles", "use_gpu"}) {
    const std::string m = error_of([&] { set_option(c, name, "a\xff", std::string("--") + name); });
    EXPECT_NE(m.find(std::string("--") + name + ": the value is not UTF-8 text"), std::string::npos)
        << m;
  }
  set_option(c, "model_id", "\xe6\x97\xa5", "--model_id");
  EXPECT_EQ(c.run.model_id, "\xe6\x97\xa5");
  EXPECT_NE(run_config_to_json(c).dump().find("\xe6\x97\xa5"), std::string::npos);
}

TEST(ValidConfig, ChecksOnceAndNamesTheFlag) {
  RunConfig c;
  c.model.seq_len = 0;
  EXPECT_EQ(error_of([&] { ValidConfig v(c); }), "--seq_len must be >= 1, got 0");
  c.model.seq_len = 96;
  c.data.features = "X";
  EXPECT_EQ(error_of([&] { ValidConfig v(c); }), "--features 'X' must be M, S or MS");
  c.data.features = "M";
  c.model.label_len = 100;
  EXPECT_EQ(error_of([&] { ValidConfig v(c); }), "--label_len 100 must not exceed --seq_len 96");
  c.model.label_len = 48;
  c.model.d_model = 10;
  c.model.n_heads = 4;
  EXPECT_EQ(error_of([&] { ValidConfig v(c); }), "--d_model 10 is not divisible by --n_heads 4");
  c.model.model = "DLinear";  // no attention: any n_heads
  EXPECT_EQ(error_of([&] { ValidConfig v(c); }), "");
  // Cut-off dates are read in --date_format's order.
  c.data.val_start = "16/01/2020";
  c.data.test_start = "2020-01-23";
  EXPECT_EQ(error_of([&] { ValidConfig v(c); }),
            "--val_start '16/01/2020' is not a date read with --date_format ymd");
  c.data.date_format = "dmy";
  EXPECT_EQ(error_of([&] { ValidConfig v(c); }), "");
  c.data.val_start = c.data.test_start = "";
  c.data.date_format = "ymd";
  c.data.known_columns = {"OT"};
  EXPECT_NE(error_of([&] { ValidConfig v(c); }).find("apply only to --model"), std::string::npos);
  // A hand-built config may use an alias: the valid one carries the registry name.
  c.model.model = "TFT";
  c.model.d_model = 16;
  c.train.loss = "huber";
  const ValidConfig v(c);
  EXPECT_EQ(v->model.model, "TemporalFusionTransformer");
  EXPECT_EQ(v->train.loss, "Huber");
}

TEST(Resolve, AgainstTheDataColumns) {
  RunConfig c;
  c.model.model = "TemporalFusionTransformer";
  c.model.freq = "auto";
  c.data.static_columns = {"b"};
  c.data.known_columns = {"c"};
  const RunConfig r = resolve(c, {"a", "b", "c", "OT"}, "d", "x.csv");
  EXPECT_EQ(r.model.enc_in, 4);
  EXPECT_EQ(r.model.dec_in, 4);
  EXPECT_EQ(r.model.c_out, 4);
  EXPECT_EQ(r.model.freq, "d");
  EXPECT_EQ(r.model.static_columns, (std::vector<int64_t>{1}));
  EXPECT_EQ(r.model.known_columns, (std::vector<int64_t>{2}));
  c.model.freq = "15min";  // given: kept as given
  EXPECT_EQ(resolve(c, {"a", "b", "c"}, "t", "x.csv").model.freq, "15min");
  c.data.known_columns = {"zz"};
  EXPECT_NE(error_of([&] {
              resolve(c, {"a", "b", "c"}, "h", "x.csv");
            }).find("--known_columns: column 'zz' is not among the model's columns (a, b, c)"),
            std::string::npos);
  c.data.known_columns.clear();
  c.model.enc_in = 5;
  EXPECT_NE(error_of([&] {
              resolve(c, {"a", "b", "c"}, "h", "x.csv");
            }).find("--enc_in 5 does not match the 3 column(s)"),
            std::string::npos);
}

}  // namespace
}  // namespace attend::train
